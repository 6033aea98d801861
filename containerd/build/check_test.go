package build

import (
	"strconv"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		want             []string // rule@line
	}{
		{"clean", "FROM scratch AS base\nCMD [\"true\"]\n", nil},
		{"casing", "FROM scratch as base\nCMD [\"true\"]\n", []string{"FromAsCasing@1"}},
		{"json args", "FROM scratch\nCMD echo hi\n", []string{"JSONArgsRecommended@2"}},
		{"maintainer", "FROM scratch\nMAINTAINER me\nCMD [\"true\"]\n", []string{"MaintainerDeprecated@2"}},
		{"legacy env", "FROM scratch\nENV A b\nCMD [\"true\"]\n", []string{"LegacyKeyValueFormat@2"}},
		{"relative workdir", "FROM scratch\nWORKDIR app\nWORKDIR sub\nCMD [\"true\"]\n", []string{"WorkdirRelativePath@2"}},
		{"twice", "FROM scratch\nCMD [\"a\"]\nCMD [\"b\"]\n", []string{"MultipleInstructionsDisallowed@2"}},
		{"shell set", "FROM scratch\nSHELL [\"/bin/sh\", \"-c\"]\nCMD echo hi\n", nil},
		{"empty continuation", "FROM scratch\nRUN true \\\n\n  && true\nCMD [\"true\"]\n", []string{"NoEmptyContinuation@4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := Request{Inline: tt.dockerfile}.Check()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range ws {
				got = append(got, w.Rule+"@"+itoa(w.Line))
				if w.Path != "dockerfile_inline" || w.Message == "" {
					t.Errorf("warning %+v: want the path and a message", w)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Check(%q) = %v, want %v", tt.dockerfile, got, tt.want)
			}
		})
	}
	if _, err := (Request{Inline: "FROM scratch\nNOPE x\n"}).Check(); err == nil || !strings.Contains(err.Error(), "dockerfile_inline:2") {
		t.Errorf("Check of an unknown instruction: %v, want an error at dockerfile_inline:2", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
