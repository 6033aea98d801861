package kube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/compose/compattest"
)

// TestConvertCompatCorpus converts every sample of the conformance corpus
// that compose.Load accepts, as the compat runner loads it: each must
// either convert to objects that carry berth's labels and render to YAML,
// or be refused with lines that each name a service and say what to do.
// The counts are logged (go test -v -run TestConvertCompatCorpus ./kube);
// with BERTH_KUBE_DUMP=DIR each converted stream is written to DIR/<id>.yaml.
func TestConvertCompatCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("converts the whole corpus (seconds); not with -short")
	}
	dir := compattest.Dir(t, "..")
	var loaded, converted, refused int
	reasons := map[string]int{}
	for _, s := range compattest.Samples(t, dir) {
		p, err := compose.Load(context.Background(), s.LoadOptions(dir))
		if err != nil {
			continue
		}
		loaded++
		m, err := Convert(p, ConvertOptions{})
		if err != nil {
			refused++
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, `service "`) && !strings.HasPrefix(line, "two ") {
					t.Errorf("%s: refusal %q does not name the service", s.ID, line)
				}
				t.Logf("%s: refused: %s", s.ID, line)
				_, reason, _ := strings.Cut(line, ": ")
				key, _, _ := strings.Cut(reason, " ")
				reasons[key]++
			}
			continue
		}
		converted++
		if y, err := m.YAML(); err != nil {
			t.Errorf("%s: YAML: %v", s.ID, err)
		} else if err := decodeStrict(y); err != nil {
			t.Errorf("%s: %v", s.ID, err)
		} else if dump := os.Getenv("BERTH_KUBE_DUMP"); dump != "" {
			// For checks outside unit tests (an API server's dry run).
			if err := os.WriteFile(filepath.Join(dump, s.ID+".yaml"), y, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, obj := range m.Objects {
			l := obj.GetLabels()
			if l[LabelManagedBy] != ManagedBy || l[LabelPartOf] != p.Name || l[compose.LabelProject] != p.Name {
				t.Errorf("%s: %s %s lacks berth's labels: %v", s.ID, obj.GetKind(), obj.GetName(), l)
			}
			if obj.GetKind() == "Service" && !validLabel(obj.GetName()) {
				t.Errorf("%s: Service name %q is not a DNS label", s.ID, obj.GetName())
			}
			if !validSubdomain(obj.GetName()) {
				t.Errorf("%s: %s name %q is not valid", s.ID, obj.GetKind(), obj.GetName())
			}
		}
	}
	t.Logf("compat corpus: %d samples loaded, %d converted, %d refused; refusals by key: %v", loaded, converted, refused, reasons)
	if loaded == 0 {
		t.Fatal("no sample of the corpus loaded")
	}
}
