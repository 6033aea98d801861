package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadTestdata(t *testing.T, opts Options) (*Project, error) {
	t.Helper()
	return Load(context.Background(), opts)
}

func TestLoadBasic(t *testing.T) {
	dir, _ := filepath.Abs("testdata/basic")
	p, err := loadTestdata(t, Options{ProjectDir: dir, Files: []string{filepath.Join(dir, "compose.yaml"), filepath.Join(dir, "compose.override.yaml")}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if p.Name != "demo" {
		t.Errorf("Name = %q, want demo", p.Name)
	}
	if got, want := strings.Join(p.ServiceNames(), ","), "api,db,web"; got != want {
		t.Errorf("ServiceNames = %q, want %q (debug is behind a profile)", got, want)
	}
	if got := strings.Join(p.DisabledServices, ","); got != "debug" {
		t.Errorf("DisabledServices = %q, want debug", got)
	}

	api := p.Service("api")
	if api.Replicas != 2 {
		t.Errorf("api.Replicas = %d, want 2", api.Replicas)
	}
	if api.Entrypoint == nil || len(api.Entrypoint) != 0 {
		t.Errorf("api.Entrypoint = %#v, want empty non-nil (entrypoint: [] clears the image's)", api.Entrypoint)
	}
	if got, want := strings.Join(api.Command, " "), "sh -c echo hello-dotenv"; got != want {
		t.Errorf("api.Command = %q, want %q (.env interpolation)", got, want)
	}
	if v := api.Environment["FROM_FILE"]; v == nil || *v != "1" {
		t.Errorf("api env FROM_FILE = %v, want 1 (env_file merged)", v)
	}
	if dep := api.DependsOn["db"]; dep.Condition != ConditionHealthy || !dep.Restart || !dep.Required {
		t.Errorf("api depends_on db = %+v, want healthy, restart, required", dep)
	}

	db := p.Service("db")
	if v := db.Environment["EXTRA"]; v == nil || *v != "from-override" {
		t.Errorf("db env EXTRA = %v, want from-override (override file merged)", v)
	}
	if db.GracePeriod().String() != "3s" {
		t.Errorf("db.GracePeriod = %v, want 3s", db.GracePeriod())
	}
	if db.PullPolicy != PullMissing {
		t.Errorf("db.PullPolicy = %q, want missing", db.PullPolicy)
	}

	web := p.Service("web")
	if !web.HasBuild || web.PullPolicy != PullBuild || web.ImageName() != "demo-web" {
		t.Errorf("web: HasBuild=%v PullPolicy=%q ImageName=%q, want true, build, demo-web", web.HasBuild, web.PullPolicy, web.ImageName())
	}
	if web.NetworkMode != "service:api" {
		t.Errorf("web.NetworkMode = %q", web.NetworkMode)
	}
	if web.ContainerNameFor(1) != "demo-web-1" {
		t.Errorf("web.ContainerNameFor(1) = %q, want demo-web-1", web.ContainerNameFor(1))
	}
	for _, s := range p.Services {
		if len(s.ConfigHash) != 64 {
			t.Errorf("%s.ConfigHash = %q, want a sha256", s.Name, s.ConfigHash)
		}
	}
}

func TestLoadProfilesAndEnv(t *testing.T) {
	dir, _ := filepath.Abs("testdata/basic")
	file := filepath.Join(dir, "compose.yaml")
	tests := []struct {
		name    string
		opts    Options
		want    string
		command string
	}{
		{"profile flag", Options{Files: []string{file}, Profiles: []string{"debug"}}, "api,db,debug,web", "sh -c echo hello-dotenv"},
		{"COMPOSE_PROFILES", Options{Files: []string{file}, Environ: []string{"COMPOSE_PROFILES=debug"}}, "api,db,debug,web", "sh -c echo hello-dotenv"},
		{"environment wins over .env", Options{Files: []string{file}, Environ: []string{"GREETING=from-env"}}, "api,db,web", "sh -c echo from-env"},
		{"COMPOSE_FILE", Options{ProjectDir: dir, Environ: []string{"COMPOSE_FILE=" + file}}, "api,db,web", "sh -c echo hello-dotenv"},
		{"services subset", Options{Files: []string{file}, Services: []string{"api"}}, "api,db", "sh -c echo hello-dotenv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := loadTestdata(t, tt.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := strings.Join(p.ServiceNames(), ","); got != tt.want {
				t.Errorf("ServiceNames = %q, want %q", got, tt.want)
			}
			if got := strings.Join(p.Service("api").Command, " "); got != tt.command {
				t.Errorf("api.Command = %q, want %q", got, tt.command)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the one-line error
	}{
		{"bad-yaml.yaml", []string{"bad-yaml.yaml", "yaml"}},
		{"unknown-key.yaml", []string{"unknown-key.yaml", "colour"}},
		{"missing-var.yaml", []string{"missing-var.yaml", "MUST", "set MUST first"}},
		{"unknown-dep.yaml", []string{"unknown-dep.yaml", `"nope"`}},
		{"bad-port.yaml", []string{"bad-port.yaml", "80:80"}},
		{"cycle.yaml", []string{"cycle.yaml", "a -> b -> a"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := loadTestdata(t, Options{Files: []string{filepath.Join("testdata/errors", tt.file)}})
			if err == nil {
				t.Fatalf("Load(%s) = nil error, want one", tt.file)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error has several lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Load(%s) error = %q, want it to mention %q", tt.file, msg, w)
				}
			}
		})
	}
}

func TestLoadNoConfig(t *testing.T) {
	_, err := loadTestdata(t, Options{ProjectDir: t.TempDir()})
	if !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Load in an empty dir = %v, want ErrNoConfig", err)
	}
}

func TestUnsupportedKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	content := `services:
  plain:
    image: busybox
    deploy: {replicas: 2}
  full:
    image: busybox
    ports: ["80"]
    volumes: ["data:/data", "/anonymous"]
    healthcheck: {test: ["CMD", "true"]}
    deploy: {resources: {limits: {memory: 64m}}, placement: {constraints: ["node.role==manager"]}}
    networks: [default, other]
networks:
  other: {}
volumes:
  data: {}
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), Options{Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Service("plain").Unsupported; len(got) != 0 {
		t.Errorf("plain.Unsupported = %v, want none", got)
	}
	if got, want := strings.Join(p.Service("full").Unsupported, ","), "deploy"; got != want { // anonymous volumes are supported
		t.Errorf("full.Unsupported = %s, want %s", got, want)
	}
	if _, err := Load(context.Background(), Options{Files: []string{file}, Services: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `no such service: nope`) {
		t.Errorf("Load with an unknown service = %v", err)
	}
}

func TestMounts(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	content := `name: demo
services:
  app:
    image: busybox
    volumes:
      - data:/data
      - ./src:/src:ro
      - type: bind
        source: ./strict
        target: /strict
      - type: tmpfs
        target: /cache
        tmpfs: {size: 1m}
      - shared:/shared
      - /anon
      - type: volume
        target: /anon-nocopy
        read_only: true
        volume: {nocopy: true}
    tmpfs: [/run]
volumes:
  data: {}
  shared:
    external: true
    name: team-shared
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), Options{Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	app := p.Service("app")
	if len(app.Unsupported) != 0 {
		t.Errorf("Unsupported = %v, want none", app.Unsupported)
	}
	want := []Mount{
		{Type: MountVolume, Source: "demo_data", Target: "/data"},
		{Type: MountBind, Source: filepath.Join(dir, "src"), Target: "/src", ReadOnly: true, CreateHostPath: true},
		{Type: MountBind, Source: filepath.Join(dir, "strict"), Target: "/strict"},
		{Type: MountTmpfs, Target: "/cache", TmpfsSize: 1 << 20},
		{Type: MountVolume, Source: "team-shared", Target: "/shared", External: true},
		{Type: MountVolume, Target: "/anon", Anonymous: true},
		{Type: MountVolume, Target: "/anon-nocopy", Anonymous: true, ReadOnly: true, NoCopy: true},
		{Type: MountTmpfs, Target: "/run"},
	}
	if len(app.Mounts) != len(want) {
		t.Fatalf("Mounts = %+v, want %+v", app.Mounts, want)
	}
	for i := range want {
		if app.Mounts[i] != want[i] {
			t.Errorf("Mounts[%d] = %+v, want %+v", i, app.Mounts[i], want[i])
		}
	}
}

