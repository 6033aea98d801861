package containerd

import (
	"github.com/berth/berth/scheduler"
	containerd "github.com/containerd/containerd/v2/client"
)

// Client is berth's connection to a containerd daemon, scoped to one
// containerd namespace. It implements scheduler.Runtime.
type Client struct {
	client    *containerd.Client
	namespace string
	// address is the socket the client is connected to.
	address string
	// managed is true when berth started the daemon itself.
	managed bool
	// dataDir is berth's data directory (logs, volumes): /var/lib/berth by default.
	dataDir string
	// runDir is berth's runtime directory: /run/berth by default.
	runDir string
	// insecure lists registries reached over plain HTTP besides loopback ones.
	insecure []string
	events   scheduler.Events
}

// var _ scheduler.Runtime = (*Client)(nil) // enabled once the methods exist
