package build

import (
	"strings"
	"testing"
)

func TestParseEntitlement(t *testing.T) {
	tests := []struct {
		in      string
		want    Entitlement
		wantErr string
	}{
		{"network.host", EntitlementNetworkHost, ""},
		{"security.insecure", EntitlementSecurityInsecure, ""},
		{"network", "", `entitlement "network" is not supported`},
		{"", "", `entitlement "" is not supported`},
	}
	for _, tt := range tests {
		got, err := ParseEntitlement(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseEntitlement(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseEntitlement(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestCheckEntitlements: RUN --network=host runs only when the user grants
// network.host or the whole build is on the host's network; the refusal
// names the Dockerfile's line, and a stage the target does not need is
// not checked, as it does not run.
func TestCheckEntitlements(t *testing.T) {
	const hostRun = "FROM busybox AS a\nRUN true\nRUN --network=host wget x\n"
	const refused = "Dockerfile:3: RUN --network=host needs the network.host entitlement: pass --allow network.host to berth build, or set build.entitlements: [network.host] for the service"
	tests := []struct {
		name, content, target string
		req                   Request
		want                  string
	}{
		{"host refused", hostRun, "", Request{}, refused},
		{"host refused with the default network", hostRun, "", Request{Network: "default"}, refused},
		{"host refused with none", hostRun, "", Request{Network: "none"}, refused},
		{"host granted", hostRun, "", Request{Allow: []Entitlement{EntitlementNetworkHost}}, ""},
		{"whole build on the host", hostRun, "", Request{Network: "host"}, ""},
		{"unknown entitlement", "FROM busybox\nRUN true\n", "", Request{Allow: []Entitlement{"device"}}, `entitlement "device" is not supported`},
		{"insecure refused", "FROM busybox\nRUN --security=insecure true\n", "", Request{Allow: []Entitlement{EntitlementNetworkHost}}, "Dockerfile:2: RUN --security=insecure needs the security.insecure entitlement"},
		{"insecure granted", "FROM busybox\nRUN --security=insecure true\n", "", Request{Allow: []Entitlement{EntitlementSecurityInsecure}}, ""},
		{"required secret missing", "FROM busybox\nRUN --mount=type=secret,id=tok,required cat /run/secrets/tok\n", "", Request{}, `Dockerfile:2: RUN --mount=type=secret,id=tok,required: the build has no secret "tok"`},
		{"required secret given", "FROM busybox\nRUN --mount=type=secret,id=tok,required cat /run/secrets/tok\n", "", Request{Secrets: map[string]Secret{"tok": {Data: []byte("x")}}}, ""},
		{"optional secret missing", "FROM busybox\nRUN --mount=type=secret,id=tok cat /run/secrets/tok || true\n", "", Request{}, ""},
		{"required agent missing", "FROM busybox\nRUN --mount=type=ssh,required ssh-add -l\n", "", Request{}, `the build forwards no SSH agent "default"`},
		{"none and default need nothing", "FROM busybox\nRUN --network=none true\nRUN --network=default true\n", "", Request{}, ""},
		{"unneeded stage not checked", hostRun + "FROM busybox AS b\nRUN true\n", "b", Request{}, ""},
		{"needed stage checked", hostRun + "FROM busybox AS b\nCOPY --from=a /x /x\n", "b", Request{}, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := ParseDockerfile(writeDockerfile(t, tt.content))
			if err != nil {
				t.Fatal(err)
			}
			plans, err := PlanStages(df, tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = checkEntitlements(tt.req, df, plans)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkEntitlements = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("checkEntitlements = %v, want %q", err, tt.want)
			}
		})
	}
}
