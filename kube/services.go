package kube

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth/berth/compose"
)

// services makes the Services through which the project's names resolve:
// for each service its name, its network aliases and its container_name,
// headless so that every port answers as on the bridge; "<service>-ready"
// for the services others wait to be healthy; and "<service>-published"
// for published ports.
func (c *converter) services() {
	owner := map[string]string{} // Service name -> compose service
	var names []string
	claim := func(s *compose.Service, name, what string) {
		k := dnsLabel(name)
		if k != name {
			c.warnf(s.Name, "%s %q is not a valid Kubernetes Service name; it resolves as %q on the cluster", what, name, k)
		}
		if prev, ok := owner[k]; ok {
			if prev != s.Name {
				c.warnf(s.Name, "%s %q also names service %q: on the cluster it resolves to %s only", what, name, prev, prev)
			}
			return
		}
		owner[k] = s.Name
		names = append(names, k)
	}
	for _, s := range c.p.Services {
		claim(s, s.Name, "name")
	}
	for _, s := range c.p.Services {
		if s.ContainerName != "" {
			claim(s, s.ContainerName, "container_name")
		}
		for _, n := range s.Networks {
			for _, a := range n.Aliases {
				claim(s, a, "alias")
			}
		}
		for _, l := range s.Links {
			c.warnf(s.Name, "links %s:%s: Kubernetes names are the same for every pod; %s resolves as %s only if it is a service's name or alias", l.Service, l.Alias, l.Alias, l.Alias)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		s := c.p.Service(owner[name])
		c.objects = append(c.objects, c.headless(name, s, true))
		if name == dnsLabel(s.Name) && c.waitedHealthy[s.Name] {
			c.objects = append(c.objects, c.headless(readyName(s.Name), s, false))
		}
	}
	for _, s := range c.p.Services {
		if len(s.Ports) > 0 {
			c.objects = append(c.objects, c.published(s))
		}
	}
}

// readyName is the headless Service whose name answers only while one of
// service's pods is ready.
func readyName(service string) string {
	return dnsLabel(dnsLabel(service) + "-ready")
}

func (c *converter) headless(name string, s *compose.Service, notReady bool) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: c.meta(name, s.Name),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 c.selector(s.Name),
			PublishNotReadyAddresses: notReady,
			Ports:                    c.servicePorts(s),
		},
	}
}

// servicePorts are the ports the service publishes or exposes; on a
// headless Service they only document them (and name them for SRV).
func (c *converter) servicePorts(s *compose.Service) []corev1.ServicePort {
	var out []corev1.ServicePort
	for _, cp := range containerPorts(s) {
		out = append(out, corev1.ServicePort{
			Name: cp.Name, Protocol: cp.Protocol, Port: cp.ContainerPort, TargetPort: intstr.FromInt32(cp.ContainerPort),
		})
	}
	return out
}

// containerPorts are the service's ports, published or exposed, each once,
// sorted.
func containerPorts(s *compose.Service) []corev1.ContainerPort {
	seen := map[string]bool{}
	var out []corev1.ContainerPort
	add := func(port int, proto string) {
		name := fmt.Sprintf("%s-%d", proto, port)
		if seen[name] || port <= 0 || port > 65535 {
			return
		}
		seen[name] = true
		out = append(out, corev1.ContainerPort{Name: name, ContainerPort: int32(port), Protocol: corev1.Protocol(strings.ToUpper(proto))})
	}
	for _, p := range s.Ports {
		add(int(p.ContainerPort), p.Protocol)
	}
	for _, e := range s.Expose {
		ports, proto, _ := strings.Cut(e, "/")
		if proto == "" {
			proto = "tcp"
		}
		lo, hi, isRange := strings.Cut(ports, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for p := a; p <= b && p-a < 100; p++ {
			add(p, strings.ToLower(proto))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ContainerPort != out[j].ContainerPort {
			return out[i].ContainerPort < out[j].ContainerPort
		}
		return out[i].Protocol < out[j].Protocol
	})
	return out
}

// NodePort range of a default cluster: a published host port in it is
// kept as the node port.
const nodePortMin, nodePortMax = 30000, 32767

// published is the Service that makes the service's published ports
// reachable from outside the cluster.
func (c *converter) published(s *compose.Service) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: c.meta(dnsLabel(dnsLabel(s.Name)+"-published"), s.Name),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: c.selector(s.Name)},
	}
	if c.o.Expose == ExposeLoadBalancer {
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	}
	seen := map[string]bool{}
	for _, p := range s.Ports {
		port := int32(p.HostPortMin)
		if port == 0 {
			port = int32(p.ContainerPort)
		}
		name := fmt.Sprintf("%s-%d", p.Protocol, port)
		if seen[name] {
			c.warnf(s.Name, "ports %s: host port %d/%s is published twice; the cluster publishes it once, to container port %d", p, port, p.Protocol, c.firstTarget(svc, name))
			continue
		}
		seen[name] = true
		sp := corev1.ServicePort{
			Name: name, Protocol: corev1.Protocol(strings.ToUpper(p.Protocol)),
			Port: port, TargetPort: intstr.FromInt32(int32(p.ContainerPort)),
		}
		if p.HostPortMax > p.HostPortMin {
			c.warnf(s.Name, "ports %s: a host port range becomes port %d", p, port)
		}
		if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() {
			c.warnf(s.Name, "ports %s: host address %s is not carried over; the Service answers on every node address", p, p.HostIP)
		}
		if c.o.Expose == ExposeNodePort {
			switch {
			case p.HostPortMin == 0:
				// Any free port, as compose picks one.
			case port >= nodePortMin && port <= nodePortMax:
				sp.NodePort = port
			default:
				c.warnf(s.Name, "ports %s: host port %d is outside the NodePort range %d-%d; the cluster picks the node port (kubectl get service %s)", p, port, nodePortMin, nodePortMax, svc.Name)
			}
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	return svc
}

func (c *converter) firstTarget(svc *corev1.Service, name string) int32 {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.TargetPort.IntVal
		}
	}
	return 0
}
