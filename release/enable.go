package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WantsLink is the link systemctl enable makes for the unit, relative to
// the root, and its target.
const (
	WantsLink   = "etc/systemd/system/multi-user.target.wants/" + UnitName
	wantsTarget = "/" + UnitPath
)

// EnableOffline enables the unit in root as systemctl enable would, by
// making its multi-user.target.wants link: for a root systemd does not run
// (another machine's disk, or a machine without systemd). It reports
// whether it made the link; a link already there is left.
func EnableOffline(root string) (bool, error) {
	link := filepath.Join(root, filepath.FromSlash(WantsLink))
	if t, err := os.Readlink(link); err == nil && t == wantsTarget {
		return false, nil
	} else if err == nil || !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("enable %s: %s is there and is not berth's link; remove it", UnitName, link)
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return false, fmt.Errorf("enable %s: %w", UnitName, err)
	}
	if err := os.Symlink(wantsTarget, link); err != nil {
		return false, fmt.Errorf("enable %s: %w", UnitName, err)
	}
	return true, nil
}