func TestNetworks(t *testing.T) {
	load := func(t *testing.T, content string) (*Project, error) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "compose.yaml")
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load(context.Background(), Options{Files: []string{file}})
	}
	p, err := load(t, `name: demo
services:
  plain:
    image: busybox
  multi:
    image: busybox
    networks:
      back:
        aliases: [db-alias]
        ipv4_address: 172.28.5.10
        mac_address: 02:42:ac:1c:05:0a
      front:
        priority: 10
  hostnet:
    image: busybox
    network_mode: host
networks:
  front: {}
  back:
    internal: true
    ipam:
      config:
        - subnet: 172.28.5.0/24
          gateway: 172.28.5.254
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Service("plain").Networks; len(got) != 1 || got[0].Key != "default" || got[0].Name != "demo_default" {
		t.Errorf("plain.Networks = %+v, want the implicit demo_default", got)
	}
	multi := p.Service("multi").Networks
	if len(multi) != 2 || multi[0].Key != "front" || multi[1].Key != "back" {
		t.Fatalf("multi.Networks = %+v, want front (priority 10) before back", multi)
	}
	if b := multi[1]; b.IPv4Address.String() != "172.28.5.10" || b.MACAddress != "02:42:ac:1c:05:0a" || len(b.Aliases) != 1 {
		t.Errorf("multi's back network = %+v", b)
	}
	if got := p.Service("hostnet").Networks; len(got) != 0 {
		t.Errorf("hostnet.Networks = %+v, want none (network_mode: host)", got)
	}
	back := p.Networks["back"]
	if back.Name != "demo_back" || !back.Internal || back.Subnet.String() != "172.28.5.0/24" || back.Gateway.String() != "172.28.5.254" {
		t.Errorf("network back = %+v", back)
	}

	refusals := []struct{ networks, want string }{
		{"n: {driver: overlay}", `driver "overlay" is not supported`},
		{"n: {enable_ipv6: true}", "enable_ipv6 is not supported yet"},
		{"n: {ipam: {config: [{subnet: 10.1.0.0/16, ip_range: 10.1.5.0/24}]}}", "ip_range"},
		{"n: {ipam: {config: [{subnet: 10.1.0.0/16, gateway: 10.2.0.1}]}}", "gateway"},
	}
	for _, tt := range refusals {
		_, err := load(t, "services:\n  a:\n    image: busybox\n    networks: [n]\nnetworks:\n  "+tt.networks+"\n")
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `network "n"`) {
			t.Errorf("networks %s: error %v, want %q naming the network", tt.networks, err, tt.want)
		}
	}
}

func TestPorts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	os.WriteFile(file, []byte(`services:
  a:
    image: busybox
    ports: ["80", "8080:80", "127.0.0.1:9000-9002:90", "5353:53/udp", "7000-7001:7000-7001", "[::]:81:81"]
`), 0o644)
	p, err := Load(context.Background(), Options{Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range p.Service("a").Ports {
		got = append(got, m.String())
	}
	want := "80/tcp 8080:80/tcp 127.0.0.1:9000-9002:90/tcp 5353:53/udp 7000:7000/tcp 7001:7001/tcp 81:81/tcp"
	if strings.Join(got, " ") != want {
		t.Errorf("ports = %s, want %s", strings.Join(got, " "), want)
	}
	for _, tt := range []struct{ ports, want string }{
		{`["1.2.3.4:80:80/sctp"]`, "only tcp and udp"},
		{`["[fe80::1]:80:80"]`, "IPv6 addresses are not supported yet"},
	} {
		os.WriteFile(file, []byte("services:\n  a:\n    image: busybox\n    ports: "+tt.ports+"\n"), 0o644)
		if _, err := Load(context.Background(), Options{Files: []string{file}}); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `service "a"`) {
			t.Errorf("ports %s: %v, want %q naming the service", tt.ports, err, tt.want)
		}
	}
}

func TestRestartAndHealthcheck(t *testing.T) {
	tests := []struct {
		name, service string
		want          RestartPolicy
		wantErr       string
	}{
		{"none", "image: x", RestartPolicy{Condition: RestartNo}, ""},
		{"always", "image: x\n    restart: always", RestartPolicy{Condition: RestartAlways}, ""},
		{"on-failure:3", "image: x\n    restart: on-failure:3", RestartPolicy{Condition: RestartOnFailure, MaxAttempts: 3}, ""},
		{"deploy wins", "image: x\n    restart: always\n    deploy:\n      restart_policy: {condition: on-failure, max_attempts: 2, delay: 5s, window: 1m}",
			RestartPolicy{Condition: RestartOnFailure, MaxAttempts: 2, Delay: 5 * time.Second, Window: time.Minute}, ""},
		{"deploy any", "image: x\n    deploy:\n      restart_policy: {condition: any}", RestartPolicy{Condition: RestartAlways}, ""},
		{"bad max", "image: x\n    restart: on-failure:x", RestartPolicy{}, "the maximum must be a number"},
		{"max on always", "image: x\n    restart: always:3", RestartPolicy{}, "only on-failure takes a maximum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "compose.yaml")
			os.WriteFile(file, []byte("services:\n  s:\n    "+tt.service+"\n"), 0o644)
			p, err := Load(context.Background(), Options{Files: []string{file}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `service "s"`) {
					t.Fatalf("Load = %v, want error %q naming the service", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Service("s").Restart; got != tt.want {
				t.Errorf("Restart = %+v, want %+v", got, tt.want)
			}
		})
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	os.WriteFile(file, []byte("services:\n  s:\n    image: x\n    healthcheck:\n      test: pg_isready\n      interval: 2s\n      retries: 4\n      start_period: 10s\n"), 0o644)
	p, err := Load(context.Background(), Options{Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Service("s").Healthcheck
	if h == nil || strings.Join(h.Test, " ") != "CMD-SHELL pg_isready" || *h.Interval != 2*time.Second || *h.Retries != 4 || *h.StartPeriod != 10*time.Second || h.Timeout != nil {
		t.Errorf("Healthcheck = %+v", h)
	}
}

func TestSecretsAndConfigsModel(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	os.WriteFile(file, []byte(`services:
  s:
    image: x
    secrets: [a, {source: b, target: b.txt, mode: 0400, uid: "7"}]
    configs: [c, {source: c, target: /etc/c.conf}]
secrets:
  a: {file: ./a.txt}
  b: {file: ./b.txt}
configs:
  c: {content: "x = 1"}
`), 0o644)
	p, err := Load(context.Background(), Options{Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range p.Service("s").Files {
		got = append(got, fmt.Sprintf("%s %s %s file=%s mode=%o uid=%d", f.Kind, f.Name, f.Target, strings.TrimPrefix(f.File, dir), f.Mode, f.UID))
	}
	want := []string{
		"config c /c file= mode=-1 uid=-1",
		"config c /etc/c.conf file= mode=-1 uid=-1",
		"secret a /run/secrets/a file=/a.txt mode=-1 uid=-1",
		"secret b /run/secrets/b.txt file=/b.txt mode=400 uid=7",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	os.WriteFile(file, []byte("services:\n  s:\n    image: x\n    secrets: [x]\nsecrets:\n  x: {external: true}\n"), 0o644)
	if _, err := Load(context.Background(), Options{Files: []string{file}}); err == nil || !strings.Contains(err.Error(), "external secrets and configs need swarm") {
		t.Errorf("external secret: %v", err)
	}
}

func TestLoadProfiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("name: demo\nservices:\n  web:\n    image: busybox\n  db:\n    image: busybox\n    profiles: [data]\n  debug:\n    image: busybox\n    profiles: [tools]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		profiles []string
		environ  []string
		services []string
		want     string
	}{
		{"none", nil, nil, nil, ""},
		{"flags", []string{"data", "tools"}, []string{"COMPOSE_PROFILES=other"}, nil, "data,tools"},
		{"variable, trimmed", nil, []string{"COMPOSE_PROFILES=data, tools ,"}, nil, "data,tools"},
		{"empty variable", nil, []string{"COMPOSE_PROFILES="}, nil, ""},
		{"a disabled service named", []string{"data"}, nil, []string{"debug"}, "data,tools"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(context.Background(), Options{Files: []string{file}, Profiles: tt.profiles, Environ: tt.environ, Services: tt.services})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Profiles, ","); got != tt.want {
				t.Errorf("Load(profiles %q, environ %q).Profiles = %q, want %q", tt.profiles, tt.environ, got, tt.want)
			}
		})
	}
}

func TestLoadKeepUnselected(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("name: demo\nservices:\n  db:\n    image: busybox\n  api:\n    image: busybox\n    depends_on:\n      db: {condition: service_started, restart: true}\n  other:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [tools]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		services []string
		keep     bool
		want     string
	}{
		{"selected", []string{"db"}, false, "db"},
		{"kept", []string{"db"}, true, "api,db,other"},
		{"kept, a disabled service named", []string{"debug"}, true, "api,db,debug,other"},
		{"selected, a disabled service named", []string{"debug"}, false, "debug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(context.Background(), Options{Files: []string{file}, Services: tt.services, KeepUnselected: tt.keep})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.ServiceNames(), ","); got != tt.want {
				t.Errorf("Load(%q, keep %v) services = %s, want %s", tt.services, tt.keep, got, tt.want)
			}
		})
	}
	if _, err := Load(context.Background(), Options{Files: []string{file}, Services: []string{"nope"}, KeepUnselected: true}); err == nil || !strings.Contains(err.Error(), `no such service: nope`) {
		t.Errorf("Load with an unknown service, keep = %v", err)
	}
}

// TestNetworkModeBridge: network_mode: bridge joins the project's default
// network (made for it when no service names it), with its ports.
func TestNetworkModeBridge(t *testing.T) {
	tests := []struct {
		name, yaml, wantNet string
	}{
		{"default made for it", `name: demo
services:
  web:
    image: busybox
    network_mode: bridge
    ports: ["8080:80"]
`, "demo_default"},
		{"other services on default", `name: demo
services:
  web:
    image: busybox
    network_mode: bridge
  api:
    image: busybox
`, "demo_default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "compose.yaml")
			if err := os.WriteFile(file, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := Load(context.Background(), Options{Files: []string{file}})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			s := p.Service("web")
			if len(s.Networks) != 1 || s.Networks[0].Key != DefaultNetwork || s.Networks[0].Name != tt.wantNet {
				t.Errorf("web's networks = %+v, want the default network %s", s.Networks, tt.wantNet)
			}
			if n, ok := p.Networks[DefaultNetwork]; !ok || n.Name != tt.wantNet {
				t.Errorf("project networks = %+v, want default named %s", p.Networks, tt.wantNet)
			}
		})
	}
}

func TestLoadEnvFileOfUnselectedService(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte("name: demo\nservices:\n  a:\n    image: busybox\n    env_file: missing.env\n  b:\n    image: busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), Options{Files: []string{file}, Services: []string{"b"}}); err != nil {
		t.Errorf("Load(b) = %v, want no error: a's env_file is not needed", err)
	}
	_, err := Load(context.Background(), Options{Files: []string{file}, Services: []string{"a"}})
	if err == nil || !strings.Contains(err.Error(), "missing.env") || !strings.Contains(err.Error(), "compose.yaml") {
		t.Errorf("Load(a) = %v, want an error naming missing.env and the compose file", err)
	}
}

func TestLoadProjectEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	for name, content := range map[string]string{
		"compose.yaml": "name: demo\nservices:\n  a:\n    image: busybox\n",
		".env":         "FROM=dotenv\nDOT=1\n",
		"other.env":    "FROM=other\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(dir, "other.env")
	tests := []struct {
		name     string
		envFiles []string
		environ  []string
		want     string // FROM, DOT
	}{
		{".env", nil, nil, "dotenv,1"},
		{"--env-file replaces .env", []string{other}, nil, "other,"},
		{"COMPOSE_ENV_FILES", nil, []string{"COMPOSE_ENV_FILES=" + other}, "other,"},
		{"--env-file over COMPOSE_ENV_FILES", []string{filepath.Join(dir, ".env")}, []string{"COMPOSE_ENV_FILES=" + other}, "dotenv,1"},
		{"the shell wins", nil, []string{"FROM=shell"}, "shell,1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(context.Background(), Options{Files: []string{file}, EnvFiles: tt.envFiles, Environ: tt.environ})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Environment["FROM"] + "," + p.Environment["DOT"]; got != tt.want {
				t.Errorf("Load(env files %q, environ %q).Environment FROM,DOT = %q, want %q", tt.envFiles, tt.environ, got, tt.want)
			}
		})
	}
}

func TestLoadModelNotInterpolated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("name: demo\nservices:\n  a:\n    image: busybox:${TAG:-1}\n    ports:\n      - ${PORT:-8080}:80\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model, err := LoadModel(context.Background(), Options{Files: []string{file}})
	if err != nil {
		t.Fatalf("LoadModel: %v", err)
	}
	a := model["services"].(map[string]any)["a"].(map[string]any)
	if got := fmt.Sprint(a["ports"]); got != "[${PORT:-8080}:80]" {
		t.Errorf("ports = %s, want [${PORT:-8080}:80]", got)
	}
	if got := a["image"]; got != "busybox:${TAG:-1}" {
		t.Errorf("image = %v, want busybox:${TAG:-1}", got)
	}
}
