package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/imageview"
	"github.com/berth/berth/scheduler"
)

func TestImageRows(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	local := []containerd.ImageSummary{
		{Name: "docker.io/gtardif/sentences-db:latest", Digest: "sha256:0123456789abcdef0123", Size: 7_340_032, Created: created},
		{Name: "docker.io/library/nginx:1.27", Digest: "sha256:fedcba9876543210fedc", Size: 52_000_000, Created: created},
		{Name: "registry.example:5000/team/app:v2", Digest: "sha256:aaaabbbbccccddddeeee", Size: 1000, Created: created},
	}
	ctr := func(name, service, image string) scheduler.Container {
		return scheduler.Container{Name: name, Image: image, Labels: compose.Labels{compose.LabelService: service}}
	}
	cs := []scheduler.Container{
		ctr("demo-web-1", "web", "docker.io/library/nginx:1.27"),
		ctr("demo-db-1", "db", "docker.io/gtardif/sentences-db:latest"),
		ctr("demo-app-1", "app", "registry.example:5000/team/app:v2"),
		ctr("demo-gone-1", "gone", "docker.io/library/missing:latest"),
	}
	tests := []struct {
		name     string
		services []string
		opts     imagesOptions
		want     string
	}{
		{"table", nil, imagesOptions{format: "table"},
			// compose's table: cells at least 20 wide, 3 spaces of padding.
			"CONTAINER           REPOSITORY                       TAG                 PLATFORM            IMAGE ID            SIZE                CREATED\n" +
				"demo-app-1          registry.example:5000/team/app   v2                  linux/amd64         aaaabbbbcccc        1kB                 4 days ago\n" +
				"demo-db-1           gtardif/sentences-db             latest              linux/amd64         0123456789ab        7.34MB              4 days ago\n" +
				"demo-web-1          nginx                            1.27                linux/amd64         fedcba987654        52MB                4 days ago\n"},
		{"one service", []string{"db"}, imagesOptions{format: "table"},
			"CONTAINER           REPOSITORY             TAG                 PLATFORM            IMAGE ID            SIZE                CREATED\n" +
				"demo-db-1           gtardif/sentences-db   latest              linux/amd64         0123456789ab        7.34MB              4 days ago\n"},
		{"quiet", []string{"db", "web"}, imagesOptions{format: "table", quiet: true},
			"0123456789abcdef0123\nfedcba9876543210fedc\n"},
		{"json", []string{"db"}, imagesOptions{format: "json"},
			`[{"ID":"sha256:0123456789abcdef0123","ContainerName":"demo-db-1","Repository":"gtardif/sentences-db","Tag":"latest","Platform":"linux/amd64","Size":7340032,"LastTagTime":"2026-12-01T10:00:00Z"}]` + "\n"},
	}
	now := created.Add(4 * 24 * time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := imageRows(cs, local, tt.services, "linux/amd64")
			var out bytes.Buffer
			if err := printImages(&out, rows, tt.opts, now); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out.String(), tt.want)
			}
		})
	}
	t.Run("json keys", func(t *testing.T) {
		var out bytes.Buffer
		if err := printImages(&out, imageRows(cs, local, nil, "linux/amd64"), imagesOptions{format: "json"}, now); err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("got %d rows, want 3 (the missing image is left out): %s", len(got), out.String())
		}
		for _, k := range []string{"ID", "ContainerName", "Repository", "Tag", "Platform", "Size", "LastTagTime"} {
			if _, ok := got[0][k]; !ok {
				t.Errorf("json row has no %q key: %s", k, strings.TrimSpace(out.String()))
			}
		}
	})
}

func TestWriteImageTree(t *testing.T) {
	var out bytes.Buffer
	err := writeImageTree(&out, []imageview.TreeImage{
		{Name: "app:1", ID: "111111111111", ContentSize: "2.1MB", Platforms: []imageview.TreePlatform{
			{Platform: "linux/amd64", ID: "aaaaaaaaaaaa", ContentSize: "1.05MB", Present: true},
			{Platform: "linux/arm64", ID: "bbbbbbbbbbbb", ContentSize: "0B"},
		}},
		{Name: "busybox:latest", ID: "222222222222", ContentSize: "1.04MB", Platforms: []imageview.TreePlatform{
			{Platform: "linux/amd64", ID: "cccccccccccc", ContentSize: "1.04MB", Present: true},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `IMAGE            ID             CONTENT SIZE   PRESENT
app:1            111111111111   2.1MB
├─ linux/amd64   aaaaaaaaaaaa   1.05MB         yes
└─ linux/arm64   bbbbbbbbbbbb   0B             no

busybox:latest   222222222222   1.04MB
└─ linux/amd64   cccccccccccc   1.04MB         yes
`
	if out.String() != want {
		t.Errorf("writeImageTree =\n%q\nwant\n%q", out.String(), want)
	}
}
