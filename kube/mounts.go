package kube

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth/berth/compose"
)

// maxBindBytes bounds the project files a read-only bind mount carries as
// a ConfigMap (the API server refuses objects past 1 MiB).
const maxBindBytes = 900 << 10

// mounts maps the service's volumes: a named volume is claimed (the
// workload becomes a StatefulSet), an external one is an existing claim,
// an anonymous one and a tmpfs are emptyDirs, and a read-only bind mount
// of project files is a ConfigMap; other bind mounts and image mounts are
// refused.
func (c *converter) mounts(s *compose.Service, spec *corev1.PodSpec, ctr *corev1.Container, parts *podParts, content io.Writer) {
	for i, m := range s.Mounts {
		vol := fmt.Sprintf("%s-%d", m.Type, i)
		mount := corev1.VolumeMount{Name: vol, MountPath: m.Target, ReadOnly: m.ReadOnly}
		switch m.Type {
		case compose.MountVolume:
			switch {
			case m.Anonymous:
				spec.Volumes = append(spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
			case m.External:
				claim := dnsLabel(m.Source)
				c.warnf(s.Name, "volume %s is external: the claim %q must exist in namespace %s", m.Source, claim, c.ns)
				spec.Volumes = append(spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: m.ReadOnly}}})
			default:
				key := c.volumeKey(m.Source)
				mount.Name = dnsLabel(key)
				if v := c.p.Volumes[key]; (v.Driver != "" && v.Driver != "local") || len(v.DriverOpts) > 0 {
					c.warnf(s.Name, "volume %s: driver and driver_opts are not carried over; the claim uses the cluster's default StorageClass", key)
				}
				if m.NoCopy {
					c.warnf(s.Name, "volume %s: nocopy is the rule on Kubernetes: a claim starts empty, not filled from the image", key)
				}
				if !contains(parts.claims, mount.Name) {
					parts.claims = append(parts.claims, mount.Name)
				}
			}
		case compose.MountTmpfs:
			ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
			if m.TmpfsSize > 0 {
				ed.SizeLimit = resource.NewQuantity(m.TmpfsSize, resource.BinarySI)
			}
			if m.TmpfsOptions != "" {
				c.warnf(s.Name, "tmpfs %s: options %s are not carried over", m.Target, m.TmpfsOptions)
			}
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{EmptyDir: ed}})
		case compose.MountBind:
			src, ok := c.bind(s, m, i, content)
			if !ok {
				continue
			}
			mount.Name = src.name
			mount.SubPath = src.subPath
			mount.ReadOnly = true
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: src.name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: src.name}}}})
		default:
			c.refusef(s.Name, "volumes %s:%s: an image mount cannot be carried to a cluster; remove it, or copy the files into the service's image", m.Source, m.Target)
			continue
		}
		ctr.VolumeMounts = append(ctr.VolumeMounts, mount)
	}
}

// volumeKey is the key in the file of the named volume called name.
func (c *converter) volumeKey(name string) string {
	for k, v := range c.p.Volumes {
		if v.Name == name {
			return k
		}
	}
	return name
}

type bindSource struct{ name, subPath string }

