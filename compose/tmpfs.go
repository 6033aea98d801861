package compose

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
)

// tmpfsFlags are the flag options a tmpfs mount takes, as Docker's --tmpfs
// accepts them (moby/sys/mount's ParseTmpfsOptions).
var tmpfsFlags = map[string]bool{
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true,
	"dev": true, "nodev": true, "sync": true, "async": true, "dirsync": true,
	"atime": true, "noatime": true, "diratime": true, "nodiratime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nostrictatime": true,
	"mand": true, "nomand": true,
}

// TmpfsOptions are a tmpfs's options, checked.
type TmpfsOptions struct {
	// Size is in bytes; 0 is the kernel's default (half the memory).
	Size int64
	// Rest are the other options (mode=, uid=, gid=, nr_inodes=, size=N%,
	// noexec, ...), comma-separated, in the order given.
	Rest string
	// ReadOnly is set by ro (and cleared by rw).
	ReadOnly bool
}

// ParseTmpfs reads a tmpfs entry in the short syntax, `PATH[:OPTIONS]`,
// as Docker's --tmpfs and compose's tmpfs: take it: OPTIONS are
// comma-separated mount options (size=64m, mode=1770, uid=, gid=, noexec,
// ...). The path must be absolute.
func ParseTmpfs(spec string) (Mount, error) {
	target, opts, _ := strings.Cut(spec, ":")
	if !path.IsAbs(target) {
		return Mount{}, fmt.Errorf("tmpfs %q: the mount path %q must be absolute, as in /run:size=64m", spec, target)
	}
	if path.Clean(target) == "/" {
		return Mount{}, fmt.Errorf("tmpfs %q: a tmpfs cannot be mounted on /", spec)
	}
	o, err := ParseTmpfsOptions(opts)
	if err != nil {
		return Mount{}, fmt.Errorf("tmpfs %q: %w", spec, err)
	}
	return Mount{Type: MountTmpfs, Target: path.Clean(target), TmpfsSize: o.Size, TmpfsOptions: o.Rest, ReadOnly: o.ReadOnly}, nil
}

// ParseTmpfsOptions checks comma-separated tmpfs mount options as the
// kernel and Docker would take them, so that a typo fails when the file
// is loaded rather than when a container starts (or, worse, is ignored).
func ParseTmpfsOptions(opts string) (TmpfsOptions, error) {
	var out TmpfsOptions
	var rest []string
	for _, o := range strings.Split(opts, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		key, val, hasVal := strings.Cut(o, "=")
		if !hasVal {
			if !tmpfsFlags[key] {
				return out, fmt.Errorf("unknown tmpfs option %q: use size=, mode=, uid=, gid=, nr_inodes= or a mount flag such as noexec", o)
			}
			switch key {
			case "ro":
				out.ReadOnly = true
				continue
			case "rw":
				out.ReadOnly = false
				continue
			}
			rest = append(rest, key)
			continue
		}
		switch key {
		case "size":
			if pct, ok := strings.CutSuffix(val, "%"); ok {
				if n, err := strconv.ParseUint(pct, 10, 32); err != nil || n == 0 {
					return out, fmt.Errorf("tmpfs size %q: give a size such as 64m, 1g or 10%%", val)
				}
				rest = append(rest, o)
				continue
			}
			n, err := parseMemSize(val)
			if err != nil || n == 0 {
				return out, fmt.Errorf("tmpfs size %q: give a size such as 64m, 1g or 10%%", val)
			}
			out.Size = n
		case "mode":
			n, err := strconv.ParseUint(val, 8, 32)
			if err != nil || n > 0o7777 {
				return out, fmt.Errorf("tmpfs mode %q: give octal permissions such as 1777 or 0700", val)
			}
			rest = append(rest, "mode="+strconv.FormatUint(n, 8))
		case "uid", "gid":
			if _, err := strconv.ParseUint(val, 10, 32); err != nil {
				return out, fmt.Errorf("tmpfs %s %q: give a number", key, val)
			}
			rest = append(rest, o)
		case "nr_inodes", "nr_blocks":
			if _, err := parseMemSize(val); err != nil {
				return out, fmt.Errorf("tmpfs %s %q: give a number (k, m, g suffixes allowed)", key, val)
			}
			rest = append(rest, o)
		default:
			return out, fmt.Errorf("unknown tmpfs option %q: use size=, mode=, uid=, gid=, nr_inodes= or a mount flag such as noexec", o)
		}
	}
	out.Rest = strings.Join(rest, ",")
	return out, nil
}

// parseMemSize reads a number with an optional k, m, g, t, p or e suffix
// (any case, powers of 1024), as the kernel's memparse does for tmpfs.
func parseMemSize(s string) (int64, error) {
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		case 'p', 'P':
			mult = 1 << 50
		case 'e', 'E':
			mult = 1 << 60
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
