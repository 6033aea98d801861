package imageview

import (
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/go-units"
)

// Row is one line of `image ls`, with the keys of `docker image ls
// --format json` (every value a string, as docker prints them).
type Row struct {
	Containers   string `json:"Containers"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	Digest       string `json:"Digest"`
	ID           string `json:"ID"`
	Repository   string `json:"Repository"`
	SharedSize   string `json:"SharedSize"`
	Size         string `json:"Size"`
	Tag          string `json:"Tag"`
	UniqueSize   string `json:"UniqueSize"`
	VirtualSize  string `json:"VirtualSize"`
}

// Rows are the lines of `image ls` for images, newest first (then by
// repository and tag), as docker sorts them; now is the clock's time, for
// CreatedSince.
func Rows(images []Image, now time.Time) []Row {
	sorted := newestFirst(images)
	rows := make([]Row, 0, len(sorted))
	for _, img := range sorted {
		repo, tag, _ := img.RepoTag()
		created := img.Created()
		digest := img.Digest
		if digest == "" {
			digest = NoneValue
		}
		size := units.HumanSizeWithPrecision(float64(img.Size), 3)
		rows = append(rows, Row{
			Containers:   "N/A",
			CreatedAt:    created.Truncate(time.Second).String(),
			CreatedSince: Since(created, now),
			Digest:       digest,
			ID:           ShortID(img.ID),
			Repository:   repo,
			SharedSize:   "N/A",
			Size:         size,
			Tag:          tag,
			UniqueSize:   "N/A",
			VirtualSize:  size,
		})
	}
	return rows
}

// newestFirst sorts images as image ls lists them: newest first, then by
// name.
func newestFirst(images []Image) []Image {
	sorted := append([]Image(nil), images...)
	sort.SliceStable(sorted, func(i, j int) bool {
		ci, cj := sorted[i].Created(), sorted[j].Created()
		if !ci.Equal(cj) {
			return ci.After(cj)
		}
		return sorted[i].Name < sorted[j].Name
	})
	return sorted
}

// Since is docker's "2 hours ago" for t, or "N/A" when t is unknown.
func Since(t, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return units.HumanDuration(now.Sub(t)) + " ago"
}

// Filter is the REPOSITORY[:TAG] argument of `image ls`: an image matches
// when its repository is the name (busybox, docker.io/library/busybox, or
// a pattern such as "myorg/*") and, if a tag is given, its tag is the tag.
type Filter struct {
	repo, tag string
}

// ParseFilter reads the argument of `image ls`; "" matches every image.
func ParseFilter(arg string) (Filter, error) {
	if arg == "" {
		return Filter{}, nil
	}
	repo, tag := arg, ""
	if i := lastColon(arg); i >= 0 {
		repo, tag = arg[:i], arg[i+1:]
	}
	if _, err := path.Match(repo, ""); err != nil {
		return Filter{}, fmt.Errorf("image ls %q: invalid pattern: %w", arg, err)
	}
	return Filter{repo: repo, tag: tag}, nil
}

// lastColon is the index of the colon that starts a tag in a reference
// (not one of a registry's port), or -1.
func lastColon(ref string) int {
	for i := len(ref) - 1; i >= 0; i-- {
		switch ref[i] {
		case ':':
			return i
		case '/':
			return -1
		}
	}
	return -1
}

// Match reports whether the image is one the filter names.
func (f Filter) Match(img Image) bool {
	if f.repo == "" {
		return true
	}
	repo, tag, ok := img.RepoTag()
	if !ok {
		return false
	}
	if f.tag != "" && f.tag != tag {
		return false
	}
	full := repo
	if named, err := reference.ParseNormalizedNamed(repo); err == nil {
		full = named.Name()
	}
	for _, name := range []string{repo, full} {
		if ok, _ := path.Match(f.repo, name); ok {
			return true
		}
	}
	return false
}