// bind carries a read-only bind mount of files under the project
// directory as a ConfigMap; anything else of the host is refused.
func (c *converter) bind(s *compose.Service, m compose.Mount, i int, content io.Writer) (bindSource, bool) {
	refuse := func(why string) (bindSource, bool) {
		c.refusef(s.Name, "volumes %s:%s: %s; use a named volume, or a read-only bind of project files (carried as a ConfigMap)", m.Source, m.Target, why)
		return bindSource{}, false
	}
	rel, err := filepath.Rel(c.p.WorkingDir, m.Source)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return refuse("a host path outside the project is not on the cluster's nodes")
	}
	fi, err := os.Stat(m.Source)
	if err != nil {
		return refuse(fmt.Sprintf("cannot read it (%v)", err))
	}
	if !m.ReadOnly {
		if fi.IsDir() {
			return refuse("a writable bind mount of a directory cannot be carried to a cluster (what the service writes there would be lost)")
		}
		// Short-syntax binds are writable unless :ro, and a script or a
		// configuration file bound so is seldom written to.
		c.warnf(s.Name, "volumes %s:%s: the file is mounted read-only on the cluster (add :ro to say so)", rel, m.Target)
	}
	files := map[string]string{}
	var sub string
	if fi.IsDir() {
		entries, err := os.ReadDir(m.Source)
		if err != nil {
			return refuse(fmt.Sprintf("cannot read it (%v)", err))
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				return refuse(fmt.Sprintf("%s is not a regular file (only a directory of files is carried)", e.Name()))
			}
			files[e.Name()] = filepath.Join(m.Source, e.Name())
		}
	} else if fi.Mode().IsRegular() {
		sub = filepath.Base(m.Source)
		files[sub] = m.Source
	} else {
		return refuse("not a regular file or directory")
	}
	name := fmt.Sprintf("%s-files-%d", dnsLabel(s.Name), i)
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: c.meta(name, s.Name),
	}
	total := 0
	for _, key := range slices.Sorted(maps.Keys(files)) {
		if !validConfigKey(key) {
			return refuse(fmt.Sprintf("file name %q cannot be a ConfigMap key", key))
		}
		b, err := os.ReadFile(files[key])
		if err != nil {
			return refuse(fmt.Sprintf("cannot read it (%v)", err))
		}
		if total += len(b); total > maxBindBytes {
			return refuse(fmt.Sprintf("more than %d KiB of files", maxBindBytes>>10))
		}
		putData(cm, key, b)
	}
	hashData(content, name, cm.Data)
	hashBinary(content, cm.BinaryData)
	c.warnf(s.Name, "volumes %s:%s: the files are copied into ConfigMap %s; convert again after changing them", rel, m.Target, name)
	c.objects = append(c.objects, cm)
	return bindSource{name: name, subPath: sub}, true
}

func putData(cm *corev1.ConfigMap, key string, b []byte) {
	if utf8.Valid(b) {
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = string(b)
		return
	}
	if cm.BinaryData == nil {
		cm.BinaryData = map[string][]byte{}
	}
	cm.BinaryData[key] = b
}

func hashBinary(h io.Writer, data map[string][]byte) {
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%s\x00%d\x00", k, len(data[k]))
		h.Write(data[k])
	}
}

// files maps secrets and configs: each top-level secret is a Secret and
// each config a ConfigMap, made once, mounted at the service's target.
func (c *converter) files(s *compose.Service, spec *corev1.PodSpec, ctr *corev1.Container, content io.Writer) {
	for _, f := range s.Files {
		data := []byte(f.Content)
		if f.File != "" {
			b, err := os.ReadFile(f.File)
			if err != nil {
				c.refusef(s.Name, "%ss %s: cannot read %s (%v); fix the file: path", f.Kind, f.Name, f.File, err)
				continue
			}
			data = b
		}
		name := f.Kind + "-" + strings.TrimPrefix(dnsLabel(f.Name), "x-")
		if f.UID >= 0 || f.GID >= 0 {
			c.warnf(s.Name, "%ss %s: uid and gid are not carried over; the file belongs to root", f.Kind, f.Name)
		}
		mode := int32(0o444)
		if f.Mode >= 0 {
			mode = int32(f.Mode)
		}
		items := []corev1.KeyToPath{{Key: "content", Path: "content", Mode: &mode}}
		vol := corev1.Volume{Name: name}
		if f.Kind == "secret" {
			c.addOnce("Secret", name, &corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: c.meta(name, ""),
				Type:       corev1.SecretTypeOpaque,
				Data:       map[string][]byte{"content": data},
			})
			vol.Secret = &corev1.SecretVolumeSource{SecretName: name, Items: items}
		} else {
			cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: c.meta(name, "")}
			putData(cm, "content", data)
			c.addOnce("ConfigMap", name, cm)
			vol.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Items: items}
		}
		hashBinary(content, map[string][]byte{name: data})
		if !hasVolume(spec, name) {
			spec.Volumes = append(spec.Volumes, vol)
		}
		ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: f.Target, SubPath: "content", ReadOnly: true})
	}
}

// addOnce adds obj unless an object of its kind and name is there (a
// secret or config several services use).
func (c *converter) addOnce(kind, name string, obj runtime.Object) {
	key := kind + "/" + name
	if c.added[key] {
		return
	}
	c.added[key] = true
	c.objects = append(c.objects, obj)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasVolume(spec *corev1.PodSpec, name string) bool {
	for _, v := range spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}
