// Package dns is the embedded DNS server of berth's project networks: it
// answers the names of services, containers and aliases to the containers
// that share a network with them, and forwards everything else to the
// host's resolvers.
package dns
