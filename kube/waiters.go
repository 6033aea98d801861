package kube

import (
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth/berth/compose"
)

// waiters are the init containers that hold the pod until its
// dependencies are healthy or completed (see the package doc).
func (c *converter) waiters(s *compose.Service, spec *corev1.PodSpec) []corev1.Container {
	var out []corev1.Container
	for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
		if c.p.Service(dep) == nil {
			continue
		}
		w := corev1.Container{Name: "wait-" + dnsLabel(dep), ImagePullPolicy: corev1.PullIfNotPresent}
		switch s.DependsOn[dep].Condition {
		case compose.ConditionHealthy:
			w.Image = c.o.WaitImage
			w.Command = []string{"sh", "-c", healthyWait(dep, c.ns)}
		case compose.ConditionCompletedSuccessfully:
			c.needJobWaiter = true
			w.Image = c.o.JobWaitImage
			w.Command = []string{"kubectl", "wait", "--namespace", c.ns, "--for=condition=complete", "--timeout=-1s", "job/" + dnsLabel(dep)}
			w.VolumeMounts = []corev1.VolumeMount{{Name: jobWaiter, MountPath: serviceAccountDir, ReadOnly: true}}
			if !hasVolume(spec, jobWaiter) {
				spec.ServiceAccountName = jobWaiter
				// Only the waiters get the account's token: the
				// service's own containers have no business with the API.
				f := false
				spec.AutomountServiceAccountToken = &f
				spec.Volumes = append(spec.Volumes, serviceAccountVolume())
			}
		default:
			continue
		}
		out = append(out, w)
	}
	return out
}

// serviceAccountDir is where in-cluster clients (kubectl) look for their
// token, CA and namespace.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// serviceAccountVolume is the volume the kubelet would mount into every
// container with automountServiceAccountToken, made explicit so that only
// the Job waiters mount it.
func serviceAccountVolume() corev1.Volume {
	expire := int64(3607)
	return corev1.Volume{Name: jobWaiter, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &expire}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}}}
}

// healthyWait is the script that waits until dep has a ready pod: until
// the name of its "-ready" headless Service resolves. The name is made
// fully qualified from the pod's first DNS search domain, which the
// kubelet sets to "<namespace>.svc.<cluster domain>": busybox's nslookup
// does not use the search list, and the cluster domain is not always
// cluster.local. (Backquotes, not $(...): Kubernetes expands $(NAME) in
// a container's command.)
func healthyWait(dep, ns string) string {
	return fmt.Sprintf("echo waiting for %[1]s to be healthy; "+
		"d=`sed -n 's/^search \\([^ ]*\\).*/\\1/p' /etc/resolv.conf`; [ -n \"$d\" ] || d=%[3]s.svc.cluster.local; "+
		"until nslookup %[2]s.$d 2>/dev/null | grep -q '^Name:'; do sleep 1; done; echo %[1]s is healthy", dep, readyName(dep), ns)
}
