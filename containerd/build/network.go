package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Network gives RUN steps a network of their own: a namespace on a bridge
// only the build uses, with NAT to the outside and a resolver it can
// reach, so that a step neither sees the host's loopback nor the
// containers of projects. netbridge implements it; cmd/berth wires it.
type Network interface {
	// CreateBuildNetwork makes the network of build id and returns the
	// path of its namespace and the nameservers its resolv.conf names.
	// On failure nothing of it is left.
	CreateBuildNetwork(ctx context.Context, id string) (netns string, nameservers []string, err error)
	// RemoveBuildNetwork removes the network of build id; parts already
	// gone are not an error.
	RemoveBuildNetwork(ctx context.Context, id string) error
	// BuildNetworks lists the ids of the build networks that exist,
	// including those of berth processes that were killed.
	BuildNetworks(ctx context.Context) ([]string, error)
}

// NetworkMode is where RUN steps' network comes from.
type NetworkMode string

const (
	// NetworkDefault is a namespace of the build's own with NAT egress.
	NetworkDefault NetworkMode = "default"
	// NetworkHost is the host's namespace, only when asked for
	// explicitly (RUN --network=host, build --network host).
	NetworkHost NetworkMode = "host"
	// NetworkNone is a namespace with nothing but loopback.
	NetworkNone NetworkMode = "none"
)

// ParseNetworkMode reads a build's or a RUN step's network ("" is the default).
func ParseNetworkMode(s string) (NetworkMode, error) {
	switch s {
	case "", string(NetworkDefault):
		return NetworkDefault, nil
	case string(NetworkHost), string(NetworkNone):
		return NetworkMode(s), nil
	}
	return "", fmt.Errorf("build network %q is not supported: berth runs RUN steps in a network of the build's own (default), on the host's network (host) or with none", s)
}

// EtcWriter writes the hosts, hostname and resolv.conf files of RUN steps
// into dir, resolv.conf naming nameservers.
type EtcWriter func(dir string, nameservers []string) error

// sandbox is a build's network for its RUN steps of the default mode,
// made when the first such step runs (a build that runs none makes
// nothing) and shared by the build's stages, which thus reach each other
// on their loopback, as they did on the host's.
type sandbox struct {
	mu sync.Mutex // guards following
	// made is set once the network exists; err, when making it failed.
	made   bool
	err    error
	netns  string
	etcDir string
}

// network returns the build's namespace and the directory of its /etc
// files, making them on first use.
func (bd *build) network(ctx context.Context) (netns, etcDir string, retErr error) {
	sb := &bd.sandbox
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.made || sb.err != nil {
		return sb.netns, sb.etcDir, sb.err
	}
	defer func() { sb.err = retErr }()
	cfg := bd.b.cfg
	if cfg.Network == nil || cfg.WriteEtc == nil {
		return "", "", errors.New("RUN: berth's builder has no build network configured; use RUN --network=host or --network=none")
	}
	id := bd.owner.String()
	ns, nameservers, err := cfg.Network.CreateBuildNetwork(ctx, id)
	if err != nil {
		return "", "", fmt.Errorf("RUN: build network: %w", err)
	}
	sb.made, sb.netns = true, ns // release removes it from here on
	dir := filepath.Join(cfg.EtcDir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("RUN: build network: %w", err)
	}
	sb.etcDir = dir
	if err := cfg.WriteEtc(dir, nameservers); err != nil {
		return "", "", fmt.Errorf("RUN: build network: /etc files: %w", err)
	}
	return ns, dir, nil
}

// release removes the build's network and /etc files, if it made them.
func (bd *build) releaseNetwork(ctx context.Context) error {
	sb := &bd.sandbox
	sb.mu.Lock()
	defer sb.mu.Unlock()
	var errs []error
	if sb.made {
		errs = append(errs, bd.b.cfg.Network.RemoveBuildNetwork(ctx, bd.owner.String()))
		sb.made = false
	}
	if sb.etcDir != "" {
		errs = append(errs, os.RemoveAll(sb.etcDir))
		sb.etcDir = ""
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("build: remove build network: %w", err)
	}
	return nil
}
