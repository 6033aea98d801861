package build

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestFSMounts: targets and cache ids resolve as in BuildKit, and the key
// of each mount holds what it mounts, never a cache's content.
func TestFSMounts(t *testing.T) {
	tests := []struct {
		line, workdir string
		want          []string
	}{
		{"RUN --mount=type=cache,target=/var/cache/apt,sharing=locked true", "/",
			[]string{"cache,id=/var/cache/apt,target=/var/cache/apt,sharing=locked,from=,source=,readonly=false,owner="}},
		{"RUN --mount=type=cache,target=.cache true", "/src",
			[]string{"cache,id=.cache,target=/src/.cache,sharing=shared,from=,source=,readonly=false,owner="}},
		{"RUN --mount=type=cache,id=go,target=/root/.cache/go-build,uid=1000,mode=0700 true", "/",
			[]string{"cache,id=go,target=/root/.cache/go-build,sharing=shared,from=,source=,readonly=false,owner=1000:0:700"}},
		{"RUN --mount=type=cache,target=/c,from=deps,source=/out,readonly true", "/",
			[]string{"cache,id=/c,target=/c,sharing=shared,from=deps,source=/out,readonly=true,owner="}},
		{"RUN --mount=type=tmpfs,target=/scratch,size=64m true", "/",
			[]string{"tmpfs,target=/scratch,size=67108864"}},
		{"RUN --mount=type=bind,target=. true", "/app",
			[]string{"bind,target=/app,from=,source=,readonly=true"}},
		{"RUN --mount=target=/m,source=go.mod,rw true", "/",
			[]string{"bind,target=/m,from=,source=go.mod,readonly=false"}},
		{"RUN --mount=type=bind,from=build,source=/out,target=/in true", "/",
			[]string{"bind,target=/in,from=build,source=/out,readonly=true"}},
		{"RUN --mount=type=secret,id=tok true", "/", nil},
	}
	for _, tt := range tests {
		ms, err := fsMounts(parseRun(t, tt.line), tt.workdir)
		if err != nil {
			t.Errorf("fsMounts(%q): %v", tt.line, err)
			continue
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.key())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("fsMounts(%q, %q) = %q, want %q", tt.line, tt.workdir, got, tt.want)
		}
	}
}

// TestFSMountsRefused: a mount without a target or over the root fails,
// naming what to give.
func TestFSMountsRefused(t *testing.T) {
	tests := []struct{ line, workdir, want string }{
		{"RUN --mount=type=cache,target=. true", "/", "cannot mount over the root directory"},
		{"RUN --mount=type=cache,target=.. true", "/a", "cannot mount over the root directory"},
	}
	for _, tt := range tests {
		_, err := fsMounts(parseRun(t, tt.line), tt.workdir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("fsMounts(%q, %q) error = %v, want %q", tt.line, tt.workdir, err, tt.want)
		}
	}
}

// TestFSMountKeys: a bind's key changes with the content it binds; a
// cache's does not carry content.
func TestFSMountKeys(t *testing.T) {
	ms, err := fsMounts(parseRun(t, "RUN --mount=type=bind,source=a,target=/a --mount=type=cache,target=/c true"), "/")
	if err != nil {
		t.Fatal(err)
	}
	one := fsMountKeys(ms, []string{"ctx:/a:h1", ""})
	two := fsMountKeys(ms, []string{"ctx:/a:h2", ""})
	if slices.Equal(one, two) {
		t.Errorf("bind keys with other content are equal: %q", one)
	}
	if !slices.Contains(one, "bind,target=/a,from=,source=a,readonly=true,content=ctx:/a:h1") {
		t.Errorf("fsMountKeys = %q, want the bind with its content", one)
	}
}

func TestCacheKey(t *testing.T) {
	ms, err := fsMounts(parseRun(t, "RUN --mount=type=cache,target=/c --mount=type=cache,target=/d,id=/c --mount=type=cache,target=/c,uid=1 --mount=type=cache,target=/c,from=s true"), "/")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cacheKey(ms[0], mountSource{}), cacheKey(ms[1], mountSource{}), cacheKey(ms[2], mountSource{}), cacheKey(ms[3], mountSource{key: "k1"})}
	want := []string{"id=/c", "id=/c", "id=/c,owner=1:0:755", "id=/c,from=k1,source=/"}
	if !slices.Equal(got, want) {
		t.Errorf("cacheKey = %q, want %q", got, want)
	}
}

func TestSortMounts(t *testing.T) {
	ms := []specs.Mount{{Destination: "/a/b/c"}, {Destination: "/run/secrets/x"}, {Destination: "/a"}, {Destination: "/a/b"}, {Destination: "/run"}}
	sortMounts(ms)
	var got []string
	for _, m := range ms {
		got = append(got, m.Destination)
	}
	want := []string{"/a", "/run", "/a/b", "/a/b/c", "/run/secrets/x"}
	if !slices.Equal(got, want) {
		t.Errorf("sortMounts = %q, want %q", got, want)
	}
}
