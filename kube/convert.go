package kube

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth/berth/compose"
)

// Expose modes: how published ports are reached from outside the cluster.
const (
	ExposeNodePort     = "nodeport"
	ExposeLoadBalancer = "loadbalancer"
)

// DefaultWaitImage runs the init containers that wait for a dependency
// to be healthy (see the package doc for why busybox, and why this name).
const DefaultWaitImage = "busybox:latest"

// DefaultJobWaitImage runs the init containers that wait for a Job to
// complete: kubectl at the release of the test cluster.
const DefaultJobWaitImage = "registry.k8s.io/kubectl:v1.37.2"

// DefaultVolumeSize is the storage a named volume's claim requests.
const DefaultVolumeSize = "1Gi"

// ConvertOptions say how a project is carried onto a cluster.
type ConvertOptions struct {
	// Namespace holds every object; "" is the project's name.
	Namespace string
	// Expose is ExposeNodePort (the default when "") or ExposeLoadBalancer.
	Expose string
	// Registry, when set, is where the images of build: services are
	// pushed: they run as Registry/<image name>.
	Registry string
	// AllowPrivileged carries privileged: true over instead of refusing it.
	AllowPrivileged bool
	// Images maps a service to the image reference it runs (a digest from
	// a push, say); it wins over Registry and the compose file.
	Images map[string]string
	// WaitImage runs the init containers that wait for a healthy
	// dependency (it needs sh, nslookup and grep); JobWaitImage those that
	// wait for a completed one (it needs kubectl on PATH). "" is
	// DefaultWaitImage, DefaultJobWaitImage.
	WaitImage, JobWaitImage string
	// StorageClass is the class of the claims of named volumes; "" is the
	// cluster's default class.
	StorageClass string
}

// Manifests are the objects that run a project on a cluster.
type Manifests struct {
	// Namespace holds every namespaced object.
	Namespace string
	// Objects are in apply order: the Namespace, the ServiceAccount and
	// RBAC of Job waiters, Secrets, ConfigMaps, Services, Jobs, then
	// StatefulSets and Deployments; by name within a kind.
	Objects []*unstructured.Unstructured
	// Warnings name what runs differently on the cluster, one line each,
	// starting with the service.
	Warnings []string
	// warnedServices[i] is the service Warnings[i] is about, "" for the
	// project as a whole (ForServices keeps the warnings of its services).
	warnedServices []string
}

// Label keys of Kubernetes' recommended labels.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelName      = "app.kubernetes.io/name"
	// ManagedBy is LabelManagedBy's value on everything Convert makes.
	ManagedBy = "berth"
)

// AnnotationContentHash on a pod template is a hash of the ConfigMaps and
// Secrets its pods use: changing them changes the template, which rolls
// the pods, as a changed configuration recreates containers in compose.
const AnnotationContentHash = "berth.content-hash"

// jobWaiter names the ServiceAccount, Role and RoleBinding of the init
// containers that wait for Jobs.
const jobWaiter = "berth-job-waiter"

// Convert turns p into the objects that run it on a cluster. It fails,
// naming every service and key that cannot be carried over and what to do,
// before making anything.
func Convert(p *compose.Project, o ConvertOptions) (*Manifests, error) {
	if o.Expose == "" {
		o.Expose = ExposeNodePort
	}
	if o.Expose != ExposeNodePort && o.Expose != ExposeLoadBalancer {
		return nil, fmt.Errorf("expose %q: use nodeport or loadbalancer", o.Expose)
	}
	if o.WaitImage == "" {
		o.WaitImage = DefaultWaitImage
	}
	if o.JobWaitImage == "" {
		o.JobWaitImage = DefaultJobWaitImage
	}
	ns := o.Namespace
	if ns == "" {
		ns = dnsLabel(p.Name)
	} else if !validLabel(ns) {
		return nil, fmt.Errorf("namespace %q: not a valid Kubernetes namespace name (lowercase letters, digits and '-', at most 63)", ns)
	}
	c := &converter{p: p, o: o, ns: ns, jobs: map[string]bool{}, waitedHealthy: map[string]bool{}, added: map[string]bool{}}
	if err := c.convert(); err != nil {
		return nil, err
	}
	return c.manifests()
}

// converter holds one conversion's state.
type converter struct {
	p  *compose.Project
	o  ConvertOptions
	ns string

	// jobs are the services run as Jobs (others wait for them to
	// complete); waitedHealthy those others wait to be healthy.
	jobs, waitedHealthy map[string]bool
	needJobWaiter       bool
	// added are the shared objects made, as kind/name.
	added map[string]bool

	objects  []runtime.Object
	warnings []string
	// warnedServices[i] is the service of warnings[i], or "".
	warnedServices []string
	refusals       []string
}

func (c *converter) warnf(service, format string, args ...any) {
	prefix := ""
	if service != "" {
		prefix = fmt.Sprintf("service %q: ", service)
	}
	c.warnings = append(c.warnings, prefix+fmt.Sprintf(format, args...))
	c.warnedServices = append(c.warnedServices, service)
}

func (c *converter) refusef(service, format string, args ...any) {
	c.refusals = append(c.refusals, fmt.Sprintf("service %q: ", service)+fmt.Sprintf(format, args...))
}

