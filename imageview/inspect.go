package imageview

import (
	"time"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// Inspect is an image as `docker image inspect` shows it; the field names
// and their order are docker's.
type Inspect struct {
	ID            string        `json:"Id"`
	RepoTags      []string      `json:"RepoTags"`
	RepoDigests   []string      `json:"RepoDigests"`
	Parent        string        `json:"Parent"`
	Comment       string        `json:"Comment"`
	Created       string        `json:"Created,omitempty"`
	DockerVersion string        `json:"DockerVersion"`
	Author        string        `json:"Author"`
	Config        InspectConfig `json:"Config"`
	Architecture  string        `json:"Architecture"`
	Variant       string        `json:"Variant,omitempty"`
	Os            string        `json:"Os"`
	OsVersion     string        `json:"OsVersion,omitempty"`
	Size          int64         `json:"Size"`
	RootFS        RootFS        `json:"RootFS"`
	Metadata      Metadata      `json:"Metadata"`
}

// InspectConfig is the Config of `docker image inspect`: what a
// container made from the image gets unless told otherwise.
type InspectConfig struct {
	User         string                        `json:"User"`
	ExposedPorts map[string]struct{}           `json:"ExposedPorts"`
	Env          []string                      `json:"Env"`
	Cmd          []string                      `json:"Cmd"`
	Healthcheck  *dockerspec.HealthcheckConfig `json:"Healthcheck,omitempty"`
	Volumes      map[string]struct{}           `json:"Volumes"`
	WorkingDir   string                        `json:"WorkingDir"`
	Entrypoint   []string                      `json:"Entrypoint"`
	OnBuild      []string                      `json:"OnBuild"`
	Labels       map[string]string             `json:"Labels"`
	StopSignal   string                        `json:"StopSignal,omitempty"`
	Shell        []string                      `json:"Shell,omitempty"`
}

// RootFS lists the image's layers by their uncompressed digests.
type RootFS struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

// Metadata is when the image was last tagged.
type Metadata struct {
	LastTagTime string `json:"LastTagTime,omitempty"`
}

// InspectOf is docker's view of an image from all its names (a group of
// Group): RepoTags are the tagged names, RepoDigests repository@digest
// for each repository.
func InspectOf(names []Image) Inspect {
	img := names[0]
	cfg := img.Config
	out := Inspect{
		ID:           img.ID,
		RepoTags:     []string{},
		RepoDigests:  []string{},
		Author:       cfg.Author,
		Architecture: cfg.Architecture,
		Variant:      cfg.Variant,
		Os:           cfg.OS,
		OsVersion:    cfg.OSVersion,
		Size:         img.Size,
		Config: InspectConfig{
			User:         cfg.Config.User,
			ExposedPorts: cfg.Config.ExposedPorts,
			Env:          cfg.Config.Env,
			Cmd:          cfg.Config.Cmd,
			Healthcheck:  cfg.Config.Healthcheck,
			Volumes:      cfg.Config.Volumes,
			WorkingDir:   cfg.Config.WorkingDir,
			Entrypoint:   cfg.Config.Entrypoint,
			OnBuild:      cfg.Config.OnBuild,
			Labels:       cfg.Config.Labels,
			StopSignal:   cfg.Config.StopSignal,
			Shell:        cfg.Config.Shell,
		},
		RootFS: RootFS{Type: cfg.RootFS.Type, Layers: []string{}},
	}
	if c := img.Created(); !c.IsZero() {
		out.Created = c.UTC().Format(time.RFC3339Nano)
	}
	if n := len(cfg.History); n > 0 {
		out.Comment = cfg.History[n-1].Comment
	}
	for _, d := range cfg.RootFS.DiffIDs {
		out.RootFS.Layers = append(out.RootFS.Layers, d.String())
	}
	if out.RootFS.Type == "" {
		out.RootFS.Type = "layers"
	}
	var tagged time.Time
	seenDigest := map[string]bool{}
	for _, n := range names {
		if n.Tagged.After(tagged) {
			tagged = n.Tagged
		}
		named, err := reference.ParseNormalizedNamed(n.Name)
		if err != nil || named.String() != n.Name {
			continue // dangling: no repository
		}
		if _, ok := named.(reference.Tagged); ok {
			out.RepoTags = append(out.RepoTags, reference.FamiliarString(named))
		}
		if n.Digest == "" {
			continue
		}
		rd := reference.FamiliarName(named) + "@" + n.Digest
		if !seenDigest[rd] {
			seenDigest[rd] = true
			out.RepoDigests = append(out.RepoDigests, rd)
		}
	}
	if !tagged.IsZero() {
		out.Metadata.LastTagTime = tagged.UTC().Format(time.RFC3339Nano)
	}
	return out
}
