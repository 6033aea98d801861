package compose

import (
	"strings"
	"testing"
)

func TestVolumeLocal(t *testing.T) {
	tests := []struct {
		name    string
		v       Volume
		want    LocalVolume
		wantErr string
	}{
		{"plain", Volume{Name: "p_data"}, LocalVolume{}, ""},
		{"local driver", Volume{Name: "p_data", Driver: "local"}, LocalVolume{}, ""},
		{"bind", Volume{Name: "p_data", DriverOpts: map[string]string{"type": "none", "o": "bind", "device": "/srv/data/"}}, LocalVolume{Bind: "/srv/data"}, ""},
		{"rbind among others", Volume{Name: "p_data", DriverOpts: map[string]string{"type": "none", "o": "rw, rbind", "device": "/srv/data"}}, LocalVolume{Bind: "/srv/data"}, ""},
		{"tmpfs", Volume{Name: "p_cache", DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"}}, LocalVolume{Tmpfs: true, TmpfsOptions: []string{"size=100m", "uid=1000"}}, ""},
		{"relative device", Volume{Name: "p_data", DriverOpts: map[string]string{"type": "none", "o": "bind", "device": "./data"}}, LocalVolume{}, `device "./data" must be an absolute host path`},
		{"nfs", Volume{Name: "p_nfs", DriverOpts: map[string]string{"type": "nfs", "o": "addr=10.0.0.1", "device": ":/export"}}, LocalVolume{}, `driver_opts type "nfs" (o "addr=10.0.0.1") is not supported yet`},
		{"other driver", Volume{Name: "p_x", Driver: "rexray"}, LocalVolume{}, `driver "rexray" is not supported`},
		{"unknown key", Volume{Name: "p_x", DriverOpts: map[string]string{"size": "1g"}}, LocalVolume{}, `driver_opts key "size"`},
	}
	for _, tt := range tests {
		got, err := tt.v.Local()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Bind != tt.want.Bind || got.Tmpfs != tt.want.Tmpfs || strings.Join(got.TmpfsOptions, ",") != strings.Join(tt.want.TmpfsOptions, ",") {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

func TestParseVolumes(t *testing.T) {
	p := &Project{Name: "p", WorkingDir: "/proj", Volumes: map[string]Volume{"data": {Name: "p_data"}}}
	tests := []struct {
		spec    string
		want    Mount
		wantErr string
	}{
		{"./src:/src:ro", Mount{Type: MountBind, Source: "/proj/src", Target: "/src", ReadOnly: true, CreateHostPath: true}, ""},
		{"/abs:/x", Mount{Type: MountBind, Source: "/abs", Target: "/x", CreateHostPath: true}, ""},
		{"data:/var/lib/data", Mount{Type: MountVolume, Source: "p_data", Target: "/var/lib/data"}, ""},
		{"other:/x", Mount{Type: MountVolume, Source: "p_other", Target: "/x"}, ""},
		{"/only-target", Mount{}, "anonymous volumes are not supported yet"},
	}
	for _, tt := range tests {
		got, err := ParseVolumes(p, []string{tt.spec})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.spec, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}
