package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/compose-spec/compose-go/v2/types"
)

// ServiceHash is the config hash of a service, computed as docker compose
// computes it: the JSON of the service with the fields that must not force a
// recreate cleared (build, pull_policy, scale and replicas, depends_on,
// profiles, develop). A container whose config-hash label differs from its service's
// hash is recreated by up.
func ServiceHash(s types.ServiceConfig) (string, error) {
	b, err := json.Marshal(normalizedForHash(s))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// normalizedForHash is s with the fields that must not force a recreate
// cleared: what ServiceHash and ServiceHashParts hash.
func normalizedForHash(s types.ServiceConfig) types.ServiceConfig {
	s.Build = nil
	s.PullPolicy = ""
	s.Scale = nil
	if s.Deploy != nil {
		deploy := *s.Deploy
		one := 1
		deploy.Replicas = &one
		s.Deploy = &deploy
	}
	s.DependsOn = nil
	s.Profiles = nil
	s.Develop = nil // watch rules change what berth watch does, not the container
	return s
}
