package imageview

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// Find is every name of the image that ref names in all: ref is a
// reference (busybox, me/app:1), which gives that name; or an image ID
// (sha256:… or its first hex digits, at least 4, as docker takes them),
// which gives all the image's names. It fails, with an error
// errdefs.IsNotFound satisfies, when no image matches.
func Find(all []Image, ref string) ([]Image, error) {
	if id, ok := idPrefix(ref); ok {
		var found []Image
		for _, img := range all {
			if strings.HasPrefix(strings.TrimPrefix(img.ID, "sha256:"), id) {
				found = append(found, img)
			}
		}
		groups := Group(found)
		switch {
		case len(groups) == 1:
			return groups[0], nil
		case len(groups) > 1:
			return nil, fmt.Errorf("image ID %s is ambiguous: %d images start with it; give more of it", ref, len(groups))
		}
		if strings.HasPrefix(ref, "sha256:") {
			return nil, KindError(errdefs.ErrNotFound, "no such image: %s", ref)
		}
	}
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	for _, img := range all {
		if img.Name == named.String() {
			return []Image{img}, nil
		}
	}
	return nil, KindError(errdefs.ErrNotFound, "no such image: %s", ref)
}

// NamesOf are the names in all of the image whose ID is id.
func NamesOf(all []Image, id string) []Image {
	var out []Image
	for _, img := range all {
		if img.ID == id {
			out = append(out, img)
		}
	}
	return out
}

// idPrefix reports whether ref is (the beginning of) an image ID, as
// docker reads one: sha256: and hex digits, or 4 to 64 hex digits alone
// (which a repository name could also be: the ID is tried first).
func idPrefix(ref string) (string, bool) {
	hexPart, prefixed := strings.CutPrefix(ref, "sha256:")
	if len(hexPart) == 0 || len(hexPart) > 64 || (!prefixed && len(hexPart) < 4) {
		return "", false
	}
	even := hexPart
	if len(even)%2 == 1 {
		even += "0"
	}
	if _, err := hex.DecodeString(even); err != nil {
		return "", false
	}
	return strings.ToLower(hexPart), hexPart == strings.ToLower(hexPart)
}

// kindError is an error that errdefs classifies as kind (errdefs.IsNotFound
// …) and that prints only its message, without the kind's words.
type kindError struct {
	msg  string
	kind error
}

func (e kindError) Error() string        { return e.msg }
func (e kindError) Is(target error) bool { return target == e.kind }

// KindError is an error with the message, of the errdefs kind (such as
// errdefs.ErrNotFound, errdefs.ErrConflict), that reads as the message
// alone: "no such image: x", not "no such image: x: not found".
func KindError(kind error, format string, a ...any) error {
	return kindError{msg: fmt.Sprintf(format, a...), kind: kind}
}
