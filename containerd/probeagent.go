package containerd

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ReservedDir is the directory of a container's root filesystem under
// which berth mounts what it adds to a container (ProbeAgentPath,
// ProbeRunPath). The runtime makes the mount points there in the
// container's snapshot; they are berth's, not the container's: commit
// and export leave the directory and all under it out, as Docker once
// kept its init's mount point out of commits with a layer of its own.
const ReservedDir = "/.berth"

// ProbeAgentPath is where a container with a healthcheck finds berth's
// probe agent (probeagent/agent.c), bound read-only from beside berth's
// executable. The container's process launches it (see ProbeRunPath), or
// berth starts it once per container through exec, so that it has
// exactly an exec's confinement, and has it fork each probe: a fork costs
// a fraction of the runc exec through the shim each probe otherwise is.
const ProbeAgentPath = ReservedDir + "/probe"

// ProbeAgentName is the agent's executable's name beside berth's.
const ProbeAgentName = "berth-probe"

// probeAgentExecID is the exec ID of a container's agent. It is fixed, so
// that the agent a killed project process left running is found (and
// replaced) by the next; it begins with probeIDPrefix, so that its FIFOs
// are removed as a probe's are.
const probeAgentExecID = probeIDPrefix + "agent"

// FindProbeAgent is the probe agent beside the executable exe, or "" when
// there is none, or it is not a static executable (it runs in images
// without a C library): healthchecks then run as an exec each, as before.
func FindProbeAgent(exe string) string {
	path := filepath.Join(filepath.Dir(exe), ProbeAgentName)
	if checkProbeAgent(path) != nil {
		return ""
	}
	return path
}

// checkProbeAgent refuses what cannot be the agent: no regular
// executable, or one that needs a dynamic loader.
func checkProbeAgent(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("probe agent: %w", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("probe agent %s: not an executable file", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("probe agent %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("probe agent %s: dynamically linked; build it with -static (make build does)", path)
		}
	}
	return nil
}

// The agent's protocol (see probeagent/agent.c): frames of a big-endian
// u32 length and a payload; a request is the timeout in milliseconds
// (u32) and the arguments, each ended by a NUL; a reply is its kind (u8),
// a code (u32) and the output.
const (
	// agentMaxRequest is the agent's limit on a request's payload.
	agentMaxRequest = 1 << 20
	// agentMaxReply bounds a reply's payload: kind, code and the output
	// the agent keeps (probeOutputLimit).
	agentMaxReply = 5 + probeOutputLimit
	// agentHello is the output of the agent's first reply.
	agentHello = "berth-probe/1"
)

// agentReplyKind is what became of a request.
type agentReplyKind uint8

const (
	// agentExited: Code is the exit status (128+signal when a signal
	// ended it).
	agentExited agentReplyKind = iota
	// agentTimedOut: the probe outlived its timeout; its process group
	// was killed.
	agentTimedOut
	// agentNoStart: it could not be executed; Code is the errno.
	agentNoStart
	// agentBadRequest: the agent could not read the request, and exits.
	agentBadRequest
	// agentHelloKind is the agent's greeting.
	agentHelloKind
)

// agentReply is one reply of the agent.
type agentReply struct {
	Kind   agentReplyKind
	Code   uint32
	Output []byte
}

// encodeAgentRequest is the frame asking the agent to run args, killing
// them after timeout.
func encodeAgentRequest(args []string, timeout time.Duration) ([]byte, error) {
	if len(args) == 0 || args[0] == "" {
		return nil, errors.New("no command to run")
	}
	size := 4
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("argument %q holds a NUL byte", a)
		}
		size += len(a) + 1
	}
	if size > agentMaxRequest {
		return nil, fmt.Errorf("the command's %d bytes are more than the probe agent takes (%d)", size, agentMaxRequest)
	}
	ms := timeout.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms > math.MaxUint32 {
		ms = math.MaxUint32
	}
	b := make([]byte, 0, 4+size)
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	b = binary.BigEndian.AppendUint32(b, uint32(ms))
	for _, a := range args {
		b = append(append(b, a...), 0)
	}
	return b, nil
}