func (c *converter) convert() error {
	for _, s := range c.p.Services {
		for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
			d := s.DependsOn[dep]
			if d.Restart {
				c.warnf(s.Name, "depends_on %s restart: true is not carried over: pods are not restarted with their dependencies", dep)
			}
			if c.p.Service(dep) == nil {
				c.warnf(s.Name, "depends_on %s: the service is not in the project (disabled or not selected); not waited for", dep)
				continue
			}
			switch d.Condition {
			case compose.ConditionCompletedSuccessfully:
				c.jobs[dep] = true
			case compose.ConditionHealthy:
				c.waitedHealthy[dep] = true
			default:
				c.warnf(s.Name, "depends_on %s (service_started): pods start together on Kubernetes; the service must retry until %s answers", dep, dep)
			}
		}
	}
	users := map[string][]string{}
	for _, s := range c.p.Services {
		for _, m := range s.Mounts {
			if m.Type == compose.MountVolume && !m.Anonymous && !m.External && !contains(users[m.Source], s.Name) {
				users[m.Source] = append(users[m.Source], s.Name)
			}
		}
	}
	for _, v := range slices.Sorted(maps.Keys(users)) {
		if len(users[v]) > 1 {
			c.warnf("", "volume %s is used by services %s: each gets its own claim (ReadWriteOnce), so they do not share its data as on one machine", c.volumeKey(v), strings.Join(users[v], ", "))
		}
	}
	c.objects = append(c.objects, &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: c.ns, Labels: c.labels("")},
	})
	c.checkProject()
	c.services()
	for _, s := range c.p.Services {
		c.service(s)
	}
	if len(c.refusals) > 0 {
		return errors.New(strings.Join(c.refusals, "\n"))
	}
	if c.needJobWaiter {
		c.jobWaiterRBAC()
	}
	return nil
}

// checkProject warns about what the project's networks do that a
// namespace does not.
func (c *converter) checkProject() {
	var nets []string
	for _, key := range slices.Sorted(maps.Keys(c.p.Networks)) {
		n := c.p.Networks[key]
		nets = append(nets, key)
		if n.Internal {
			c.warnf("", "network %q is internal: a namespace has no isolation from outside; add a NetworkPolicy", key)
		}
		if n.External {
			c.warnf("", "network %q is external: services join the namespace's pod network instead", key)
		}
	}
	if len(nets) > 1 {
		c.warnf("", "networks %s are one pod network on Kubernetes: every service reaches every other, and every alias resolves in the whole namespace", strings.Join(nets, ", "))
	}
}

// labels are the labels of every object of the project, and of the
// service's objects when service is not "".
func (c *converter) labels(service string) map[string]string {
	l := map[string]string{
		LabelManagedBy:       ManagedBy,
		LabelPartOf:          c.p.Name,
		compose.LabelProject: c.p.Name,
	}
	if service != "" {
		l[compose.LabelService] = service
		l[LabelName] = service
	}
	return l
}

// selector selects the pods of a service.
func (c *converter) selector(service string) map[string]string {
	return map[string]string{compose.LabelProject: c.p.Name, compose.LabelService: service}
}

func (c *converter) meta(name, service string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: c.ns, Labels: c.labels(service)}
}

func (c *converter) jobWaiterRBAC() {
	meta := c.meta(jobWaiter, "")
	c.objects = append(c.objects,
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: meta,
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch"},
			}},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: meta,
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: jobWaiter, Namespace: c.ns}},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: jobWaiter},
		},
	)
}

// kindOrder is the apply order of the kinds Convert makes.
var kindOrder = map[string]int{
	"Namespace": 0, "ServiceAccount": 1, "Role": 2, "RoleBinding": 3, "Secret": 4, "ConfigMap": 5,
	"Service": 6, "Job": 7, "StatefulSet": 8, "Deployment": 9,
}

func (c *converter) manifests() (*Manifests, error) {
	m := &Manifests{Namespace: c.ns, Warnings: c.warnings, warnedServices: c.warnedServices}
	for _, obj := range c.objects {
		u, err := toUnstructured(obj)
		if err != nil {
			return nil, err
		}
		m.Objects = append(m.Objects, u)
	}
	sort.SliceStable(m.Objects, func(i, j int) bool {
		a, b := m.Objects[i], m.Objects[j]
		if ka, kb := kindOrder[a.GetKind()], kindOrder[b.GetKind()]; ka != kb {
			return ka < kb
		}
		return a.GetName() < b.GetName()
	})
	for i := 1; i < len(m.Objects); i++ {
		a, b := m.Objects[i-1], m.Objects[i]
		if a.GetKind() == b.GetKind() && a.GetName() == b.GetName() {
			return nil, fmt.Errorf("two %ss would be named %q: rename one of the services, volumes, configs or secrets behind them", a.GetKind(), a.GetName())
		}
	}
	return m, nil
}

// Compile-time checks that the typed objects Convert makes are objects.
var (
	_ runtime.Object = (*appsv1.Deployment)(nil)
	_ runtime.Object = (*batchv1.Job)(nil)
)
