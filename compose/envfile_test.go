package compose

import (
	"maps"
	"strings"
	"testing"
)

func TestParseRawEnvFile(t *testing.T) {
	env := map[string]string{"FROM_HOST": "host-value"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{"verbatim values", "A=\"quoted\" $X\nB=  spaced ", map[string]string{"A": `"quoted" $X`, "B": "  spaced "}, ""},
		{"comments and blanks", "# c\n\n  C=1\n", map[string]string{"C": "1"}, ""},
		{"bare key from environment", "FROM_HOST\nUNSET\n", map[string]string{"FROM_HOST": "host-value"}, ""},
		{"empty value", "E=\n", map[string]string{"E": ""}, ""},
		{"whitespace in key", "BAD KEY=1\n", nil, `line 1: variable "BAD KEY" contains whitespace`},
		{"no key", "=1\n", nil, "line 1: no variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			err := parseRawEnvFile(strings.NewReader(tt.in), "x.env", got, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRawEnvFile(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRawEnvFile(%q): %v", tt.in, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("parseRawEnvFile(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseEnvArgs(t *testing.T) {
	env := map[string]string{"FROM_HOST": "host-value", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name    string
		in      []string
		want    map[string]string
		wantErr string
	}{
		{"none", nil, map[string]string{}, ""},
		{"values", []string{"A=1", "B=x=y", "C="}, map[string]string{"A": "1", "B": "x=y", "C": ""}, ""},
		{"bare key from environment", []string{"FROM_HOST", "EMPTY", "UNSET"}, map[string]string{"FROM_HOST": "host-value", "EMPTY": ""}, ""},
		{"later wins", []string{"A=1", "A=2"}, map[string]string{"A": "2"}, ""},
		{"no key", []string{"=1"}, nil, `-e "=1": give KEY=VALUE or KEY`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvArgs("-e", tt.in, lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseEnvArgs(%q) = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("ParseEnvArgs(%q) = %v, %v, want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestEnvList(t *testing.T) {
	got := strings.Join(EnvList(map[string]string{"B": "2", "A": "x=y", "C": ""}), " ")
	if want := "A=x=y B=2 C="; got != want {
		t.Errorf("EnvList = %q, want %q", got, want)
	}
}
