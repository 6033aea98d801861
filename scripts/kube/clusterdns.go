package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// runClusterDNS runs cluster-dns, the Service name resolver of the test
// cluster: the kubelet's clusterDNS points at it. It answers, from the API
// server's Services and EndpointSlices (watched, not polled), the names
// CoreDNS's kubernetes plugin answers for the common case:
//
//	SVC.NS.svc.DOMAIN       A: the ClusterIP, or for a headless Service the
//	                        ready endpoints' addresses
//	HOST.SVC.NS.svc.DOMAIN  A: the endpoint whose hostname is HOST (a
//	                        StatefulSet pod behind its governing Service)
//
// Other names under DOMAIN are NXDOMAIN; names outside it are relayed to
// --upstream, or REFUSED without one (the test machine must not send queries
// anywhere). CoreDNS itself is not used because no registry serves its image
// here and building it into berth-kube would move the module's golang.org/x
// requirements, which recompiles all of Kubernetes. IPv4, UDP only.
func runClusterDNS(args []string) int {
	fs := flag.NewFlagSet("cluster-dns", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster to answer for")
	listen := fs.String("listen", "127.0.0.1:53", "UDP address to serve on")
	domain := fs.String("domain", "cluster.local", "the cluster domain")
	upstream := fs.String("upstream", "", "UDP address to relay names outside the domain to (none: REFUSED)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serveClusterDNS(ctx, *kubeconfig, *listen, *domain, *upstream); err != nil {
		fmt.Fprintf(os.Stderr, "cluster-dns: %v\n", err)
		return 1
	}
	return 0
}

func serveClusterDNS(ctx context.Context, kubeconfig, listen, domain, upstream string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("make client: %w", err)
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	r := &resolver{
		domain:    "." + strings.Trim(strings.ToLower(domain), ".") + ".",
		services:  factory.Core().V1().Services().Lister(),
		endpoints: factory.Discovery().V1().EndpointSlices().Lister(),
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("sync %v from the API server: %w", typ, ctx.Err())
		}
	}
	conn, err := net.ListenPacket("udp4", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	fmt.Fprintf(os.Stderr, "cluster-dns: serving %s on %s\n", strings.TrimPrefix(r.domain, "."), listen)
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
		query := append([]byte(nil), buf[:n]...)
		go func() {
			reply := r.answer(query, upstream)
			if reply == nil {
				return
			}
			if _, err := conn.WriteTo(reply, from); err != nil {
				fmt.Fprintf(os.Stderr, "cluster-dns: reply to %s: %v\n", from, err)
			}
		}()
	}
}

type resolver struct {
	domain    string // ".cluster.local."
	services  corelisters.ServiceLister
	endpoints discoverylisters.EndpointSliceLister
}

// answer returns the reply to one query packet, or nil for a packet that is
// not a query.
func (r *resolver) answer(query []byte, upstream string) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(q.Name.String())
	if !strings.HasSuffix(name, r.domain) {
		if upstream == "" {
			return reply(h, q, dnsmessage.RCodeRefused, nil)
		}
		return relay(query, upstream)
	}
	addrs, found := r.lookup(strings.TrimSuffix(name, r.domain))
	if !found {
		return reply(h, q, dnsmessage.RCodeNameError, nil)
	}
	if q.Type != dnsmessage.TypeA || q.Class != dnsmessage.ClassINET {
		addrs = nil // the name exists, with no record of that type
	}
	return reply(h, q, dnsmessage.RCodeSuccess, addrs)
}

// lookup resolves "SVC.NS.svc" and "HOST.SVC.NS.svc"; found says whether
// the name exists.
func (r *resolver) lookup(rel string) (addrs []netip.Addr, found bool) {
	parts := strings.Split(rel, ".")
	n := len(parts)
	if n < 3 || n > 4 || parts[n-1] != "svc" {
		return nil, false
	}
	svcName, ns, host := parts[n-3], parts[n-2], ""
	if n == 4 {
		host = parts[0]
	}
	svc, err := r.services.Services(ns).Get(svcName)
	if err != nil {
		return nil, false // apierrors.IsNotFound: the lister has no other error
	}
	if host == "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
		for _, ip := range svc.Spec.ClusterIPs {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
				addrs = append(addrs, a)
			}
		}
		return addrs, true
	}
	slices, err := r.endpoints.EndpointSlices(ns).List(serviceSelector(svcName))
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, false
	}
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range s.Endpoints {
			if host != "" && (ep.Hostname == nil || *ep.Hostname != host) {
				continue
			}
			if host == "" && ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, ip := range ep.Addresses {
				if a, err := netip.ParseAddr(ip); err == nil {
					addrs = append(addrs, a)
				}
			}
		}
	}
	return addrs, host == "" || len(addrs) > 0
}

func serviceSelector(service string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service})
}

func reply(h dnsmessage.Header, q dnsmessage.Question, rcode dnsmessage.RCode, addrs []netip.Addr) []byte {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode, Authoritative: rcode != dnsmessage.RCodeRefused,
		RecursionDesired: h.RecursionDesired, RCode: rcode,
	})
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil
	}
	for _, a := range addrs {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 5}
		if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
			break // the answer is full: the client has enough addresses
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

// relay forwards a query to upstream and returns its reply (nil after 3 s).
func relay(query []byte, upstream string) []byte {
	conn, err := net.DialTimeout("udp", upstream, 3*time.Second)
	if err != nil {
		return nil
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Write(query); err != nil {
		return nil
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}
