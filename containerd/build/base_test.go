package build

import (
	"errors"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestBasesReadOnce(t *testing.T) {
	var bs bases
	var mu sync.Mutex
	reads := map[string]int{}
	read := func(key string) func() (ocispec.Manifest, []byte, error) {
		return func() (ocispec.Manifest, []byte, error) {
			mu.Lock()
			reads[key]++
			mu.Unlock()
			return ocispec.Manifest{Config: ocispec.Descriptor{Size: int64(len(key))}}, []byte(key), nil
		}
	}
	// Builds side by side FROM the same image read it once.
	var wg sync.WaitGroup
	for range 8 {
		for _, key := range []string{"sha256:a linux/amd64", "sha256:a linux/arm64"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, raw, err := bs.get(key, read(key))
				if err != nil || string(raw) != key || m.Config.Size != int64(len(key)) {
					t.Errorf("get(%q) = %v, %q, %v; want its own record", key, m, raw, err)
				}
			}()
		}
	}
	wg.Wait()
	for key, n := range reads {
		if n != 1 {
			t.Errorf("%q read %d times, want once", key, n)
		}
	}
}

func TestBasesRetryFailure(t *testing.T) {
	var bs bases
	boom := errors.New("content missing")
	n := 0
	fail := func() (ocispec.Manifest, []byte, error) { n++; return ocispec.Manifest{}, nil, boom }
	if _, _, err := bs.get("k", fail); !errors.Is(err, boom) {
		t.Fatalf("get = %v, want %v", err, boom)
	}
	// A failure is not kept: the image may be pulled or loaded since.
	ok := func() (ocispec.Manifest, []byte, error) { n++; return ocispec.Manifest{}, []byte("cfg"), nil }
	if _, raw, err := bs.get("k", ok); err != nil || string(raw) != "cfg" || n != 2 {
		t.Fatalf("get after a failure = %q, %v (%d reads); want the new read", raw, err, n)
	}
}
