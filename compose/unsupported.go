package compose

import (
	"encoding/json"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
)

// runKeys are the service keys berth acts on when it runs a service, or
// that have nothing to run (documentation, build-time and loader-only keys).
var runKeys = map[string]bool{
	"name": true, "profiles": true, "annotations": true, "attach": true, "build": true, "develop": true,
	"cap_add": true, "cap_drop": true, "command": true, "container_name": true, "depends_on": true,
	"domainname": true, "entrypoint": true, "environment": true, "env_file": true, "expose": true,
	"extends": true, "group_add": true, "hostname": true, "image": true, "init": true, "labels": true,
	"label_file": true, "network_mode": true, "platform": true, "privileged": true, "pull_policy": true,
	"read_only": true, "scale": true, "security_opt": true, "stdin_open": true, "stop_grace_period": true,
	"stop_signal": true, "tty": true, "user": true, "working_dir": true, "networks": true,
	"dns": true, "dns_search": true, "dns_opt": true, "extra_hosts": true, "ports": true,
	"healthcheck": true, "restart": true,
	"mem_limit": true, "mem_reservation": true, "memswap_limit": true, "cpus": true, "cpu_shares": true,
	"cpu_period": true, "cpu_quota": true, "pids_limit": true, "shm_size": true, "oom_score_adj": true,
	"ulimits": true, "sysctls": true, "devices": true, "secrets": true, "configs": true,
	"post_start": true, "pre_stop": true, "ipc": true, "pid": true, "uts": true, "userns_mode": true,
	"cgroup": true, "cgroup_parent": true, "cpuset": true, "blkio_config": true, "device_cgroup_rules": true,
	"storage_opt": true, "logging": true, "links": true, "mac_address": true,
}

// Unsupported lists the keys of a service that this version of berth does
// not run yet (ports, volumes, healthcheck, ...), so that up can say so
// instead of silently running the service without them.
func unsupportedKeys(project *types.Project, sc types.ServiceConfig) []string {
	b, err := json.Marshal(sc)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	var keys []string
	for k, v := range m {
		if runKeys[k] || string(v) == "null" || string(v) == "[]" || string(v) == "{}" || string(v) == `""` || string(v) == "false" || string(v) == "0" {
			continue
		}
		switch k {
		case "volumes":
			if ms, err := mountsOf(project, sc); err == nil && len(ms) == len(sc.Volumes)+len(sc.Tmpfs) {
				continue
			}
		case "tmpfs":
			continue
		case "deploy":
			if d := sc.Deploy; d != nil {
				rest := *d
				rest.Replicas = nil
				rest.RestartPolicy = nil
				if rest.Resources.Limits != nil {
					lim := *rest.Resources.Limits
					lim.NanoCPUs, lim.MemoryBytes, lim.Pids = 0, 0, 0
					if b, _ := json.Marshal(lim); string(b) == "{}" {
						rest.Resources.Limits = nil
					}
				}
				if rest.Resources.Reservations != nil {
					res := *rest.Resources.Reservations
					res.MemoryBytes = 0
					if b, _ := json.Marshal(res); string(b) == "{}" {
						rest.Resources.Reservations = nil
					}
				}
				empty, _ := json.Marshal(types.DeployConfig{})
				if b, err := json.Marshal(rest); err == nil && string(b) == string(empty) {
					continue
				}
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
