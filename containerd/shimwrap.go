package containerd

import (
	"fmt"
	"os"
	"path/filepath"
)

// ShimWrapperName is the name of berth's wrapper of containerd's runc shim
// (shimwrap/shim.c), which berth looks for beside its own executable.
const ShimWrapperName = "berth-shim"

// Why berth's containers run under a wrapper of containerd's runc shim.
//
// containerd 2.4 runs its runtime's `delete` action in a task's bundle
// after every delete of a task, not only after a shim died: the delete
// closes its connection to the shim, and the connection's close handler
// runs the action and waits for it. containerd's shim then starts a Go
// process that runs `runc delete --force` on a container runc has already
// deleted: about 50 ms of CPU per container, on the critical path of a
// down. berth-shim, given as the containers' runtime by its absolute path,
// does that action alone when nothing is left to clean (no runc state,
// rootfs unmounted, default runc options) and otherwise, and for every
// other action, runs containerd's shim in its place with the same
// arguments. Containers keep the runtime they were made with: those made
// before, or by a berth without the wrapper, go on with containerd's shim.

// FindShimWrapper returns berth-shim beside the executable exe, or "" when
// there is none.
func FindShimWrapper(exe string) string {
	path := filepath.Join(filepath.Dir(exe), ShimWrapperName)
	if checkShimWrapper(path) != nil {
		return ""
	}
	return path
}

// WithShimWrapper sets the runtime new containers are given: berth-shim
// at path (default: FindShimWrapper beside this executable); "none" gives
// them containerd's runc shim by name.
func WithShimWrapper(path string) Opt { return func(o *connectOptions) { o.shimWrapper = path } }

// resolveShimWrapper applies WithShimWrapper's default to the option's
// value, for the executable exe: the wrapper's path, or "" for none.
func resolveShimWrapper(opt, exe string) (string, error) {
	switch opt {
	case "":
		return FindShimWrapper(exe), nil
	case "none":
		return "", nil
	}
	if !filepath.IsAbs(opt) {
		return "", fmt.Errorf("shim wrapper %q: want an absolute path, or none", opt)
	}
	if err := checkShimWrapper(opt); err != nil {
		return "", err
	}
	return opt, nil
}

// runtime is the runtime new containers are given: the shim wrapper's
// path when there is one, else containerd's runc shim by name.
func (c *Client) runtime() string {
	if c.shimWrapper != "" {
		return c.shimWrapper
	}
	return runtimeName
}

// checkShimWrapper refuses what cannot be the wrapper: no regular
// executable file.
func checkShimWrapper(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("shim wrapper: %w", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("shim wrapper %s: not an executable file", path)
	}
	return nil
}
