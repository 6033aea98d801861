package build

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRunSpecOpts: a RUN step is confined as the builder is told (the
// seccomp profile), keeps containerd's default capability set, and joins
// the network its mode says: the build's namespace with the build's
// /etc files, the host's, or an empty one of its own.
func TestRunSpecOpts(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "test")
	for _, tc := range []struct {
		mode NetworkMode
		// netns is the network namespace entry's path; "host" means none.
		netns   string
		mounted []string
	}{
		{NetworkDefault, "/run/netns/berth-build-x", []string{"/etc/hosts", "/etc/resolv.conf"}},
		{NetworkHost, "host", []string{"/etc/hosts", "/etc/resolv.conf"}},
		{NetworkNone, "", nil},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			rs := runSpec{argv: []string{"true"}, cwd: "/", network: tc.mode, netns: "/run/netns/berth-build-x", etcDir: "/run/berth/build-etc/x"}
			spec, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "berth-build-x"}, runSpecOpts(rs, []oci.SpecOpts{seccomp.WithDefaultProfile()})...)
			if err != nil {
				t.Fatal(err)
			}
			if spec.Linux.Seccomp == nil || spec.Linux.Seccomp.DefaultAction != specs.ActErrno {
				t.Errorf("no seccomp profile: %+v", spec.Linux.Seccomp)
			}
			caps := spec.Process.Capabilities.Bounding
			if !slices.Contains(caps, "CAP_NET_RAW") || slices.Contains(caps, "CAP_NET_ADMIN") || slices.Contains(caps, "CAP_SYS_ADMIN") {
				t.Errorf("capabilities %v, want Docker's default set", caps)
			}
			var netns *specs.LinuxNamespace
			for i, ns := range spec.Linux.Namespaces {
				if ns.Type == specs.NetworkNamespace {
					netns = &spec.Linux.Namespaces[i]
				}
			}
			switch {
			case tc.netns == "host" && netns != nil:
				t.Errorf("network namespace %+v, want the host's", *netns)
			case tc.netns != "host" && (netns == nil || netns.Path != tc.netns):
				t.Errorf("network namespace %+v, want path %q", netns, tc.netns)
			}
			var mounted []string
			for _, m := range spec.Mounts {
				if m.Destination == "/run" {
					t.Errorf("a mount on /run (%+v): what the image and earlier steps put there must stay visible", m)
				}
				if m.Destination == "/etc/hosts" || m.Destination == "/etc/resolv.conf" {
					mounted = append(mounted, m.Destination)
					if tc.mode == NetworkDefault && m.Source != "/run/berth/build-etc/x"+m.Destination[len("/etc"):] {
						t.Errorf("%s from %s, want the build's own", m.Destination, m.Source)
					}
				}
			}
			if !slices.Equal(mounted, tc.mounted) {
				t.Errorf("/etc mounts %v, want %v", mounted, tc.mounted)
			}
		})
	}
}

func TestRunSpecMemory(t *testing.T) {
	ctx := namespaces.WithNamespace(context.Background(), "test")
	for _, tc := range []struct {
		memory int64
		want   *int64
	}{{0, nil}, {64 << 20, ptr(int64(64 << 20))}} {
		rs := runSpec{argv: []string{"true"}, cwd: "/", network: NetworkNone, memory: tc.memory}
		spec, err := oci.GenerateSpec(ctx, nil, &containers.Container{ID: "berth-build-x"}, runSpecOpts(rs, nil)...)
		if err != nil {
			t.Fatal(err)
		}
		var got *int64
		if r := spec.Linux.Resources; r != nil && r.Memory != nil {
			got = r.Memory.Limit
		}
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("memory %d: limit %v, want %v", tc.memory, got, tc.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestRunLinesTwoWriters: a RUN step's stdout and stderr are copied into
// one runLines by two goroutines; every line comes out whole, once, with
// the prefix, and the last lines are kept.
func TestRunLinesTwoWriters(t *testing.T) {
	var sink bytes.Buffer
	r := &runLines{o: newOutput(&sink, "svc")}
	const perWriter = 500
	stdout, stderr := r.streams()
	var wg sync.WaitGroup
	for name, w := range map[string]io.Writer{"out": stdout, "err": stderr} {
		wg.Go(func() {
			for i := range perWriter {
				// Lines arrive in pieces, as pipes deliver them.
				line := fmt.Sprintf("%s line %d\n", name, i)
				w.Write([]byte(line[:3])) //nolint:errcheck // never fails
				w.Write([]byte(line[3:])) //nolint:errcheck // never fails
			}
		})
	}
	wg.Wait()
	r.flush()
	lines := strings.Split(strings.TrimSuffix(sink.String(), "\n"), "\n")
	if len(lines) != 2*perWriter {
		t.Fatalf("%d lines, want %d", len(lines), 2*perWriter)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l] = true
	}
	for _, name := range []string{"out", "err"} {
		for i := range perWriter {
			if want := fmt.Sprintf("svc | %s line %d", name, i); !seen[want] {
				t.Fatalf("line %q missing or mangled", want)
			}
		}
	}
	if got := len(r.lastLines()); got != 10 {
		t.Errorf("%d last lines kept, want 10", got)
	}
}
