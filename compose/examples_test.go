package compose

import (
	"context"
	"path/filepath"
	"testing"
)

// TestLoadExamples loads the repository's examples as berth runs them:
// every key they use is one berth acts on (no "not supported" warning at
// up), and edge-stack keeps the shape make demo and its e2e test rely on.
func TestLoadExamples(t *testing.T) {
	dirs, err := filepath.Glob("../examples/*/compose.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, file := range dirs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p, err := Load(context.Background(), Options{Files: []string{file}, ProjectDir: dir})
			if err != nil {
				t.Fatalf("Load(%s): %v", file, err)
			}
			for _, s := range p.Services {
				if len(s.Unsupported) > 0 || len(s.BuildWarnings) > 0 {
					t.Errorf("service %q: unsupported keys %v, build warnings %v", s.Name, s.Unsupported, s.BuildWarnings)
				}
			}
		})
	}
}

func TestLoadEdgeStack(t *testing.T) {
	dir, _ := filepath.Abs("../examples/edge-stack")
	p, err := Load(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yaml")}, ProjectDir: dir,
		Environ: []string{"API_PORT=18080"}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	db, migrate := p.Service("db"), p.Service("migrate")
	if db == nil || migrate == nil || p.Service("worker") == nil || p.Service("api") == nil {
		t.Fatalf("services = %v, want api, db, migrate, worker", p.ServiceNames())
	}
	if db.ImageName() != migrate.ImageName() {
		t.Errorf("db image %q, migrate image %q: migrate must reuse the db image (built once)", db.ImageName(), migrate.ImageName())
	}
	if got := db.Environment["POSTGRES_PASSWORD"]; got == nil || *got == "" {
		t.Errorf("POSTGRES_PASSWORD is not interpolated from .env: %v", got)
	}
	for _, name := range []string{"worker", "api"} {
		s := p.Service(name)
		if c := s.DependsOn["db"].Condition; c != ConditionHealthy {
			t.Errorf("%s depends on db with %q, want %q", name, c, ConditionHealthy)
		}
		if c := s.DependsOn["migrate"].Condition; c != ConditionCompletedSuccessfully {
			t.Errorf("%s depends on migrate with %q, want %q", name, c, ConditionCompletedSuccessfully)
		}
		if s.Restart.Condition != RestartUnlessStopped {
			t.Errorf("%s restart = %q, want %q", name, s.Restart.Condition, RestartUnlessStopped)
		}
	}
	if api := p.Service("api"); len(api.Ports) != 1 || api.Ports[0].String() != "127.0.0.1:18080:8080/tcp" {
		t.Errorf("api ports = %v, want 127.0.0.1:18080:8080/tcp (API_PORT from the environment)", api.Ports)
	}
	if db.StopSignal != "SIGINT" || db.Healthcheck == nil {
		t.Errorf("db stop_signal %q, healthcheck %+v: want SIGINT and pg_isready", db.StopSignal, db.Healthcheck)
	}
}
