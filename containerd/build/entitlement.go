package build

import (
	"fmt"
	"slices"

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

// EntitlementSecurityInsecure lets RUN --security=insecure run a step
// privileged: every capability, the host's devices, no seccomp profile.
const EntitlementSecurityInsecure Entitlement = "security.insecure"

// ParseEntitlement reads an --allow value or a build.entitlements entry.
func ParseEntitlement(s string) (Entitlement, error) {
	switch Entitlement(s) {
	case EntitlementNetworkHost, EntitlementSecurityInsecure:
		return Entitlement(s), nil
	}
	return "", fmt.Errorf("entitlement %q is not supported: berth's builder grants %s and %s", s, EntitlementNetworkHost, EntitlementSecurityInsecure)
}

// grants reports whether the request allows e.
func (req Request) grants(e Entitlement) bool {
	return slices.Contains(req.Allow, e)
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
				for _, check := range []func(Request, *instructions.RunCommand) error{checkRunNetwork, checkRunSecurity, checkRunMounts} {
					if err := check(req, c); err != nil {
						return fmt.Errorf("%s:%d: %w", df.Path, line(c), err)
					}
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

// checkRunSecurity refuses RUN --security=insecure unless the request
// grants it.
func checkRunSecurity(req Request, c *instructions.RunCommand) error {
	if instructions.GetSecurity(c) != instructions.SecurityInsecure || req.grants(EntitlementSecurityInsecure) {
		return nil
	}
	return fmt.Errorf("RUN --security=insecure needs the %s entitlement: pass --allow %[1]s to berth build, or set build.privileged: true (or build.entitlements: [%[1]s]) for the service",
		EntitlementSecurityInsecure)
}
