package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
)

// NetworkHash is the config hash of a top-level network: what it was made
// with that cannot change without making it again (driver, internal,
// labels, ipam subnet and gateway). up recreates a network whose recorded
// hash differs, as docker compose does with its config-hash label.
func NetworkHash(n Network) string {
	driver := n.Driver
	if driver == "" {
		driver = "bridge"
	}
	return hashJSON(struct {
		Driver   string            `json:"driver"`
		Internal bool              `json:"internal,omitempty"`
		Labels   map[string]string `json:"labels,omitempty"`
		Subnet   netip.Prefix      `json:"subnet,omitzero"`
		Gateway  netip.Addr        `json:"gateway,omitzero"`
	}{driver, n.Internal, n.Labels, n.Subnet, n.Gateway})
}

// VolumeHash is the config hash of a named volume (driver, driver_opts,
// labels), kept in its com.docker.compose.config-hash label: up offers to
// recreate a volume whose label differs, as docker compose does.
func VolumeHash(v Volume) string {
	driver := v.Driver
	if driver == "" {
		driver = "local"
	}
	return hashJSON(struct {
		Driver     string            `json:"driver"`
		DriverOpts map[string]string `json:"driver_opts,omitempty"`
		Labels     map[string]string `json:"labels,omitempty"`
	}{driver, v.DriverOpts, v.Labels})
}

func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings, maps of strings and netip values always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
