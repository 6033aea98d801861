package kube

import (
	"strings"

	"github.com/berth/berth/compose"
)

// checkService refuses what the service needs of the host and warns about
// what it sets that a pod does not have.
func (c *converter) checkService(s *compose.Service) {
	switch m := s.NetworkMode; {
	case m == "host":
		c.refusef(s.Name, "network_mode: host uses the host's network, which a pod on a cluster does not have; remove it and publish ports instead")
	case strings.HasPrefix(m, "service:"), strings.HasPrefix(m, "container:"):
		c.refusef(s.Name, "network_mode: %s shares another container's network; run the two as one service, or remove it", m)
	case m == "none":
		c.warnf(s.Name, "network_mode: none: the pod still has the cluster's network")
	}
	ns := []struct {
		key  string
		mode compose.NamespaceMode
	}{{"ipc", s.Namespaces.IPC}, {"pid", s.Namespaces.PID}, {"uts", s.Namespaces.UTS}}
	for _, n := range ns {
		switch {
		case n.mode.Host():
			c.refusef(s.Name, "%s: host shares the host's %s namespace, which a pod on a cluster does not have; remove it", n.key, n.key)
		case n.mode.Service() != "" || n.mode.Container() != "":
			c.refusef(s.Name, "%s: %s shares another container's namespace; run the two as one service, or remove it", n.key, n.mode)
		case n.mode != "" && n.mode != "private" && n.mode != "shareable":
			c.warnf(s.Name, "%s: %s is not carried over", n.key, n.mode)
		}
	}
	if s.Namespaces.UserNS != "" {
		c.warnf(s.Name, "userns_mode: %s is not carried over", s.Namespaces.UserNS)
	}
	if s.Namespaces.Cgroup != "" {
		c.warnf(s.Name, "cgroup: %s is not carried over", s.Namespaces.Cgroup)
	}
	for _, v := range s.VolumesFrom {
		c.refusef(s.Name, "volumes_from %s: pods cannot share another's volumes; name the volumes in both services", v)
	}
	for _, d := range s.Resources.Devices {
		c.refusef(s.Name, "devices %s: a host device is not on the cluster's nodes; remove it (a device plugin gives pods devices)", d.Source)
	}
	for _, n := range s.Networks {
		if n.IPv4Address.IsValid() {
			c.warnf(s.Name, "networks.%s.ipv4_address %s: pods get their addresses from the cluster", n.Key, n.IPv4Address)
		}
		if n.MACAddress != "" {
			c.warnf(s.Name, "networks.%s.mac_address is not carried over", n.Key)
		}
		if n.InterfaceName != "" {
			c.warnf(s.Name, "networks.%s.interface_name is not carried over: a pod has one interface", n.Key)
		}
	}
	if s.CgroupParent != "" {
		c.warnf(s.Name, "cgroup_parent is not carried over")
	}
	if len(s.StorageOpt) > 0 {
		c.warnf(s.Name, "storage_opt is not carried over")
	}
	if d := s.Logging.Driver; d != "" && d != compose.LogJSONFile && d != compose.LogLocal {
		c.warnf(s.Name, "logging driver %s: the kubelet keeps container logs itself", d)
	}
	for _, k := range s.Unsupported {
		c.warnf(s.Name, "%s is not carried over (berth does not run it on one machine either)", k)
	}
}
