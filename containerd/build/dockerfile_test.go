package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeDockerfile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseDockerfile(t *testing.T) {
	p := writeDockerfile(t, `ARG BASE=busybox
FROM ${BASE} AS build
RUN echo hi > /out
FROM busybox
COPY --from=build --chown=1:1 /out /out
CMD ["cat", "/out"]
`)
	df, err := ParseDockerfile(p)
	if err != nil {
		t.Fatalf("ParseDockerfile: %v", err)
	}
	if len(df.Stages) != 2 || df.Stages[0].Name != "build" || len(df.MetaArgs) != 1 {
		t.Errorf("stages = %d (first %q), meta args = %d", len(df.Stages), df.Stages[0].Name, len(df.MetaArgs))
	}
}

func TestParseDockerfileRefusals(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"run mount without target", "FROM busybox\nRUN true\nRUN --mount=type=tmpfs true\n", "Dockerfile:3: RUN --mount=type=tmpfs: no target: give target=PATH"},
		{"run mount over root", "FROM busybox\nRUN --mount=type=cache,target=/ true\n", "Dockerfile:2: RUN --mount=type=cache,target=/: cannot mount over the root directory"},
		{"tmpfs from", "FROM busybox\nRUN --mount=type=tmpfs,target=/t,source=x true\n", "Dockerfile:2: RUN --mount=type=tmpfs,target=/t: a tmpfs takes no from or source"},
		{"add keep-git-dir", "FROM busybox\nADD --keep-git-dir=true https://example.invalid/x.git /x\n", "Dockerfile:2: ADD --keep-git-dir is not supported by berth's builder yet"},
		{"no from", "RUN true\n", "Dockerfile"},
		{"unknown instruction", "FROM busybox\nFROBNICATE x\n", "Dockerfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDockerfile(writeDockerfile(t, tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseDockerfile error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStepKey(t *testing.T) {
	base := StepKey("parent", "COPY . /app", "h1")
	for name, k := range map[string]string{
		"parent":      StepKey("other", "COPY . /app", "h1"),
		"instruction": StepKey("parent", "COPY . /srv", "h1"),
		"content":     StepKey("parent", "COPY . /app", "h2"),
	} {
		if k == base {
			t.Errorf("a different %s gave the same key", name)
		}
	}
	if StepKey("parent", "COPY . /app", "h1") != base {
		t.Errorf("the same step gave another key")
	}
}
