package imageview

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	idA = "sha256:aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	idB = "sha256:bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
)

var (
	built = time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	now   = built.Add(2 * time.Hour)
)

func testImage(name, id string) Image {
	created := built
	img := Image{Name: name, ID: id, Digest: "sha256:dddd", Size: 1_036_076, Tagged: built}
	img.Config.Created = &created
	img.Config.Architecture, img.Config.OS = "amd64", "linux"
	img.Config.Config = dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{
		Env:          []string{"PATH=/bin"},
		Cmd:          []string{"python3", "app.py"},
		WorkingDir:   "/app",
		User:         "app",
		ExposedPorts: map[string]struct{}{"5000/tcp": {}},
		Labels:       map[string]string{"a": "b"},
		StopSignal:   "SIGINT",
	}}
	img.Config.Config.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"CMD", "true"}, Interval: time.Second}
	img.Config.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{"sha256:l1", "sha256:l2"}}
	return img
}

func TestRepoTag(t *testing.T) {
	tests := []struct {
		name, repo, tag string
		ok              bool
	}{
		{"docker.io/library/busybox:latest", "busybox", "latest", true},
		{"docker.io/me/app:1", "me/app", "1", true},
		{"127.0.0.1:5000/e2e/app:2", "127.0.0.1:5000/e2e/app", "2", true},
		{"docker.io/library/app@sha256:" + strings.Repeat("a", 64), "app", NoneValue, true},
		{idA, NoneValue, NoneValue, false},
		{"import-abc", NoneValue, NoneValue, false},
	}
	for _, tt := range tests {
		repo, tag, ok := Image{Name: tt.name}.RepoTag()
		if repo != tt.repo || tag != tt.tag || ok != tt.ok {
			t.Errorf("RepoTag(%q) = %q, %q, %v; want %q, %q, %v", tt.name, repo, tag, ok, tt.repo, tt.tag, tt.ok)
		}
	}
}

