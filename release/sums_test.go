package release

import (
	"strings"
	"testing"
)

const (
	sumA = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	sumB = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func TestParseSums(t *testing.T) {
	good := sumA + "  a.tar.gz\n" + sumB + " *b/c\n\n"
	s, err := ParseSums("SHA256SUMS", strings.NewReader(good))
	if err != nil {
		t.Fatalf("ParseSums(%q): %v", good, err)
	}
	if s["a.tar.gz"] != sumA || s["b/c"] != sumB || len(s) != 2 {
		t.Errorf("ParseSums(%q) = %v", good, s)
	}
	if got, want := string(s.Format()), sumA+"  a.tar.gz\n"+sumB+"  b/c\n"; got != want {
		t.Errorf("Format() = %q, want %q", got, want)
	}
	bad := map[string]string{
		"short sum":  "abc  a\n",
		"no name":    sumA + "\n",
		"not hex":    strings.Repeat("z", 64) + "  a\n",
		"twice":      sumA + "  a\n" + sumB + "  a\n",
		"empty name": sumA + "  \n",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseSums("SHA256SUMS", strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "SHA256SUMS:") {
				t.Errorf("ParseSums(%q) = %v, want an error naming the file and line", in, err)
			}
		})
	}
}

func TestSumsCheck(t *testing.T) {
	s := Sums{"a": sumA}
	tests := []struct {
		name, file, sum, wantErr string
	}{
		{"match", "a", sumA, ""},
		{"mismatch", "a", sumB, "a: checksum mismatch (SHA256SUMS says ba7816bf8f01…, the file has e3b0c44298fc…)"},
		{"unlisted", "b", sumA, "b is not listed in SHA256SUMS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Check(tt.file, tt.sum)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Check(%q, %q) = %v, want %q", tt.file, tt.sum, err, tt.wantErr)
			}
		})
	}
}
