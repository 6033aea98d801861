package containerd

import (
	"context"
	"fmt"
)

// Info says which containerd berth uses and where its files are.
type Info struct {
	Address     string `json:"address"`
	Managed     bool   `json:"managed"`
	Version     string `json:"version"`
	Revision    string `json:"revision"`
	Namespace   string `json:"namespace"`
	Snapshotter string `json:"snapshotter"`
	DataDir     string `json:"data_dir"`
	RunDir      string `json:"run_dir"`
	// DaemonRoot and DaemonLog are set for the managed daemon only.
	DaemonRoot string `json:"daemon_root,omitempty"`
	DaemonLog  string `json:"daemon_log,omitempty"`
}

// Info asks the daemon for its version and reports berth's settings.
func (c *Client) Info(ctx context.Context) (Info, error) {
	v, err := c.client.Version(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("containerd at %s: version: %w", c.address, err)
	}
	info := Info{
		Address: c.address, Managed: c.managed, Version: v.Version, Revision: v.Revision,
		Namespace: c.namespace, Snapshotter: c.snapshotter, DataDir: c.dataDir, RunDir: c.runDir,
	}
	if c.managed {
		d := daemon{dataDir: c.dataDir, runDir: c.runDir}
		info.DaemonRoot, info.DaemonLog = d.root(), d.logFile()
	}
	return info, nil
}