func TestRowsJSON(t *testing.T) {
	older := testImage("docker.io/library/old:1", idB)
	before := built.Add(-time.Hour)
	older.Config.Created = &before
	dangling := testImage(idA, idA)
	rows := Rows([]Image{older, testImage("docker.io/library/app:1", idA), dangling}, now)
	var got []string
	for _, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(b))
	}
	want := []string{
		`{"Containers":"N/A","CreatedAt":"2026-12-06 01:00:00 +0000 UTC","CreatedSince":"2 hours ago","Digest":"sha256:dddd","ID":"aaaaaaaaaaaa","Repository":"app","SharedSize":"N/A","Size":"1.04MB","Tag":"1","UniqueSize":"N/A","VirtualSize":"1.04MB"}`,
		`{"Containers":"N/A","CreatedAt":"2026-12-06 01:00:00 +0000 UTC","CreatedSince":"2 hours ago","Digest":"sha256:dddd","ID":"aaaaaaaaaaaa","Repository":"\u003cnone\u003e","SharedSize":"N/A","Size":"1.04MB","Tag":"\u003cnone\u003e","UniqueSize":"N/A","VirtualSize":"1.04MB"}`,
		`{"Containers":"N/A","CreatedAt":"2026-12-06 00:00:00 +0000 UTC","CreatedSince":"3 hours ago","Digest":"sha256:dddd","ID":"bbbbbbbbbbbb","Repository":"old","SharedSize":"N/A","Size":"1.04MB","Tag":"1","UniqueSize":"N/A","VirtualSize":"1.04MB"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("Rows = %d rows, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestInspectJSON(t *testing.T) {
	names := []Image{testImage("docker.io/library/app:1", idA), testImage("127.0.0.1:5000/app:1", idA), testImage(idA, idA)}
	b, err := json.Marshal(InspectOf(names))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	cfg, _ := got["Config"].(map[string]any)
	tests := []struct {
		key  string
		val  any
		want string
	}{
		{"Id", got["Id"], `"` + idA + `"`},
		{"RepoTags", got["RepoTags"], `["app:1","127.0.0.1:5000/app:1"]`},
		{"RepoDigests", got["RepoDigests"], `["app@sha256:dddd","127.0.0.1:5000/app@sha256:dddd"]`},
		{"Created", got["Created"], `"2026-12-06T01:00:00Z"`},
		{"Architecture", got["Architecture"], `"amd64"`},
		{"Os", got["Os"], `"linux"`},
		{"Size", got["Size"], `1036076`},
		{"RootFS", got["RootFS"], `{"Layers":["sha256:l1","sha256:l2"],"Type":"layers"}`},
		{"Config.Env", cfg["Env"], `["PATH=/bin"]`},
		{"Config.Cmd", cfg["Cmd"], `["python3","app.py"]`},
		{"Config.Entrypoint", cfg["Entrypoint"], `null`},
		{"Config.WorkingDir", cfg["WorkingDir"], `"/app"`},
		{"Config.User", cfg["User"], `"app"`},
		{"Config.ExposedPorts", cfg["ExposedPorts"], `{"5000/tcp":{}}`},
		{"Config.Labels", cfg["Labels"], `{"a":"b"}`},
		{"Config.Healthcheck", cfg["Healthcheck"], `{"Interval":1000000000,"Test":["CMD","true"]}`},
		{"Config.Volumes", cfg["Volumes"], `null`},
		{"Config.StopSignal", cfg["StopSignal"], `"SIGINT"`},
	}
	for _, tt := range tests {
		b, _ := json.Marshal(tt.val)
		if string(b) != tt.want {
			t.Errorf("inspect %s = %s, want %s", tt.key, b, tt.want)
		}
	}
	if _, ok := got["Variant"]; ok {
		t.Errorf("inspect has a Variant for an image without one: %s", b)
	}
}

func TestFind(t *testing.T) {
	all := []Image{
		testImage("docker.io/library/app:1", idA),
		testImage("docker.io/library/app:2", idA),
		testImage("docker.io/library/other:latest", idB),
		testImage("docker.io/library/abcd:latest", "sha256:abcd"+strings.Repeat("0", 60)),
	}
	tests := []struct {
		ref     string
		want    []string
		notFoun bool
		errHas  string
	}{
		{ref: "app:1", want: []string{"docker.io/library/app:1"}},
		{ref: "other", want: []string{"docker.io/library/other:latest"}},
		{ref: "aaaaaaaa", want: []string{"docker.io/library/app:1", "docker.io/library/app:2"}},
		{ref: idB, want: []string{"docker.io/library/other:latest"}},
		{ref: "abcd", want: []string{"docker.io/library/abcd:latest"}},
		{ref: "missing", notFoun: true, errHas: "no such image: missing"},
		{ref: "sha256:cccc", notFoun: true, errHas: "no such image"},
		{ref: "Bad", errHas: "invalid image reference"},
	}
	for _, tt := range tests {
		got, err := Find(all, tt.ref)
		if tt.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || errdefs.IsNotFound(err) != tt.notFoun {
				t.Errorf("Find(%q) = %v, %v; want an error with %q (not found: %v)", tt.ref, got, err, tt.errHas, tt.notFoun)
			}
			continue
		}
		var names []string
		for _, img := range got {
			names = append(names, img.Name)
		}
		if err != nil || strings.Join(names, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Find(%q) = %v, %v; want %v", tt.ref, names, err, tt.want)
		}
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		arg, name string
		want      bool
	}{
		{"", "docker.io/library/app:1", true},
		{"app", "docker.io/library/app:1", true},
		{"app:1", "docker.io/library/app:1", true},
		{"app:2", "docker.io/library/app:1", false},
		{"docker.io/library/app", "docker.io/library/app:1", true},
		{"127.0.0.1:5000/app", "127.0.0.1:5000/app:1", true},
		{"127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1", true},
		{"team/*", "docker.io/team/web:1", true},
		{"team/*", "docker.io/other/web:1", false},
		{"app", idA, false},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.arg)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tt.arg, err)
		}
		if got := f.Match(Image{Name: tt.name}); got != tt.want {
			t.Errorf("ParseFilter(%q).Match(%q) = %v, want %v", tt.arg, tt.name, got, tt.want)
		}
	}
	if _, err := ParseFilter("a[b"); err == nil {
		t.Errorf("ParseFilter(%q) = nil error, want a bad pattern", "a[b")
	}
}

func TestHistory(t *testing.T) {
	img := testImage("docker.io/library/app:1", idA)
	at := func(d time.Duration) *time.Time { tm := built.Add(d); return &tm }
	img.Config.History = []ocispec.History{
		{Created: at(-48 * time.Hour), CreatedBy: "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in /"},
		{Created: at(0), CreatedBy: "ENV A=1", EmptyLayer: true},
		{Created: at(0), CreatedBy: "RUN echo hi > /hi", Comment: "buildkit.dockerfile.v0"},
		{Created: at(0), CreatedBy: `CMD ["cat" "/hi"]`, EmptyLayer: true},
	}
	img.LayerSizes = []int64{1_036_000, 103}
	var got []string
	for _, r := range History(img, now, true) {
		got = append(got, strings.Join([]string{r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment}, "|"))
	}
	want := []string{
		`aaaaaaaaaaaa|2 hours ago|CMD ["cat" "/hi"]|0B|`,
		`<missing>|2 hours ago|RUN echo hi > /hi|103B|buildkit.dockerfile.v0`,
		`<missing>|2 hours ago|ENV A=1|0B|`,
		`<missing>|2 days ago|/bin/sh -c #(nop) ADD file:0123456789abcdef0…|1.04MB|`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("History =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if full := History(img, now, false); full[0].ID != idA || !strings.HasSuffix(full[3].CreatedBy, "in /") {
		t.Errorf("History without truncation = %+v, want the full ID and steps", full)
	}
}

