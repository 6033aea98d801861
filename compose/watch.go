package compose

import (
	"fmt"
	"path"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/types"
)

// watchRulesOf converts a service's develop.watch entries, refusing what
// berth watch could not act on: an unknown action, a sync without a
// target, a sync+exec without a command, a rebuild of a service with no
// build section.
func watchRulesOf(spec *types.Project, sc types.ServiceConfig) ([]WatchRule, error) {
	if sc.Develop == nil {
		return nil, nil
	}
	var out []WatchRule
	for i, t := range sc.Develop.Watch {
		key := fmt.Sprintf("develop.watch[%d]", i)
		r := WatchRule{
			Path:        t.Path,
			Action:      WatchAction(t.Action),
			Target:      t.Target,
			Include:     append([]string(nil), t.Include...),
			Ignore:      append([]string(nil), t.Ignore...),
			InitialSync: t.InitialSync,
		}
		if r.Path == "" {
			return nil, fmt.Errorf("%s: path is required: give the host file or directory to watch", key)
		}
		if !filepath.IsAbs(r.Path) {
			r.Path = filepath.Join(spec.WorkingDir, r.Path)
		}
		r.Path = filepath.Clean(r.Path)
		switch r.Action {
		case WatchSync, WatchSyncRestart, WatchSyncExec:
			if r.Target == "" {
				return nil, fmt.Errorf("%s: action %s needs a target: the path in the container the files are copied to", key, r.Action)
			}
			if !path.IsAbs(r.Target) {
				return nil, fmt.Errorf("%s: target %q must be an absolute path in the container", key, r.Target)
			}
			r.Target = path.Clean(r.Target)
		case WatchRestart:
		case WatchRebuild:
			if sc.Build == nil {
				return nil, fmt.Errorf("%s: action rebuild needs a build section: add build: to the service or use restart", key)
			}
		default:
			return nil, fmt.Errorf("%s: unknown action %q: use sync, sync+restart, sync+exec, restart or rebuild", key, t.Action)
		}
		if r.Action == WatchSyncExec {
			hooks, err := hooksOf(key+".exec", []types.ServiceHook{t.Exec})
			if err != nil {
				return nil, err
			}
			r.Exec = &hooks[0]
		} else if len(t.Exec.Command) > 0 {
			return nil, fmt.Errorf("%s: exec is only run by action sync+exec, not %s", key, r.Action)
		}
		if r.InitialSync && !r.Action.Syncs() {
			return nil, fmt.Errorf("%s: initial_sync needs a sync action, not %s", key, r.Action)
		}
		out = append(out, r)
	}
	return out, nil
}
