package stats

import (
	"fmt"
	"time"

	"github.com/docker/go-units"
)

// Sample is one reading of a container's counters.
type Sample struct {
	ID, Name string
	// At is when it was read.
	At time.Time
	// CPU is the CPU time the container's processes used so far.
	CPU time.Duration
	// Mem is the memory it uses, less the inactive page cache (which the
	// kernel takes back first), as docker stats counts it.
	Mem uint64
	// MemLimit is its cgroup's memory limit; 0, or more than the host
	// has, means none.
	MemLimit uint64
	// NetRx and NetTx are the bytes received and sent on its network
	// namespace's interfaces (loopback left out).
	NetRx, NetTx uint64
	// BlockRead and BlockWrite are the bytes it read from and wrote to
	// block devices.
	BlockRead, BlockWrite uint64
	// Pids is how many processes (and threads) it has.
	Pids uint64
	// Stopped says the container does not run: nothing was read.
	Stopped bool
}

// Row is a container's line of berth stats, with the fields and
// formatting of docker stats (and its JSON names).
type Row struct {
	Container string `json:"Container"`
	ID        string `json:"ID"`
	Name      string `json:"Name"`
	CPUPerc   string `json:"CPUPerc"`
	MemUsage  string `json:"MemUsage"`
	MemPerc   string `json:"MemPerc"`
	NetIO     string `json:"NetIO"`
	BlockIO   string `json:"BlockIO"`
	PIDs      string `json:"PIDs"`
}

// CPUPercent is the CPU the container used between two samples, in
// percent of one CPU (two busy CPUs make 200%), as docker stats shows it:
// the CPU time used over the wall time passed.
func CPUPercent(prev, cur Sample) float64 {
	wall, used := cur.At.Sub(prev.At), cur.CPU-prev.CPU
	if wall <= 0 || used < 0 { // a restarted container's counters start again
		return 0
	}
	return float64(used) / float64(wall) * 100
}

// MemLimit is the limit a sample's memory is shown against: its cgroup's,
// or the host's memory when it has none (or a larger one).
func MemLimit(s Sample, hostMem uint64) uint64 {
	if s.MemLimit == 0 || (hostMem > 0 && s.MemLimit > hostMem) {
		return hostMem
	}
	return s.MemLimit
}

// MakeRow formats a sample; its CPU use is computed from the container's
// previous sample (nil: none yet, shown as 0%). hostMem is the host's
// memory, shown as the limit of a container that has none.
func MakeRow(prev *Sample, cur Sample, hostMem uint64) Row {
	cpu := 0.0
	if prev != nil {
		cpu = CPUPercent(*prev, cur)
	}
	limit := MemLimit(cur, hostMem)
	if cur.Stopped {
		limit = 0 // docker stats shows 0B / 0B
	}
	mem := 0.0
	if limit > 0 {
		mem = float64(cur.Mem) / float64(limit) * 100
	}
	return Row{
		Container: cur.Name,
		ID:        cur.ID,
		Name:      cur.Name,
		CPUPerc:   fmt.Sprintf("%.2f%%", cpu),
		MemUsage:  units.BytesSize(float64(cur.Mem)) + " / " + units.BytesSize(float64(limit)),
		MemPerc:   fmt.Sprintf("%.2f%%", mem),
		NetIO:     decimal(cur.NetRx) + " / " + decimal(cur.NetTx),
		BlockIO:   decimal(cur.BlockRead) + " / " + decimal(cur.BlockWrite),
		PIDs:      fmt.Sprintf("%d", cur.Pids),
	}
}

// decimal is a byte count as docker stats shows traffic: "1.5kB".
func decimal(n uint64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