func TestGroup(t *testing.T) {
	g := Group([]Image{testImage("docker.io/library/b:1", idA), testImage("docker.io/library/c:1", idB), testImage("docker.io/library/a:1", idA)})
	if len(g) != 2 || len(g[0]) != 2 || g[0][0].Name != "docker.io/library/a:1" || g[1][0].ID != idB {
		t.Errorf("Group = %+v, want [a:1 b:1] then [c:1]", g)
	}
}

func TestTree(t *testing.T) {
	multi := testImage("127.0.0.1:5000/app:1", "sha256:1111111111111111aa")
	multi.Size = 2_100_000
	multi.Platforms = []Platform{
		{Platform: "linux/amd64", Manifest: "sha256:aaaaaaaaaaaaaaaa", Present: true, Size: 1_050_000},
		{Platform: "linux/arm64", Manifest: "sha256:bbbbbbbbbbbbbbbb", Present: true, Size: 1_050_000},
		{Platform: "linux/riscv64", Manifest: "sha256:cccccccccccccccc", Present: false},
	}
	dangling := testImage("import-123", "sha256:2222222222222222")
	dangling.Platforms = []Platform{{Platform: "linux/amd64", Manifest: "sha256:dddddddddddddddd", Present: true, Size: 1_036_076}}
	tests := []struct {
		all  bool
		want string
	}{
		{false, "127.0.0.1:5000/app:1 111111111111 2.1MB [linux/amd64 aaaaaaaaaaaa 1.05MB true, linux/arm64 bbbbbbbbbbbb 1.05MB true]; " +
			"<none>:<none> 222222222222 1.04MB [linux/amd64 dddddddddddd 1.04MB true]"},
		{true, "127.0.0.1:5000/app:1 111111111111 2.1MB [linux/amd64 aaaaaaaaaaaa 1.05MB true, linux/arm64 bbbbbbbbbbbb 1.05MB true, linux/riscv64 cccccccccccc 0B false]; " +
			"<none>:<none> 222222222222 1.04MB [linux/amd64 dddddddddddd 1.04MB true]"},
	}
	for _, tt := range tests {
		var got []string
		for _, img := range Tree([]Image{dangling, multi}, tt.all) {
			var ps []string
			for _, p := range img.Platforms {
				ps = append(ps, fmt.Sprintf("%s %s %s %v", p.Platform, p.ID, p.ContentSize, p.Present))
			}
			got = append(got, fmt.Sprintf("%s %s %s [%s]", img.Name, img.ID, img.ContentSize, strings.Join(ps, ", ")))
		}
		if g := strings.Join(got, "; "); g != tt.want {
			t.Errorf("Tree(all=%v) =\n%s\nwant\n%s", tt.all, g, tt.want)
		}
	}
	if got := multi.PresentPlatforms(); strings.Join(got, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("PresentPlatforms = %v", got)
	}
}
