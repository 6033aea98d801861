package main

import (
	"strings"
	"testing"
)

func TestAskYesNo(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"y\n", true}, {"YES\n", true}, {" yes \n", true}, {"n\n", false}, {"\n", false}, {"", false}, {"yess\n", false}, {"y", true},
	} {
		var out strings.Builder
		got, err := askYesNo(&out, strings.NewReader(tt.in), "Recreate?")
		if err != nil {
			t.Errorf("askYesNo(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("askYesNo(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if !strings.HasPrefix(out.String(), "Recreate? [y/N] ") {
			t.Errorf("askYesNo(%q) asked %q", tt.in, out.String())
		}
	}
}

func TestConfirmerAssumeYes(t *testing.T) {
	g := &globalOptions{assumeYes: true}
	ask := g.confirmer(nil)
	if ask == nil {
		t.Fatal("confirmer with -y = nil, want one that says yes")
	}
	if yes, err := ask("Recreate?"); !yes || err != nil {
		t.Errorf("confirmer with -y answered %v, %v", yes, err)
	}
}
