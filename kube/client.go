package kube

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
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
type Client struct {
	// Server is the API server's URL, for messages.
	Server string
	dyn    dynamic.Interface
	typed  typedClients
	mapper meta.RESTMapper
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
	cfg.Timeout = dialTimeout
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Host, err)
	}
	if _, err := disc.ServerVersion(); err != nil {
		return nil, fmt.Errorf("cluster %s does not answer (check the kubeconfig's server and that the cluster runs): %w", cfg.Host, err)
	}
	// Requests after the first may stream logs or wait: no client-wide
	// timeout, the commands' contexts bound them.
	cfg.Timeout = 0
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Host, err)
	}
	var typed groupClients
	if typed.core, err = corev1client.NewForConfig(cfg); err == nil {
		if typed.apps, err = appsv1client.NewForConfig(cfg); err == nil {
			typed.batch, err = batchv1client.NewForConfig(cfg)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cfg.Host, err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	c := newClient(dyn, typed, mapper)
	c.Server = cfg.Host
	return c, nil
}

// typedClients are the typed API groups the Client reads: the part of
// client-go's kubernetes.Interface it needs (its fake satisfies this).
// Linking the whole clientset, every API group's client and apply
// configurations, made berth's binary 40 MB larger and every berth
// process, the long-lived project process too, 17 MiB larger.
type typedClients interface {
	CoreV1() corev1client.CoreV1Interface
	AppsV1() appsv1client.AppsV1Interface
	BatchV1() batchv1client.BatchV1Interface
}

// groupClients are the typedClients of a real cluster.
type groupClients struct {
	core  corev1client.CoreV1Interface
	apps  appsv1client.AppsV1Interface
	batch batchv1client.BatchV1Interface
}

func (g groupClients) CoreV1() corev1client.CoreV1Interface    { return g.core }
func (g groupClients) AppsV1() appsv1client.AppsV1Interface    { return g.apps }
func (g groupClients) BatchV1() batchv1client.BatchV1Interface { return g.batch }

// newClient is a Client on the given clients, polling on real tickers.
func newClient(dyn dynamic.Interface, typed typedClients, mapper meta.RESTMapper) *Client {
	return &Client{dyn: dyn, typed: typed, mapper: mapper, ticker: func(d time.Duration) (<-chan time.Time, func()) {
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
