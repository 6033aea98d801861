package kube

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// ForServices are the manifests of services only (compose service names;
// the caller adds their dependencies, as up SERVICE... does unless
// --no-deps): the project's Namespace, every object labelled for one of
// services (its workload, the Services through which its name, aliases and
// container_name resolve, its "-ready" and "-published" Services, its own
// ConfigMaps), and the project's shared objects their pods use: the
// Secrets and ConfigMaps of configs and secrets that a pod template of
// services mounts, and the ServiceAccount, RoleBinding and Role of the Job
// waiters when one of services waits for a Job. The objects are those
// Convert made for the whole project, not a conversion of part of it, so
// that up of some services and up of all apply the same objects: neither
// changes what the other applied. Warnings are those of services and of
// the project as a whole. Nil services is all of m.
func (m *Manifests) ForServices(services []string) *Manifests {
	if services == nil {
		return m
	}
	out := &Manifests{Namespace: m.Namespace}
	for i, w := range m.Warnings {
		if s := m.warnedFor(i); s == "" || slices.Contains(services, s) {
			out.Warnings = append(out.Warnings, w)
		}
	}
	used := map[string]bool{} // kind/name of the shared objects services use
	for _, o := range m.Objects {
		if slices.Contains(services, serviceOf(o.GetLabels())) {
			podRefs(o, used)
		}
	}
	// A RoleBinding goes with the ServiceAccount it binds, a Role with
	// the RoleBinding that grants it.
	for _, o := range m.Objects {
		if o.GetKind() == "RoleBinding" && serviceOf(o.GetLabels()) == "" && bindsUsed(o, used) {
			used["RoleBinding/"+o.GetName()] = true
			if ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name"); ref != "" {
				used["Role/"+ref] = true
			}
		}
	}
	for _, o := range m.Objects {
		svc := serviceOf(o.GetLabels())
		switch {
		case o.GetKind() == "Namespace",
			svc != "" && slices.Contains(services, svc),
			svc == "" && used[o.GetKind()+"/"+o.GetName()]:
			out.Objects = append(out.Objects, o)
		}
	}
	return out
}

// warnedFor is the service warning i of m is about, "" for the project.
func (m *Manifests) warnedFor(i int) string {
	if i < len(m.warnedServices) {
		return m.warnedServices[i]
	}
	return ""
}

// podRefs adds to used, as kind/name, the ConfigMaps, Secrets and
// ServiceAccount the pod template of workload o refers to.
func podRefs(o *unstructured.Unstructured, used map[string]bool) {
	tm, ok, _ := unstructured.NestedMap(o.Object, "spec", "template")
	if !ok {
		return
	}
	var t corev1.PodTemplateSpec
	if runtime.DefaultUnstructuredConverter.FromUnstructured(tm, &t) != nil {
		return
	}
	spec := t.Spec
	if spec.ServiceAccountName != "" {
		used["ServiceAccount/"+spec.ServiceAccountName] = true
	}
	cm := func(name string) { used["ConfigMap/"+name] = true }
	secret := func(name string) { used["Secret/"+name] = true }
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			cm(v.ConfigMap.Name)
		case v.Secret != nil:
			secret(v.Secret.SecretName)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					cm(s.ConfigMap.Name)
				}
				if s.Secret != nil {
					secret(s.Secret.Name)
				}
			}
		}
	}
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				cm(e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil {
				secret(e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				cm(r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				secret(r.Name)
			}
		}
	}
}

// bindsUsed reports whether RoleBinding o binds a ServiceAccount in used.
func bindsUsed(o *unstructured.Unstructured, used map[string]bool) bool {
	subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
	for _, s := range subjects {
		m, _ := s.(map[string]any)
		if m["kind"] == "ServiceAccount" && used["ServiceAccount/"+toString(m["name"])] {
			return true
		}
	}
	return false
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}
