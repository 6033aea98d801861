// Package netbridge owns the host side of container networking: network
// namespaces, and (with later work) bridges, veths, IPAM, NAT and published
// ports, through netlink and nftables.
package netbridge
