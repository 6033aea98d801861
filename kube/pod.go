package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth/berth/compose"
)

// podParts are a service's pod template and the named volumes its
// workload must claim.
type podParts struct {
	template corev1.PodTemplateSpec
	claims   []string
}

// podFor builds the pod template of s, or returns nil after refusing what
// cannot be carried over.
func (c *converter) podFor(s *compose.Service) *podParts {
	before := len(c.refusals)
	c.checkService(s)
	ctr := corev1.Container{
		Name:            dnsLabel(s.Name),
		Image:           c.image(s),
		ImagePullPolicy: pullPolicy(s),
		WorkingDir:      s.WorkingDir,
		TTY:             s.Tty,
		Stdin:           s.StdinOpen,
		Ports:           containerPorts(s),
	}
	c.command(s, &ctr)
	content := sha256.New()
	spec := corev1.PodSpec{}
	c.environment(s, &ctr, content)
	parts := &podParts{}
	c.mounts(s, &spec, &ctr, parts, content)
	c.files(s, &spec, &ctr, content)
	ctr.ReadinessProbe, ctr.LivenessProbe, ctr.StartupProbe = c.probes(s)
	ctr.Resources = c.resources(s, &spec, &ctr)
	ctr.SecurityContext = c.security(s, &spec)
	ctr.Lifecycle = c.hooks(s)
	c.podSettings(s, &spec)
	spec.InitContainers = c.waiters(s, &spec)
	spec.Containers = []corev1.Container{ctr}
	if len(c.refusals) > before {
		return nil
	}
	parts.template = corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: c.labels(s.Name)},
		Spec:       spec,
	}
	addUserLabels(&parts.template.ObjectMeta, s.Labels)
	if parts.template.Annotations == nil {
		parts.template.Annotations = map[string]string{}
	}
	// Not compose's config hash: it hashes host paths, and a changed
	// template rolls the pods anyway. The content hash covers what the
	// template only names.
	parts.template.Annotations[AnnotationContentHash] = hex.EncodeToString(content.Sum(nil))[:16]
	return parts
}

// image is the reference the service's container runs (see ConvertOptions).
func (c *converter) image(s *compose.Service) string {
	if ref := c.o.Images[s.Name]; ref != "" {
		return ref
	}
	if s.HasBuild && c.o.Registry != "" {
		return compose.PublishName(c.o.Registry, s.ImageName())
	}
	return s.ImageName()
}

// pullPolicy is IfNotPresent unless pull_policy says always or never: the
// images of a cluster without a registry are imported into its nodes, and
// only IfNotPresent (or Never) runs them; Kubernetes' own default for a
// :latest tag, Always, would fail there.
func pullPolicy(s *compose.Service) corev1.PullPolicy {
	switch s.PullPolicy {
	case compose.PullAlways:
		return corev1.PullAlways
	case compose.PullNever:
		return corev1.PullNever
	}
	return corev1.PullIfNotPresent
}

// escapeRefs keeps Kubernetes from expanding $(VAR) in command, args and
// env values: compose passes them as they are.
func escapeRefs(args []string) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "$(", "$$(")
	}
	return out
}

// command sets the container's command (compose's entrypoint) and args
// (compose's command).
func (c *converter) command(s *compose.Service, ctr *corev1.Container) {
	switch {
	case s.Entrypoint != nil && len(s.Entrypoint) == 0 && len(s.Command) == 0:
		c.warnf(s.Name, "entrypoint: [] with no command: Kubernetes cannot clear the image's entrypoint, which runs")
	case s.Entrypoint != nil && len(s.Entrypoint) == 0:
		ctr.Command = escapeRefs(s.Command)
	default:
		ctr.Command = escapeRefs(s.Entrypoint)
		if len(s.Command) > 0 {
			ctr.Args = escapeRefs(s.Command)
		}
	}
}

// environment puts the service's environment into a ConfigMap its
// container takes all variables from (env_file entries are merged in by
// then); variables whose names a ConfigMap cannot hold are set directly.
func (c *converter) environment(s *compose.Service, ctr *corev1.Container, content io.Writer) {
	data := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		v := s.Environment[k]
		if v == nil {
			continue
		}
		if validConfigKey(k) {
			data[k] = *v
			continue
		}
		ctr.Env = append(ctr.Env, corev1.EnvVar{Name: k, Value: strings.ReplaceAll(*v, "$(", "$$(")})
	}
	if len(data) == 0 {
		return
	}
	name := dnsLabel(s.Name) + "-env"
	c.objects = append(c.objects, &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: c.meta(name, s.Name),
		Data:       data,
	})
	hashData(content, name, data)
	ctr.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}}
}

