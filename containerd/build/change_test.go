package build

import (
	"reflect"
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	base := dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
		Env: []string{"PATH=/bin", "HOME=/root"}, Cmd: []string{"sh"}, Entrypoint: nil,
	}}
	tests := []struct {
		name    string
		changes []string
		check   func(c dockerspec.DockerOCIImageConfig) bool
		wantErr string
	}{
		{"env", []string{"ENV DEBUG=true", "ENV HOME=/home/app"}, func(c dockerspec.DockerOCIImageConfig) bool {
			return reflect.DeepEqual(c.Env, []string{"PATH=/bin", "HOME=/home/app", "DEBUG=true"})
		}, ""},
		{"cmd exec and shell form", []string{`CMD ["echo", "hi"]`}, func(c dockerspec.DockerOCIImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"echo", "hi"})
		}, ""},
		{"entrypoint drops cmd", []string{"ENTRYPOINT top -b"}, func(c dockerspec.DockerOCIImageConfig) bool {
			return reflect.DeepEqual(c.Entrypoint, []string{"/bin/sh", "-c", "top -b"}) && c.Cmd == nil
		}, ""},
		{"expose, label, user, workdir with a variable", []string{"EXPOSE 8080", "LABEL a=b", "USER app", "WORKDIR $HOME/x"}, func(c dockerspec.DockerOCIImageConfig) bool {
			_, exposed := c.ExposedPorts["8080/tcp"]
			return exposed && c.Labels["a"] == "b" && c.User == "app" && c.WorkingDir == "/root/x"
		}, ""},
		{"run refused", []string{"RUN rm -rf /"}, nil, "RUN cannot be applied to an image"},
		{"two instructions", []string{"ENV A=1\nENV B=2"}, nil, "one Dockerfile instruction per --change"},
		{"bad expose", []string{"EXPOSE 99999"}, nil, "EXPOSE 99999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ApplyChanges(base, tt.changes)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ApplyChanges(%q) = %v, want an error containing %q", tt.changes, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyChanges(%q) = %v", tt.changes, err)
			}
			if !tt.check(got) {
				t.Errorf("ApplyChanges(%q) = %+v", tt.changes, got)
			}
		})
	}
	if !reflect.DeepEqual(base.Env, []string{"PATH=/bin", "HOME=/root"}) {
		t.Errorf("ApplyChanges changed its argument: %v", base.Env)
	}
}
