package main

import (
	"bytes"
	"testing"

	"github.com/berth/berth/hostproc"
	"github.com/berth/berth/stats"
)

func TestPrintTop(t *testing.T) {
	var b bytes.Buffer
	procs := []hostproc.Process{
		{UID: "root", PID: 4242, PPID: 4200, STime: "09:18", TTY: "?", Time: "00:00:00", CMD: "sleep 600"},
		{UID: "65534", PID: 4300, PPID: 4242, C: 12, STime: "09:19", TTY: "pts/0", Time: "00:01:02", CMD: "sh -c top"},
	}
	if err := printTop(&b, "p-app-1", procs); err != nil {
		t.Fatal(err)
	}
	want := `p-app-1
UID     PID    PPID   C    STIME   TTY     TIME       CMD
root    4242   4200   0    09:18   ?       00:00:00   sleep 600
65534   4300   4242   12   09:19   pts/0   00:01:02   sh -c top

`
	if b.String() != want {
		t.Errorf("printTop wrote\n%s\nwant\n%s", b.String(), want)
	}
}

func TestPrintStats(t *testing.T) {
	rows := []stats.Row{{Container: "p-app-1", ID: "p-app-1", Name: "p-app-1", CPUPerc: "0.50%", MemUsage: "1MiB / 64MiB",
		MemPerc: "1.56%", NetIO: "1kB / 0B", BlockIO: "0B / 0B", PIDs: "2"}}
	table := `NAME      CPU %   MEM USAGE / LIMIT   MEM %   NET I/O    BLOCK I/O   PIDS
p-app-1   0.50%   1MiB / 64MiB        1.56%   1kB / 0B   0B / 0B     2
`
	tests := []struct {
		format string
		layout statsLayout
		want   string
	}{
		{"table", statsOnce, table},
		{"table", statsAppend, table + "\n"},
		{"table", statsRedraw, "\033[2J\033[H" + table},
		{"json", statsAppend, `{"Container":"p-app-1","ID":"p-app-1","Name":"p-app-1","CPUPerc":"0.50%","MemUsage":"1MiB / 64MiB","MemPerc":"1.56%","NetIO":"1kB / 0B","BlockIO":"0B / 0B","PIDs":"2"}` + "\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := printStats(&b, rows, tt.format, tt.layout); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("printStats(%s, %d) wrote\n%q\nwant\n%q", tt.format, tt.layout, b.String(), tt.want)
		}
	}
}