func hashData(h io.Writer, name string, data map[string]string) {
	fmt.Fprintf(h, "%s\x00", name)
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", k, len(data[k]), data[k])
	}
}

// seconds rounds d up to whole seconds, at least min.
func seconds(d float64, min int32) int32 {
	n := int32(math.Ceil(d))
	if n < min {
		return min
	}
	return n
}

// resources maps limits and reservations; the kernel settings a pod
// cannot have are warned about.
func (c *converter) resources(s *compose.Service, spec *corev1.PodSpec, ctr *corev1.Container) corev1.ResourceRequirements {
	r := s.Resources
	var out corev1.ResourceRequirements
	if r.MemLimit > 0 || r.CPUs > 0 {
		out.Limits = corev1.ResourceList{}
	}
	if r.MemLimit > 0 {
		out.Limits[corev1.ResourceMemory] = *resource.NewQuantity(r.MemLimit, resource.BinarySI)
	}
	if r.CPUs > 0 {
		out.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(math.Ceil(r.CPUs*1000)), resource.DecimalSI)
	}
	if r.MemReservation > 0 {
		out.Requests = corev1.ResourceList{corev1.ResourceMemory: *resource.NewQuantity(r.MemReservation, resource.BinarySI)}
	}
	if r.ShmSize > 0 {
		size := resource.NewQuantity(r.ShmSize, resource.BinarySI)
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "shm", VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: size}}})
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: "shm", MountPath: "/dev/shm"})
	}
	ignored := []struct {
		set bool
		key string
	}{
		{r.MemSwapLimit != 0, "memswap_limit"}, {r.CPUShares != 0, "cpu_shares"}, {r.CPUPeriod != 0, "cpu_period"},
		{r.CPUQuota != 0, "cpu_quota"}, {r.PidsLimit != 0, "pids_limit"}, {r.OomScoreAdj != 0, "oom_score_adj"},
		{len(r.Ulimits) > 0, "ulimits"}, {r.CPUSet != "", "cpuset"}, {r.Blkio != nil, "blkio_config"},
		{len(r.DeviceCgroupRules) > 0, "device_cgroup_rules"},
	}
	for _, i := range ignored {
		if i.set {
			c.warnf(s.Name, "%s is not carried over: a pod has no such setting (the node's kubelet decides)", i.key)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Sysctls)) {
		if spec.SecurityContext == nil {
			spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		spec.SecurityContext.Sysctls = append(spec.SecurityContext.Sysctls, corev1.Sysctl{Name: k, Value: r.Sysctls[k]})
	}
	return out
}

// security maps user, group_add, capabilities, privileged, read_only and
// no-new-privileges.
func (c *converter) security(s *compose.Service, spec *corev1.PodSpec) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	set := false
	if s.User != "" {
		u, g, hasGroup := strings.Cut(s.User, ":")
		uid, err := strconv.ParseInt(u, 10, 64)
		if err != nil {
			c.warnf(s.Name, "user %q is a name: Kubernetes takes numeric ids only, so the image's user applies; write the uid (user: \"1000\")", s.User)
		} else {
			sc.RunAsUser, set = &uid, true
			if hasGroup {
				if gid, err := strconv.ParseInt(g, 10, 64); err == nil {
					sc.RunAsGroup = &gid
				} else {
					c.warnf(s.Name, "user %q: group %q is a name; Kubernetes takes numeric ids only", s.User, g)
				}
			}
		}
	}
	for _, g := range s.GroupAdd {
		gid, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			c.warnf(s.Name, "group_add %q is a name: Kubernetes takes numeric ids only", g)
			continue
		}
		if spec.SecurityContext == nil {
			spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		spec.SecurityContext.SupplementalGroups = append(spec.SecurityContext.SupplementalGroups, gid)
	}
	if len(s.CapAdd) > 0 || len(s.CapDrop) > 0 {
		sc.Capabilities, set = &corev1.Capabilities{}, true
		for _, cp := range s.CapAdd {
			sc.Capabilities.Add = append(sc.Capabilities.Add, corev1.Capability(strings.TrimPrefix(strings.ToUpper(cp), "CAP_")))
		}
		for _, cp := range s.CapDrop {
			sc.Capabilities.Drop = append(sc.Capabilities.Drop, corev1.Capability(strings.TrimPrefix(strings.ToUpper(cp), "CAP_")))
		}
	}
	if s.Privileged {
		if c.o.AllowPrivileged {
			t := true
			sc.Privileged, set = &t, true
		} else {
			c.refusef(s.Name, "privileged: true gives the pod the node itself; remove it, or convert with --allow-privileged")
		}
	}
	if s.ReadOnly {
		t := true
		sc.ReadOnlyRootFilesystem, set = &t, true
	}
	for _, o := range s.SecurityOpt {
		switch o {
		case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
			if sc.Privileged != nil {
				c.warnf(s.Name, "security_opt %s is not carried over: Kubernetes refuses it on a privileged container", o)
				continue
			}
			f := false
			sc.AllowPrivilegeEscalation, set = &f, true
		default:
			c.warnf(s.Name, "security_opt %q is not carried over", o)
		}
	}
	if !set {
		return nil
	}
	return sc
}

