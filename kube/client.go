package kube

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager is the server-side apply field manager of everything berth
// applies: the fields berth owns are those it set, and a re-apply of the
// same manifests changes nothing.
const FieldManager = "berth"

// dialTimeout bounds the first request to the cluster, so that an
// unreachable API server fails fast with its URL instead of hanging.
const dialTimeout = 10 * time.Second

// pollInterval is how often the waits (up --wait, down, wait) look at the
// cluster again.
const pollInterval = time.Second

// Client acts on one cluster for berth's project commands: it applies the
// manifests of a project, lists and follows its pods, deletes what up made.
// Everything it touches carries the project's labels (LabelSelector).
//
// It reads and writes objects through the dynamic client, converting what
// it reads to their k8s.io/api types; pod logs, the server's version and
// discovery go through a plain REST client (see coreREST for why not
// client-go's typed clients).
type Client struct {
	// Server is the API server's URL, for messages.
	Server string
	dyn    dynamic.Interface
	// core is the REST client of the core group (/api/v1): pod logs,
	// the server's version, discovery (mapper asks through it).
	core   rest.Interface
	mapper resourceMapper
	// ticker makes the waits' tickers; tests give a fake one.
	ticker func(d time.Duration) (<-chan time.Time, func())
}

// Kubeconfig says which kubeconfig berth uses, from its flags and the
// environment. Path "" with Default unset means no cluster: berth works on
// containerd.
type Kubeconfig struct {
	// Path is --kubeconfig.
	Path string
	// Default is --kube: the default kubeconfig ($KUBECONFIG, else
	// ~/.kube/config).
	Default bool
	// Context is --context; "" is the kubeconfig's current context.
	Context string
}

// Enabled reports whether the commands act on a cluster.
//
// KUBECONFIG alone does not turn the cluster on: it is set on many
// developers' machines for kubectl, and a berth command that a compose
// user expects to act on this machine must never silently act on a
// cluster. It is honoured once the user asked for a cluster (--kube).
func (k Kubeconfig) Enabled() bool { return k.Path != "" || k.Default || k.Context != "" }

// Dial loads the kubeconfig, picks its context and checks that the API
// server answers (within dialTimeout). Each failure is one line: the
// missing file, the unknown context, the unreachable server's URL.
func Dial(ctx context.Context, k Kubeconfig) (*Client, error) {
	cfg, err := restConfig(k)
	if err != nil {
		return nil, err
	}
	// One HTTP client (one connection pool) for the dynamic and the REST
	// client. Requests after the first may stream logs or wait: no
	// client-wide timeout, the commands' contexts bound them.
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Host, err)
	}
	core, err := coreREST(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Host, err)
	}
	vctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if _, err := serverVersion(vctx, core); err != nil {
		return nil, fmt.Errorf("cluster %s does not answer (check the kubeconfig's server and that the cluster runs): %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Host, err)
	}
	c := newClient(dyn, core, newDiscoveryMapper(core))
	c.Server = cfg.Host
	return c, nil
}

// newClient is a Client on the given clients, polling on real tickers.
func newClient(dyn dynamic.Interface, core rest.Interface, mapper resourceMapper) *Client {
	return &Client{dyn: dyn, core: core, mapper: mapper, ticker: func(d time.Duration) (<-chan time.Time, func()) {
		t := time.NewTicker(d)
		return t.C, t.Stop
	}}
}

// restConfig resolves k to a client configuration.
func restConfig(k Kubeconfig) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if k.Path != "" {
		if _, err := os.Stat(k.Path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("kubeconfig %s: no such file (give --kubeconfig an existing file, or --kube for $KUBECONFIG or ~/.kube/config)", k.Path)
			}
			return nil, fmt.Errorf("kubeconfig %s: %w", k.Path, err)
		}
		rules.ExplicitPath = k.Path
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	if len(raw.Contexts) == 0 {
		where := k.Path
		if where == "" {
			where = "$KUBECONFIG or ~/.kube/config"
		}
		return nil, fmt.Errorf("kubeconfig %s: no context (give --kubeconfig a cluster's kubeconfig)", where)
	}
	if k.Context != "" {
		if _, ok := raw.Contexts[k.Context]; !ok {
			return nil, fmt.Errorf("kubeconfig context %q not found (kubectl config get-contexts lists them)", k.Context)
		}
	}
	cc := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{CurrentContext: k.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, nil
}
