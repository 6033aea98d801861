package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/template"
)

func TestPrintRemoteVariables(t *testing.T) {
	vars := map[string]template.Variable{
		"TAG":  {Name: "TAG", DefaultValue: "1.0"},
		"PORT": {Name: "PORT", Required: true},
		"HOME": {Name: "HOME"},
	}
	env := map[string]string{"HOME": "/root", "TAG": "2.0"}
	var b bytes.Buffer
	printRemoteVariables(&b, vars, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	want := [][]string{
		{"VARIABLE", "VALUE", "SOURCE", "REQUIRED", "DEFAULT"},
		{"HOME", "/root", "environment", "no"},
		{"PORT", "<unset>", "none", "yes"},
		{"TAG", "2.0", "environment", "no", "1.0"},
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")[1:] // after the heading line
	if len(lines) != len(want) {
		t.Fatalf("table:\n%s", b.String())
	}
	for i, l := range lines {
		if got := strings.Join(strings.Fields(l), "|"); got != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, got, strings.Join(want[i], "|"))
		}
	}
}

func TestReadAnswer(t *testing.T) {
	tests := []struct{ in, want, rest string }{
		{"", "", ""},
		{"y\n", "y", ""},
		{" Yes \nmore input\n", "yes", "more input\n"},
		{"n", "n", ""},
	}
	for _, tt := range tests {
		r := strings.NewReader(tt.in)
		got, err := readAnswer(r)
		if err != nil || got != tt.want {
			t.Errorf("readAnswer(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		rest := make([]byte, 64)
		n, _ := r.Read(rest)
		if string(rest[:n]) != tt.rest {
			t.Errorf("readAnswer(%q) left %q unread, want %q (the rest is the command's input)", tt.in, rest[:n], tt.rest)
		}
	}
}