// hooks maps post_start and pre_stop to the container's lifecycle hooks.
func (c *converter) hooks(s *compose.Service) *corev1.Lifecycle {
	hook := func(key string, hs []compose.Hook) *corev1.LifecycleHandler {
		if len(hs) == 0 {
			return nil
		}
		if len(hs) > 1 {
			c.warnf(s.Name, "%s: a container has one such hook; only the first runs", key)
		}
		h := hs[0]
		if h.User != "" || h.Privileged || h.WorkingDir != "" || len(h.Environment) > 0 {
			c.warnf(s.Name, "%s: user, privileged, working_dir and environment of a hook are not carried over; it runs as the container does", key)
		}
		return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: h.Command}}
	}
	post, pre := hook("post_start", s.PostStart), hook("pre_stop", s.PreStop)
	if post == nil && pre == nil {
		return nil
	}
	return &corev1.Lifecycle{PostStart: post, PreStop: pre}
}

// podSettings maps the pod-wide keys: stop grace period, hostname,
// extra_hosts, dns, init, platform.
func (c *converter) podSettings(s *compose.Service, spec *corev1.PodSpec) {
	grace := int64(math.Ceil(s.GracePeriod().Seconds()))
	spec.TerminationGracePeriodSeconds = &grace
	if sig := s.StopSignal; sig != "" && sig != "SIGTERM" && sig != "TERM" && sig != "15" {
		c.warnf(s.Name, "stop_signal %s: the kubelet stops containers with the image's STOPSIGNAL (else SIGTERM); set STOPSIGNAL in the image", sig)
	}
	if s.Hostname != "" {
		if validLabel(s.Hostname) {
			spec.Hostname = s.Hostname
		} else {
			c.warnf(s.Name, "hostname %q is not a DNS label: the pod keeps its own name", s.Hostname)
		}
	}
	if s.Domainname != "" {
		c.warnf(s.Name, "domainname %q is not carried over", s.Domainname)
	}
	byAddr := map[string][]string{}
	for _, h := range s.ExtraHosts {
		if h.Addr == "host-gateway" {
			c.warnf(s.Name, "extra_hosts %s:host-gateway: a pod has no host gateway; give the node's address", h.Name)
			continue
		}
		byAddr[h.Addr] = append(byAddr[h.Addr], h.Name)
	}
	for _, a := range slices.Sorted(maps.Keys(byAddr)) {
		spec.HostAliases = append(spec.HostAliases, corev1.HostAlias{IP: a, Hostnames: byAddr[a]})
	}
	if len(s.DNS)+len(s.DNSSearch)+len(s.DNSOptions) > 0 {
		dc := &corev1.PodDNSConfig{Nameservers: s.DNS, Searches: s.DNSSearch}
		for _, o := range s.DNSOptions {
			name, val, ok := strings.Cut(o, ":")
			opt := corev1.PodDNSConfigOption{Name: name}
			if ok {
				opt.Value = &val
			}
			dc.Options = append(dc.Options, opt)
		}
		spec.DNSConfig = dc
		if len(s.DNS) > 0 {
			c.warnf(s.Name, "dns %s: added after the cluster's DNS, which still answers first", strings.Join(s.DNS, ","))
		}
	}
	if s.Init != nil && *s.Init {
		// The pause container is then PID 1 and reaps zombies, as
		// docker's init does.
		t := true
		spec.ShareProcessNamespace = &t
	}
	if s.Platform != "" {
		parts := strings.Split(s.Platform, "/")
		spec.NodeSelector = map[string]string{"kubernetes.io/os": parts[0]}
		if len(parts) > 1 {
			spec.NodeSelector["kubernetes.io/arch"] = parts[1]
		}
	}
}
