package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// partHashLen is how many hex digits of each part's hash LabelConfigParts
// keeps: enough to tell a change, short enough for a label.
const partHashLen = 8

// ServiceHashParts is the config hash of a service split by top-level
// key (environment, image, ports, volumes, command …), normalized as
// ServiceHash normalizes the whole: what tells a user which part of a
// service changed, where the config hash only tells that one did. Keys
// the service leaves empty are absent. It is written as LabelConfigParts
// holds it: "key=hash,key=hash", sorted by key.
func ServiceHashParts(s types.ServiceConfig) (string, error) {
	b, err := json.Marshal(normalizedForHash(s))
	if err != nil {
		return "", fmt.Errorf("hash service %q: %w", s.Name, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return "", fmt.Errorf("hash service %q: %w", s.Name, err)
	}
	keys := make([]string, 0, len(fields))
	for k, v := range fields {
		if k == "name" || string(v) == "null" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		sum := sha256.Sum256(fields[k])
		parts = append(parts, k+"="+hex.EncodeToString(sum[:])[:partHashLen])
	}
	return strings.Join(parts, ","), nil
}

// ChangedParts compares two LabelConfigParts values and returns the keys
// whose hash differs, or that one has and the other not, sorted. Either
// empty (a container an older berth made) tells nothing: nil.
func ChangedParts(was, now string) []string {
	if was == "" || now == "" {
		return nil
	}
	a, b := parseParts(was), parseParts(now)
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func parseParts(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}
