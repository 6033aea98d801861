package compose

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestBundleModel(t *testing.T) {
	dir := publishSpec(t, map[string]string{
		"compose.yaml": `name: shop
services:
  web:
    build: ./web
    pull_policy: build
    env_file: [web.env, {path: missing.env, required: false}]
    command: ["sh", "-c", "echo $$HOME"]
    configs: [site, inline]
    secrets: [key, token]
    volumes: ["./static:/static:ro", "/var/log:/host-log"]
  db:
    image: postgres:16
    env_file: web.env
configs:
  site: {file: ./site.conf}
  inline: {content: "hello"}
secrets:
  key: {file: ./key.pem}
  token: {environment: TOKEN}
`,
		"web/Dockerfile":   "FROM scratch\n",
		"web.env":          "A=1\n",
		"site.conf":        "listen 80\n",
		"key.pem":          "secret!\n",
		"static/index.htm": "<p>hi</p>\n",
	})
	images := map[string]string{"web": "shop-web", "db": "postgres:16"}
	for _, secretFiles := range []SecretFiles{SecretFilesLeftOut, SecretFilesIncluded} {
		include := secretFiles == SecretFilesIncluded
		spec, err := LoadSpec(context.Background(), Options{Files: []string{filepath.Join(dir, "compose.yaml")}, KeepEnvFiles: true})
		if err != nil {
			t.Fatal(err)
		}
		model, files, secrets, err := BundleModel(spec, images, secretFiles)
		if err != nil {
			t.Fatalf("BundleModel = %v", err)
		}
		m := string(model)
		if strings.Contains(m, dir) {
			t.Errorf("the model names the project directory %s:\n%s", dir, m)
		}
		for _, want := range []string{"image: shop-web", "pull_policy: missing", "./env/web.env", "./configs/site", "./configs/inline", "./secrets/key", "source: ./mounts/static", "source: /var/log", "echo $$HOME"} {
			if !strings.Contains(m, want) {
				t.Errorf("the model lacks %q:\n%s", want, m)
			}
		}
		for _, absent := range []string{"build:", "missing.env", "Dockerfile"} {
			if strings.Contains(m, absent) {
				t.Errorf("the model has %q:\n%s", absent, m)
			}
		}
		var paths []string
		for _, f := range files {
			paths = append(paths, f.Path)
		}
		want := "configs/inline configs/site env/web.env mounts/static/index.htm"
		if include {
			want = "configs/inline configs/site env/web.env mounts/static/index.htm secrets/key"
		}
		if got := strings.Join(paths, " "); got != want {
			t.Errorf("BundleModel(includeSecrets %v) files = %s, want %s", include, got, want)
		}
		// The model loads from a directory of its own, as on the box.
		write := map[string]string{"compose.yaml": m}
		for _, f := range files {
			write[f.Path] = string(f.Data)
		}
		boxDir := publishSpec(t, write)
		loaded, err := LoadSpec(context.Background(), Options{Files: []string{filepath.Join(boxDir, "compose.yaml")}})
		if err != nil {
			t.Fatalf("the bundled model does not load: %v\n%s", err, m)
		}
		web := loaded.Services["web"]
		if a := web.Environment["A"]; a == nil || *a != "1" || web.Image != "shop-web" || web.Build != nil {
			t.Errorf("the bundled model loads web as image %q, build %v, A=%v", web.Image, web.Build, web.Environment["A"])
		}
		if got := loaded.Configs["site"].File; got != filepath.Join(boxDir, "configs", "site") {
			t.Errorf("the bundled model's config site is %s, want it in the box's directory", got)
		}
		if got := web.Command; len(got) != 3 || got[2] != "echo $HOME" {
			t.Errorf("the bundled model's command = %q, want the $ kept", got)
		}
		if len(secrets) != 2 || secrets[0] != (BundleSecret{Name: "key", File: "secrets/key", Included: include}) || secrets[1] != (BundleSecret{Name: "token", Environment: "TOKEN"}) {
			t.Errorf("BundleModel(includeSecrets %v) secrets = %+v", include, secrets)
		}
	}
}
