package kube

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth/berth/compose"
)

// compatDir finds the compose conformance corpus (../shared/compat next to
// the repository, or $BERTH_COMPAT_DIR).
func compatDir(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("BERTH_COMPAT_DIR"), "../../shared/compat", "../../../shared/compat"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c, "manifest.json")); err == nil {
			return c
		}
	}
	t.Skip("no compose conformance corpus (set BERTH_COMPAT_DIR to ../shared/compat)")
	return ""
}

type compatSample struct {
	Source string            `json:"source"`
	ID     string            `json:"id"`
	Files  []string          `json:"files"`
	Args   []string          `json:"args"`
	Env    map[string]string `json:"env"`
	Skip   any               `json:"skip"`
}

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
	dir := compatDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct{ Samples []compatSample }
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	var loaded, converted, refused int
	reasons := map[string]int{}
	for _, s := range manifest.Samples {
		if s.Skip != nil {
			continue
		}
		corpus := filepath.Join(dir, "corpus", s.Source)
		opts := compose.Options{
			ProjectDir: filepath.Dir(filepath.Join(corpus, s.Files[0])),
			Environ:    []string{"HOME=/nonexistent/compat-home", "LANG=C.UTF-8"},
		}
		for k, v := range s.Env {
			opts.Environ = append(opts.Environ, k+"="+v)
		}
		for _, f := range s.Files {
			opts.Files = append(opts.Files, filepath.Join(corpus, f))
		}
		args := s.Args
		for len(args) > 1 {
			switch args[0] {
			case "--profile":
				opts.Profiles = append(opts.Profiles, args[1])
			case "-p", "--project-name":
				opts.ProjectName = args[1]
			case "--env-file":
				opts.EnvFiles = append(opts.EnvFiles, filepath.Join(opts.ProjectDir, args[1]))
			}
			args = args[2:]
		}
		p, err := compose.Load(context.Background(), opts)
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
