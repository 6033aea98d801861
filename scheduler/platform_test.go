package scheduler

import (
	"context"
	"testing"

	"github.com/berth/berth/compose"
)

// imageIDRuntime answers ImageID; platformIDRuntime PlatformImageID too.
type imageIDRuntime struct{ Runtime }

func (imageIDRuntime) ImageID(_ context.Context, image string) (string, error) {
	return "id:" + image, nil
}

type platformIDRuntime struct{ imageIDRuntime }

func (platformIDRuntime) PlatformImageID(_ context.Context, image, platform string) (string, error) {
	return "id:" + image + "@" + platform, nil
}

// TestServiceImageID: a service with platform: is compared with its
// image's ID for that platform when the runtime can tell it.
func TestServiceImageID(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rt       Runtime
		platform string
		want     string
	}{
		{"host platform", platformIDRuntime{}, "", "id:app"},
		{"platform", platformIDRuntime{}, "linux/arm64", "id:app@linux/arm64"},
		{"runtime without platforms", imageIDRuntime{}, "linux/arm64", "id:app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &compose.Service{Name: "app", Image: "app", Platform: tc.platform}
			got, err := serviceImageID(context.Background(), tc.rt, s)
			if err != nil || got != tc.want {
				t.Errorf("serviceImageID(platform %q) = %q, %v; want %q", tc.platform, got, err, tc.want)
			}
		})
	}
}
