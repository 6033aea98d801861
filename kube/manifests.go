package kube

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// toUnstructured converts a typed object, leaving out what only the
// server fills in (status, creationTimestamp: null), so the YAML reads as
// written by hand.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %T: %w", obj, err)
	}
	delete(m, "status")
	if spec, ok := m["spec"].(map[string]any); ok {
		if vcts, ok := spec["volumeClaimTemplates"].([]any); ok {
			for _, v := range vcts {
				if vm, ok := v.(map[string]any); ok {
					delete(vm, "status")
				}
			}
		}
	}
	dropNil(m)
	return &unstructured.Unstructured{Object: m}, nil
}

// dropNil removes nil values (creationTimestamp: null) from m, deeply.
func dropNil(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x == nil {
				delete(t, k)
				continue
			}
			dropNil(x)
		}
	case []any:
		for _, x := range t {
			dropNil(x)
		}
	}
}

// FileName is the file WriteDir writes obj to: <kind>-<name>.yaml.
func FileName(obj *unstructured.Unstructured) string {
	return strings.ToLower(obj.GetKind()) + "-" + obj.GetName() + ".yaml"
}

// YAML is every object as one multi-document stream, in apply order. The
// same project gives the same bytes: keys are sorted, lists keep their
// order, and nothing depends on time or map order.
func (m *Manifests) YAML() ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range m.Objects {
		b, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, fmt.Errorf("render %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// Kustomization is the kustomization.yaml that lists the objects' files
// in apply order.
func (m *Manifests) Kustomization() []byte {
	var b strings.Builder
	b.WriteString(kustomizationHeader)
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, obj := range m.Objects {
		fmt.Fprintf(&b, "- %s\n", FileName(obj))
	}
	return []byte(b.String())
}

// kustomizationHeader begins the kustomization.yaml berth writes: a
// later WriteDir into the same directory knows by it that the files the
// kustomization lists are berth's to replace.
const kustomizationHeader = "# Written by berth convert kubernetes: the files listed here are replaced (and\n" +
	"# removed when their object goes) by the next conversion into this directory.\n"

// WriteDir writes one file per object and kustomization.yaml into dir,
// made if missing (`kubectl apply -k dir`). A failure half-way removes
// the files it wrote. Files that an earlier WriteDir into dir listed in
// its kustomization and this one does not (a service since removed) are
// removed, so that `kubectl apply -f dir` does not bring them back; no
// other file in dir is touched.
func (m *Manifests) WriteDir(dir string) (retErr error) {
	made := false
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		made = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	earlier := listedFiles(filepath.Join(dir, "kustomization.yaml"))
	var written []string
	defer func() {
		if retErr == nil {
			return
		}
		for _, f := range written {
			os.Remove(f)
		}
		if made {
			os.Remove(dir)
		}
	}()
	write := func(name string, b []byte) error {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		written = append(written, path)
		return nil
	}
	current := map[string]bool{}
	for _, obj := range m.Objects {
		b, err := yaml.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("render %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if err := write(FileName(obj), b); err != nil {
			return err
		}
		current[FileName(obj)] = true
	}
	if err := write("kustomization.yaml", m.Kustomization()); err != nil {
		return err
	}
	for _, f := range earlier {
		if current[f] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s, which an earlier conversion wrote: %w", filepath.Join(dir, f), err)
		}
	}
	return nil
}

// listedFiles are the files a kustomization.yaml that berth wrote lists:
// plain names of YAML files in its directory. A kustomization someone
// else wrote (no berth header), or none, lists nothing berth may remove.
func listedFiles(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte(kustomizationHeader)) {
		return nil
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if yaml.Unmarshal(b, &k) != nil {
		return nil
	}
	var out []string
	for _, r := range k.Resources {
		if r == filepath.Base(r) && r != "kustomization.yaml" && strings.HasSuffix(r, ".yaml") {
			out = append(out, r)
		}
	}
	return out
}
