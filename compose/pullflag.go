package compose

import "fmt"

// ParsePullPolicy reads the value of up's --pull: always, missing (or
// its older spelling if_not_present), never or build. "policy", the
// flag's default, is each service's own pull_policy and returns "".
func ParsePullPolicy(v string) (PullPolicy, error) {
	switch v {
	case "policy", "":
		return "", nil
	case "always":
		return PullAlways, nil
	case "missing", "if_not_present":
		return PullMissing, nil
	case "never":
		return PullNever, nil
	case "build":
		return PullBuild, nil
	}
	return "", fmt.Errorf("invalid --pull option %q: use always, missing, never or build (or policy: each service's pull_policy)", v)
}

// OverridePullPolicy gives every service the pull policy pp instead of
// its pull_policy, as up --pull does in docker compose. A service with
// only a build section keeps its own: it has no image anywhere to pull
// (docker compose never pulls one either), and it is built when missing.
// A service with a build section keeps its own under always and never
// too: docker compose still builds its missing image then, ignoring a
// failed pull, where berth would refuse. An empty pp changes nothing.
func (p *Project) OverridePullPolicy(pp PullPolicy) {
	if pp == "" {
		return
	}
	for _, s := range p.Services {
		switch {
		case s.Image == "":
			continue
		case s.HasBuild && (pp == PullAlways || pp == PullNever):
			continue
		}
		s.PullPolicy = pp
	}
}