// readAgentReply reads one reply frame.
func readAgentReply(r io.Reader) (agentReply, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return agentReply{}, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n < 5 || n > agentMaxReply {
		return agentReply{}, fmt.Errorf("probe agent: a reply of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return agentReply{}, noEOF(err)
	}
	kind := agentReplyKind(b[0])
	if kind > agentHelloKind {
		return agentReply{}, fmt.Errorf("probe agent: a reply of unknown kind %d", kind)
	}
	return agentReply{Kind: kind, Code: binary.BigEndian.Uint32(b[1:5]), Output: b[5:]}, nil
}

// noEOF turns an end half-way through a frame into an unexpected one.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// errAgentGone is a probe's error when the agent's output ended before it
// replied: it died (killed, out of memory) or its container stopped. The
// probe is run as an exec instead.
var errAgentGone = errors.New("probe agent gone")

// errAgentHung is a probe's error when the agent did not reply within the
// probe's timeout and agentGrace: it is killed, and the probe failed as
// timed out.
var errAgentHung = errors.New("probe agent did not reply")

// agentGrace is how much longer than a probe's timeout the agent may take
// to reply (it kills the probe at the timeout itself).
const agentGrace = 5 * time.Second

// agentHelloWait bounds the wait for a new agent's greeting.
const agentHelloWait = 10 * time.Second

// agentConn speaks the protocol with one agent over its standard input
// (w) and output, one request at a time.
type agentConn struct {
	w io.Writer
	// replies has the agent's replies; it is closed when its output ends
	// or breaks.
	replies chan agentReply
	// done is closed when the agent's output ended or broke.
	done chan struct{}

	mu sync.Mutex // serializes requests
}

// newAgentConn starts reading the agent's replies from r.
func newAgentConn(w io.Writer, r io.Reader) *agentConn {
	a := &agentConn{w: w, replies: make(chan agentReply, 1), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		defer close(a.replies)
		for {
			rep, err := readAgentReply(r)
			if err != nil {
				return
			}
			a.replies <- rep
		}
	}()
	return a
}

// awaitHello waits for the agent's greeting, which shows it runs and
// speaks this protocol.
func (a *agentConn) awaitHello(ctx context.Context, wait time.Duration) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case rep, ok := <-a.replies:
		switch {
		case !ok:
			return errAgentGone
		case rep.Kind != agentHelloKind || string(rep.Output) != agentHello:
			return fmt.Errorf("probe agent: greeted with kind %d %q, want %q", rep.Kind, rep.Output, agentHello)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("probe agent: no greeting within %s", wait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run has the agent run args for at most timeout, and waits for its reply
// for timeout and grace at most. errAgentGone says the agent's output
// ended first, errAgentHung that the wait ended; after either, or ctx's
// end, the connection is out of step and must not be used again.
func (a *agentConn) run(ctx context.Context, args []string, timeout, grace time.Duration) (agentReply, error) {
	req, err := encodeAgentRequest(args, timeout)
	if err != nil {
		return agentReply{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// The write goes through containerd's copy into a FIFO: should that
	// stall, the timer below still ends the wait.
	written := make(chan error, 1)
	go func() {
		_, err := a.w.Write(req)
		written <- err
	}()
	t := time.NewTimer(timeout + grace)
	defer t.Stop()
	for {
		select {
		case err := <-written:
			if err != nil {
				return agentReply{}, fmt.Errorf("%w: %v", errAgentGone, err)
			}
			written = nil
		case rep, ok := <-a.replies:
			if !ok {
				return agentReply{}, errAgentGone
			}
			if rep.Kind == agentHelloKind {
				return agentReply{}, fmt.Errorf("probe agent: greeted again")
			}
			return rep, nil
		case <-t.C:
			return agentReply{}, errAgentHung
		case <-ctx.Done():
			return agentReply{}, ctx.Err()
		}
	}
}

// agentNoStartReason says, as runc would, why a probe could not be
// executed.
func agentNoStartReason(args []string, errno uint32) string {
	name := args[0]
	e := syscall.Errno(errno)
	if e == syscall.ENOENT && !strings.Contains(name, "/") {
		return fmt.Sprintf("exec: %q: executable file not found in $PATH", name)
	}
	return fmt.Sprintf("exec: %q: %v", name, e)
}
