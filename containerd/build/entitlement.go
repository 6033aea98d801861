package build

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Entitlement is a privilege a Dockerfile may use only when the user who
// runs the build grants it, as BuildKit's entitlements (docker buildx build
// --allow, compose's build.entitlements): a Dockerfile is input from
// whoever wrote it, and must not give itself the host.
type Entitlement string

// EntitlementNetworkHost lets RUN --network=host run a step in the host's
// network namespace.
const EntitlementNetworkHost Entitlement = "network.host"

// ParseEntitlement reads an --allow value or a build.entitlements entry.
// berth grants network.host only: security.insecure (privileged RUN steps)
// is what its builder never does.
func ParseEntitlement(s string) (Entitlement, error) {
	if s == string(EntitlementNetworkHost) {
		return EntitlementNetworkHost, nil
	}
	return "", fmt.Errorf("entitlement %q is not supported: berth's builder grants only %s", s, EntitlementNetworkHost)
}

// grantsNetworkHost reports whether the request allows RUN steps to ask for the
// host's network: the user granted network.host, or the whole build runs
// on the host's network already (build --network host).
func (req Request) grantsNetworkHost() bool {
	if req.Network == string(NetworkHost) {
		return true
	}
	for _, e := range req.Allow {
		if e == EntitlementNetworkHost {
			return true
		}
	}
	return false
}

// checkEntitlements refuses, before anything runs, a RUN of the planned
// stages that asks for what the request does not grant.
func checkEntitlements(req Request, df *Dockerfile, plans []StagePlan) error {
	for _, e := range req.Allow {
		if _, err := ParseEntitlement(string(e)); err != nil {
			return err
		}
	}
	for _, p := range plans {
		for _, cmd := range df.Stages[p.Index].Commands {
			if c, ok := cmd.(*instructions.RunCommand); ok {
				if err := checkRunNetwork(req, c); err != nil {
					return fmt.Errorf("%s:%d: %w", df.Path, line(c), err)
				}
			}
		}
	}
	return nil
}

// checkRunNetwork refuses RUN --network=host unless the request grants it.
func checkRunNetwork(req Request, c *instructions.RunCommand) error {
	if instructions.GetNetwork(c) != instructions.NetworkHost || req.grantsNetworkHost() {
		return nil
	}
	return fmt.Errorf("RUN --network=host needs the %s entitlement: pass --allow %[1]s to berth build, or set build.entitlements: [%[1]s] for the service",
		EntitlementNetworkHost)
}
