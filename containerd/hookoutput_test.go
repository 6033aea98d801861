package containerd

import (
	"strings"
	"sync"
	"testing"
)

// TestHookOutputConcurrentWrites: a hook's stdout and stderr are copied
// into one hookOutput from two goroutines; every line arrives whole (run
// with -race: a plain shared bytes.Buffer races, and garbled the output).
func TestHookOutputConcurrentWrites(t *testing.T) {
	var out hookOutput
	var wg sync.WaitGroup
	for _, line := range []string{"stdout line\n", "stderr line\n"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				out.Write([]byte(line)) //nolint:errcheck // never fails
			}
		}()
	}
	wg.Wait()
	got := out.String()
	if n, m := strings.Count(got, "stdout line\n"), strings.Count(got, "stderr line\n"); n != 200 || m != 200 || len(got) != 400*len("stdout line\n") {
		t.Errorf("got %d stdout and %d stderr lines in %d bytes, want 200 each", n, m, len(got))
	}
}
