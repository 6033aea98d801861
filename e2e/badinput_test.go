//go:build e2e

package e2e

import (
	"strings"
	"sync"
	"testing"
)

// svc is a compose file of one service a (image: the test image) with
// more keys, indented as keys of a.
func svc(keys string) string {
	return "services:\n  a:\n    image: " + testImage + "\n    " + strings.ReplaceAll(keys, "\n", "\n    ") + "\n"
}

// laughsFile is a "billion laughs" compose file: 416 bytes of nested YAML
// aliases that expand to 10^9 values.
const laughsFile = `x-lol: &lol "lol"
x-l1: &l1 [*lol,*lol,*lol,*lol,*lol,*lol,*lol,*lol,*lol]
x-l2: &l2 [*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1,*l1]
x-l3: &l3 [*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2,*l2]
x-l4: &l4 [*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3,*l3]
x-l5: &l5 [*l4,*l4,*l4,*l4,*l4,*l4,*l4,*l4,*l4]
x-l6: &l6 [*l5,*l5,*l5,*l5,*l5,*l5,*l5,*l5,*l5]
x-l7: &l7 [*l6,*l6,*l6,*l6,*l6,*l6,*l6,*l6,*l6]
x-l8: &l8 [*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7,*l7]
x-l9: &l9 [*l8,*l8,*l8,*l8,*l8,*l8,*l8,*l8,*l8]
services:
  a:
    image: busybox
    command: *l9
`

// buildSvc is a compose file of one service built from the context ./ctx.
const buildSvc = "services:\n  a:\n    build: ./ctx\n"

// dockerfile is a build context holding a Dockerfile of these lines.
func dockerfile(lines ...string) map[string]string {
	return map[string]string{"ctx/Dockerfile": strings.Join(lines, "\n") + "\n", "ctx/f.txt": "f\n"}
}

// badInputCase is one bad input: a compose file (and files beside it), a
// berth command, and what its one-line error must say.
type badInputCase struct {
	name    string
	compose string
	files   map[string]string
	args    []string
	want    []string
}

// badInputCases are the bad inputs of TestBadInputTable: compose files
// (most), Dockerfiles and the command line.
func badInputCases() []badInputCase {
	up := []string{"up", "-d"}
	ok := svc("command: [sleep, '60']")
	return []badInputCase{
		// YAML and the compose schema.
		{"billion laughs", laughsFile, nil, up, []string{"compose.yaml line", "alias *", "expand too far"}},
		{"alias cycle", "services:\n  a: &a\n    image: x\n    labels: {x: *a}\n", nil, up, []string{"compose.yaml line 4", "alias *a"}},
		{"nesting too deep", ok + "x-deep: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "\n", nil, up, []string{"compose.yaml line", "levels"}},
		{"yaml tab indent", "services:\n\ta:\n\t\timage: x\n", nil, up, []string{"compose.yaml", "yaml"}},
		{"yaml unclosed quote", "services:\n  a:\n    image: \"x\n", nil, up, []string{"compose.yaml", "yaml"}},
		{"yaml duplicate key", "services:\n  a:\n    image: x\n    image: y\n", nil, up, []string{"compose.yaml", "image"}},
		{"top level list", "- a\n- b\n", nil, up, []string{"compose.yaml", "mapping"}},
		{"unknown top-level key", ok + "servicez: {}\n", nil, up, []string{"compose.yaml", "servicez"}},
		{"unknown service key", svc("colour: red"), nil, up, []string{"compose.yaml", "colour"}},
		{"services a list", "services: [a, b]\n", nil, up, []string{"compose.yaml", "services"}},
		{"no image no build", "services:\n  a:\n    command: x\n", nil, up, []string{`"a"`, "image"}},
		{"bad service name", "services:\n  'a b':\n    image: x\n", nil, up, []string{"compose.yaml", "a b"}},
		{"missing required variable", svc("command: ${MUST:?set MUST first}"), nil, up, []string{"MUST", "set MUST first"}},
		{"bad interpolation", svc("command: ${A"), nil, up, []string{"compose.yaml", "${A"}},
		{"unknown depends_on", svc("depends_on: [nope]"), nil, up, []string{`"nope"`}},
		{"depends_on bad condition", "services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_happy}}\n  b:\n    image: x\n", nil, up, []string{"compose.yaml", "depends_on.b.condition"}},
		{"dependency cycle", "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", nil, up, []string{"a -> b -> a"}},
		{"extends unknown service", svc("extends: {service: nope}"), nil, up, []string{"nope"}},
		{"extends missing file", svc("extends: {file: gone.yaml, service: a}"), nil, up, []string{"gone.yaml"}},
		{"include missing file", "include: [gone.yaml]\n" + ok, nil, up, []string{"gone.yaml"}},
		{"include billion laughs", "include: [laughs.yaml]\n" + ok, map[string]string{"laughs.yaml": laughsFile}, up, []string{"laughs.yaml line", "expand too far"}},
		{"profiles not a list", svc("profiles: dev"), nil, up, []string{"compose.yaml", "profiles"}},
		{"container_name with scale", svc("container_name: one\nscale: 2"), nil, up, []string{"compose.yaml", "container_name"}},
		{"duplicate container_name", "services:\n  a:\n    image: x\n    container_name: same\n  b:\n    image: x\n    container_name: same\n", nil, up, []string{"compose.yaml", `services "a" and "b"`, `"same"`}},
		// Volumes and tmpfs.
		{"volume bad mode", svc("volumes: ['/tmp:/data:zz']"), nil, up, []string{"compose.yaml line 4", `service "a"`, `unknown mode "zz"`}},
		{"volume bad mode in list", svc("volumes: ['/tmp:/data:ro,rx']"), nil, up, []string{"compose.yaml line 4", `"rx"`}},
		{"volume too many colons", svc("volumes: ['/tmp:/data:ro:x']"), nil, up, []string{"compose.yaml line 4", "too many colons"}},
		{"volume relative target", svc("volumes: ['/data:zz']"), nil, up, []string{"compose.yaml", `service "a"`, `target "zz"`, "absolute"}},
		{"named volume relative target", svc("volumes: ['data:0']") + "volumes:\n  data: {}\n", nil, up, []string{"compose.yaml", `target "0"`}},
		{"bind relative target", svc("volumes: ['./x:rel']"), nil, up, []string{"compose.yaml", `target "rel"`}},
		{"volume on root", svc("volumes: ['/tmp:/']"), nil, up, []string{"compose.yaml", "cannot be mounted on /"}},
		{"undefined named volume", svc("volumes: ['data:/data']"), nil, up, []string{"compose.yaml", "data"}},
		{"long volume no target", svc("volumes: [{type: bind, source: /tmp}]"), nil, up, []string{"compose.yaml", "target"}},
		{"long volume bad type", svc("volumes: [{type: nfs, source: x, target: /x}]"), nil, up, []string{"compose.yaml", "volumes.0.type"}},
		{"tmpfs bad size", svc("tmpfs: ['/x:size=lots']"), nil, up, []string{"compose.yaml", `tmpfs "/x:size=lots"`, "size"}},
		{"tmpfs negative size", svc("tmpfs: ['/x:size=-1m']"), nil, up, []string{"compose.yaml", "size"}},
		{"tmpfs bad mode", svc("tmpfs: ['/x:mode=999']"), nil, up, []string{"compose.yaml", "tmpfs mode"}},
		{"tmpfs unknown option", svc("tmpfs: ['/x:sise=1m']"), nil, up, []string{"compose.yaml", `"sise=1m"`}},
		{"tmpfs bad uid", svc("tmpfs: ['/x:uid=root']"), nil, up, []string{"compose.yaml", "uid"}},
		{"tmpfs relative path", svc("tmpfs: [x]"), nil, up, []string{"compose.yaml", "absolute"}},
		{"tmpfs long bad size", svc("volumes: [{type: tmpfs, target: /x, tmpfs: {size: lots}}]"), nil, up, []string{"compose.yaml", "size"}},
		{"tmpfs volume bad size", svc("volumes: ['cache:/cache']") + "volumes:\n  cache:\n    driver_opts: {type: tmpfs, device: tmpfs, o: size=lots}\n", nil, up, []string{"compose.yaml", `volume "`, "size"}},
		{"tmpfs volume bad option", svc("volumes: ['cache:/cache']") + "volumes:\n  cache:\n    driver_opts: {type: tmpfs, device: tmpfs, o: 'size=1m,bogus'}\n", nil, up, []string{"compose.yaml", `"bogus"`}},
		{"volume driver unsupported", svc("volumes: ['data:/data']") + "volumes:\n  data:\n    driver: nfs\n", nil, up, []string{`"nfs"`}},
		{"volume driver_opts unknown key", svc("volumes: ['data:/data']") + "volumes:\n  data:\n    driver_opts: {colour: red}\n", nil, up, []string{`"colour"`}},
		{"volume bind device relative", svc("volumes: ['data:/data']") + "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: rel}\n", nil, up, []string{"absolute host path"}},
		{"external volume missing", svc("volumes: ['data:/data']") + "volumes:\n  data:\n    external: true\n    name: berth-e2e-nobody-made-this\n", nil, up, []string{"berth-e2e-nobody-made-this"}},
		// Durations, sizes, numbers.
		{"negative stop_grace_period", svc("stop_grace_period: -5s"), nil, up, []string{"compose.yaml", `service "a"`, "stop_grace_period", "negative"}},
		{"bad stop_grace_period", svc("stop_grace_period: soon"), nil, up, []string{"compose.yaml", "soon"}},
		{"bad stop_signal", svc("stop_signal: SIGNOPE"), nil, up, []string{"compose.yaml", "stop_signal", "SIGNOPE"}},
		{"bad healthcheck interval", svc("healthcheck: {test: [CMD, 'true'], interval: often}"), nil, up, []string{"compose.yaml", "often"}},
		{"negative healthcheck interval", svc("healthcheck: {test: [CMD, 'true'], interval: -1s}"), nil, up, []string{"compose.yaml", "healthcheck.interval"}},
		{"tiny healthcheck timeout", svc("healthcheck: {test: [CMD, 'true'], timeout: 10us}"), nil, up, []string{"compose.yaml", "healthcheck.timeout", "1ms"}},
		{"negative healthcheck retries", svc("healthcheck: {test: [CMD, 'true'], retries: -1}"), nil, up, []string{"compose.yaml", "retries"}},
		{"healthcheck bad test", svc("healthcheck: {test: [BOGUS, x]}"), nil, up, []string{"compose.yaml", "healthcheck.test"}},
		{"bad mem_limit", svc("mem_limit: lots"), nil, up, []string{"compose.yaml", "lots"}},
		{"negative mem_limit", svc("mem_limit: -1"), nil, up, []string{"compose.yaml", "mem_limit"}},
		{"bad shm_size", svc("shm_size: 1x"), nil, up, []string{"compose.yaml", "shm_size"}},
		{"memswap below mem_limit", svc("mem_limit: 64m\nmemswap_limit: 32m"), nil, up, []string{"compose.yaml", "memswap_limit"}},
		{"cpus above the host", svc("cpus: 4096"), nil, up, []string{"compose.yaml", `service "a"`, "CPUs available"}},
		{"run cpus above the host", svc("cpus: 4096"), nil, []string{"run", "--rm", "-T", "a", "true"}, []string{"compose.yaml", `service "a"`, "CPUs available"}},
		{"cpus negative", svc("cpus: -1"), nil, up, []string{"compose.yaml", "cpus"}},
		{"cpus not a number", svc("cpus: many"), nil, up, []string{"compose.yaml", "many"}},
		{"deploy cpus above the host", svc("deploy: {resources: {limits: {cpus: '4096'}}}"), nil, up, []string{"compose.yaml", "CPUs available"}},
		{"bad cpu_period", svc("cpu_period: 10"), nil, up, []string{"compose.yaml", "cpu_period"}},
		{"bad cpu_quota", svc("cpu_quota: 10"), nil, up, []string{"compose.yaml", "cpu_quota"}},
		{"bad oom_score_adj", svc("oom_score_adj: 5000"), nil, up, []string{"compose.yaml", "oom_score_adj"}},
		{"bad pids_limit", svc("pids_limit: -5"), nil, up, []string{"compose.yaml", "pids_limit"}},
		{"negative scale", svc("scale: -1"), nil, up, []string{"compose.yaml", "scale"}},
		{"negative replicas", svc("deploy: {replicas: -2}"), nil, up, []string{"compose.yaml", "replicas"}},
		// Capabilities, ulimits, sysctls, devices.
		{"unknown cap_add", svc("cap_add: [NET_ADMINN]"), nil, up, []string{"compose.yaml", `service "a"`, "cap_add", "NET_ADMINN"}},
		{"unknown cap_add prefixed", svc("cap_add: [cap_bogus]"), nil, up, []string{"compose.yaml", "cap_bogus"}},
		{"unknown cap_drop", svc("cap_drop: [CHOWNN]"), nil, up, []string{"compose.yaml", "cap_drop", "CHOWNN"}},
		{"unknown ulimit", svc("ulimits: {nofiles: 10}"), nil, up, []string{"compose.yaml", "nofiles"}},
		{"ulimit soft above hard", svc("ulimits: {nofile: {soft: 20, hard: 10}}"), nil, up, []string{"compose.yaml", "ulimits.nofile"}},
		{"ulimit not a number", svc("ulimits: {nofile: many}"), nil, up, []string{"compose.yaml", "nofile"}},
		{"ulimit negative", svc("ulimits: {nofile: {soft: -5, hard: -5}}"), nil, up, []string{"compose.yaml", "nofile"}},
		{"host sysctl", svc("sysctls: {kernel.hostname: x}"), nil, up, []string{"compose.yaml", "kernel.hostname"}},
		{"net sysctl on host network", svc("network_mode: host\nsysctls: {net.ipv4.ip_forward: 1}"), nil, up, []string{"compose.yaml", "network_mode host"}},
		{"device relative", svc("devices: ['null:/dev/x']"), nil, up, []string{"compose.yaml", "devices"}},
		{"device bad permissions", svc("devices: ['/dev/null:/dev/x:rwx']"), nil, up, []string{"compose.yaml", "rwx"}},
		// Ports and networks.
		{"port four parts", svc("ports: ['80:80:80:80']"), nil, up, []string{"compose.yaml", "80:80"}},
		{"port not a number", svc("ports: ['http:80']"), nil, up, []string{"compose.yaml", "http"}},
		{"port out of range", svc("ports: ['70000:80']"), nil, up, []string{"compose.yaml", "70000"}},
		{"port reversed range", svc("ports: ['90-80:80']"), nil, up, []string{"compose.yaml", "90-80"}},
		{"port bad protocol", svc("ports: ['80:80/sctp']"), nil, up, []string{"compose.yaml", "sctp"}},
		{"port bad host ip", svc("ports: ['1.2.3:80:80']"), nil, up, []string{"compose.yaml", "1.2.3"}},
		{"ports with network_mode none", svc("network_mode: none\nports: ['80']"), nil, up, []string{"compose.yaml", "network_mode"}},
		{"undefined network", svc("networks: [nope]"), nil, up, []string{"compose.yaml", "nope"}},
		{"network driver overlay", ok + "networks:\n  default:\n    driver: overlay\n", nil, up, []string{`network "default"`, "overlay"}},
		{"bad ipv4_address", svc("networks: {default: {ipv4_address: 999.1.1.1}}"), nil, up, []string{"compose.yaml", "999.1.1.1"}},
		{"bad ipam subnet", ok + "networks:\n  default:\n    ipam: {config: [{subnet: 10.1.2.3/99}]}\n", nil, up, []string{"compose.yaml", "10.1.2.3/99"}},
		{"bad dns", svc("dns: [not-an-ip]"), nil, up, []string{"compose.yaml", "dns", "not-an-ip"}},
		{"bad extra_hosts", svc("extra_hosts: ['h:not-an-ip']"), nil, up, []string{"compose.yaml", "extra_hosts"}},
		{"extra_hosts no address", svc("extra_hosts: ['justaname']"), nil, up, []string{"compose.yaml", "justaname"}},
		// Restart policies, env files, secrets.
		{"bad restart", svc("restart: sometimes"), nil, up, []string{"compose.yaml", `"sometimes"`}},
		{"restart bad maximum", svc("restart: on-failure:x"), nil, up, []string{"compose.yaml", "on-failure:x"}},
		{"restart max on always", svc("restart: always:3"), nil, up, []string{"compose.yaml", "always:3"}},
		{"deploy restart condition", svc("deploy: {restart_policy: {condition: sometimes}}"), nil, up, []string{"compose.yaml", "sometimes"}},
		{"deploy restart negative delay", svc("deploy: {restart_policy: {delay: -1s}}"), nil, up, []string{"compose.yaml", "delay"}},
		{"missing env_file", svc("env_file: [missing.env]"), nil, up, []string{"missing.env"}},
		{"raw env_file no name", svc("env_file: [{path: bad.env, format: raw}]"), map[string]string{"bad.env": "=x\n"}, up, []string{"bad.env line 1"}},
		{"raw env_file space", svc("env_file: [{path: bad.env, format: raw}]"), map[string]string{"bad.env": "A B=1\n"}, up, []string{"bad.env line 1", "whitespace"}},
		{"undefined secret", svc("secrets: [nope]"), nil, up, []string{"compose.yaml", "nope"}},
		{"external secret", svc("secrets: [s]") + "secrets:\n  s:\n    external: true\n", nil, up, []string{"compose.yaml", "external"}},
		{"secret bad uid", svc("secrets: [{source: s, uid: root}]") + "secrets:\n  s:\n    file: ./s.txt\n", map[string]string{"s.txt": "x"}, up, []string{"compose.yaml", `"root"`}},
		{"unknown user with a new volume", svc("user: nosuchuser\nvolumes: ['data:/data']\nports: ['127.0.0.1::80']") + "volumes:\n  data: {}\n", nil, up, []string{`service "a"`, `user "nosuchuser"`}},
		{"missing secret file", svc("secrets: [s]\nvolumes: ['data:/data']") + "secrets:\n  s:\n    file: ./missing.txt\nvolumes:\n  data: {}\n", nil, up, []string{"missing.txt"}},
		{"pull_policy bad", svc("pull_policy: sometimes"), nil, up, []string{"compose.yaml", "sometimes"}},
		// Dockerfiles.
		{"dockerfile unknown instruction", buildSvc, dockerfile("FROM "+testImage, "FROMM x"), []string{"build"}, []string{"Dockerfile", "FROMM"}},
		{"dockerfile no FROM", buildSvc, dockerfile("RUN true"), []string{"build"}, []string{"Dockerfile", "FROM"}},
		{"dockerfile empty FROM", buildSvc, dockerfile("FROM"), []string{"build"}, []string{"Dockerfile", "FROM"}},
		{"dockerfile unknown stage index", buildSvc, dockerfile("FROM "+testImage, "COPY --from=5 /x /x"), []string{"build"}, []string{"Dockerfile:2", "stage 5"}},
		// An unknown stage name is an image to pull, as in Docker: this
		// one from a closed loopback port, not from the internet.
		{"dockerfile unknown stage", buildSvc, dockerfile("FROM "+testImage, "COPY --from=127.0.0.1:1/nope /x /x"), []string{"build"}, []string{"Dockerfile:2", "127.0.0.1:1/nope"}},
		{"dockerfile unknown flag", buildSvc, dockerfile("FROM "+testImage, "COPY --bogus=1 f.txt /x"), []string{"build"}, []string{"Dockerfile", "bogus"}},
		{"dockerfile missing source", buildSvc, dockerfile("FROM "+testImage, "COPY nothere.txt /x"), []string{"build"}, []string{"Dockerfile", "nothere.txt"}},
		{"dockerfile bad healthcheck", buildSvc, dockerfile("FROM "+testImage, "HEALTHCHECK --interval=often CMD true"), []string{"build"}, []string{"Dockerfile", "often"}},
		{"dockerfile bad expose", buildSvc, dockerfile("FROM "+testImage, "EXPOSE http"), []string{"build"}, []string{"Dockerfile", "http"}},
		{"dockerfile missing", buildSvc, map[string]string{"ctx/f.txt": "f"}, []string{"build"}, []string{"Dockerfile"}},
		{"dockerfile named missing", "services:\n  a:\n    build: {context: ./ctx, dockerfile: Nope.Dockerfile}\n", dockerfile("FROM " + testImage), []string{"build"}, []string{"Nope.Dockerfile"}},
		{"build unknown target", "services:\n  a:\n    build: {context: ./ctx, target: nope}\n", dockerfile("FROM " + testImage + " AS base"), []string{"build"}, []string{"nope"}},
		{"build context missing", "services:\n  a:\n    build: ./gone\n", nil, []string{"build"}, []string{"gone"}},
		{"dockerfile RUN fails", buildSvc, dockerfile("FROM "+testImage, "RUN exit 3"), []string{"up", "-d", "--build"}, []string{"exit 3"}},
		{"dockerfile RUN network host not granted", buildSvc, dockerfile("FROM "+testImage, "RUN --network=host true"), []string{"build"}, []string{"Dockerfile:2", "RUN --network=host needs the network.host entitlement", "--allow network.host"}},
		{"build unknown entitlement", "services:\n  a:\n    build: {context: ./ctx, entitlements: [device.fuse]}\n", dockerfile("FROM " + testImage), []string{"build"}, []string{`service "a"`, `build.entitlements: "device.fuse"`}},
		{"build --allow unknown", buildSvc, dockerfile("FROM " + testImage), []string{"build", "--allow", "network"}, []string{`--allow: entitlement "network" is not supported`}},
		{"dockerfile bad ARG", buildSvc, dockerfile("ARG", "FROM "+testImage), []string{"build"}, []string{"Dockerfile", "ARG"}},
		// The command line.
		{"unknown flag", ok, nil, []string{"up", "--bogus"}, []string{"--bogus"}},
		{"unknown global flag", ok, nil, []string{"--bogus", "ps"}, []string{"--bogus"}},
		{"unknown command", ok, nil, []string{"upp"}, []string{"upp"}},
		{"bad timeout", ok, nil, []string{"up", "-d", "--timeout", "soon"}, []string{"soon"}},
		{"bad tail", ok, nil, []string{"logs", "--tail", "x"}, []string{"--tail"}},
		{"unknown service up", ok, nil, []string{"up", "-d", "nope"}, []string{"no such service: nope"}},
		{"unknown service logs", ok, nil, []string{"logs", "nope"}, []string{"nope"}},
		{"unknown service stop", ok, nil, []string{"stop", "nope"}, []string{"nope"}},
		{"unknown service restart", ok, nil, []string{"restart", "nope"}, []string{"nope"}},
		{"unknown service run", ok, nil, []string{"run", "--rm", "nope"}, []string{"nope"}},
		{"unknown service build", ok, nil, []string{"build", "nope"}, []string{"nope"}},
		{"missing -f file", ok, nil, []string{"-f", "missing.yaml", "up", "-d"}, []string{"missing.yaml (-f)", "no such file"}},
		{"-f a directory", ok, map[string]string{"dir/x": "x"}, []string{"-f", "dir", "up", "-d"}, []string{"dir (-f)", "is a directory"}},
		{"-f billion laughs", ok, map[string]string{"laughs.yaml": laughsFile}, []string{"-f", "laughs.yaml", "config"}, []string{"laughs.yaml line", "expand too far"}},
		{"missing --env-file", ok, nil, []string{"--env-file", "missing.env", "up", "-d"}, []string{"missing.env"}},
		{"bad --env-file", svc("command: [echo, '${X}']"), map[string]string{"bad.env": "X='unterminated\n"}, []string{"--env-file", "bad.env", "up", "-d"}, []string{"bad.env"}},
		{"bad --scale", ok, nil, []string{"up", "-d", "--scale", "a=x"}, []string{"--scale", "a=x"}},
		{"--scale unknown service", ok, nil, []string{"up", "-d", "--scale", "nope=2"}, []string{`"nope"`}},
		{"--scale container_name", svc("container_name: e2e-bad-scale-one"), nil, []string{"up", "-d", "--scale", "a=2"}, []string{`"a"`, "container_name"}},
		{"--scale fixed port", svc("ports: ['127.0.0.1:18391:80']"), nil, []string{"up", "-d", "--scale", "a=2"}, []string{`"a"`, "18391"}},
		{"scale without number", ok, nil, []string{"scale", "a"}, []string{`"a"`, "SERVICE=NUM"}},
		{"bad --progress", ok, nil, []string{"--progress", "loud", "up", "-d"}, []string{"loud"}},
		{"bad --parallel", ok, nil, []string{"--parallel", "x", "up", "-d"}, []string{"--parallel"}},
		{"bad logs --since", ok, nil, []string{"logs", "--since", "yesterday"}, []string{"yesterday"}},
		{"bad stop --timeout", ok, nil, []string{"stop", "-t", "x"}, []string{"-t"}},
		{"run bad publish", ok, nil, []string{"run", "--rm", "-p", "x:y", "a"}, []string{"x:y"}},
		{"run bad volume target", ok, nil, []string{"run", "--rm", "-v", "/tmp:rel", "a"}, []string{"rel"}},
		{"run bad volume mode", ok, nil, []string{"run", "--rm", "-v", "/tmp:/x:zz", "a"}, []string{"zz"}},
		{"run bad env", ok, nil, []string{"run", "--rm", "-e", "=x", "a"}, []string{"=x"}},
		{"exec no container", ok, nil, []string{"exec", "a", "true"}, []string{"a"}},
		{"exec unknown service", ok, nil, []string{"exec", "nope", "true"}, []string{"nope"}},
		{"bad project name", ok, nil, []string{"-p", "Bad Name!", "up", "-d"}, []string{"Bad Name!"}},
		{"bad profile service", "services:\n  a:\n    image: x\n    profiles: [dev]\n", nil, []string{"--profile", "dev", "up", "-d", "nope"}, []string{"nope"}},
		{"up --wait with --abort", ok, nil, []string{"up", "--wait", "--abort-on-container-exit"}, []string{"--abort-on-container-exit"}},
		// The commands of issue 13. A registry is 127.0.0.1:1, closed: nothing
		// leaves the machine.
		{"create unknown service", ok, nil, []string{"create", "nope"}, []string{"no such service: nope"}},
		{"create bad --pull", ok, nil, []string{"create", "--pull", "sometimes"}, []string{"--pull", `"sometimes"`}},
		{"create negative --scale", ok, nil, []string{"create", "--scale", "a=-1"}, []string{"--scale", "a=-1"}},
		{"scale unknown service", ok, nil, []string{"scale", "nope=2"}, []string{"no such service: nope"}},
		{"scale negative", ok, nil, []string{"scale", "a=-1"}, []string{"a=-1", "0 or more"}},
		{"scale not a number", ok, nil, []string{"scale", "a=two"}, []string{"a=two", `"two"`}},
		{"attach unknown service", ok, nil, []string{"attach", "nope"}, []string{"no such service: nope"}},
		{"attach no container", ok, nil, []string{"attach", "a"}, []string{`"a"`, "berth up -d a"}},
		{"attach negative --index", ok, nil, []string{"attach", "--index", "-1", "a"}, []string{"--index -1", "from 1"}},
		{"attach bad --detach-keys", ok, nil, []string{"attach", "--detach-keys", "ctrl-", "a"}, []string{"--detach-keys"}},
		{"export unknown service", ok, nil, []string{"export", "-o", "out.tar", "nope"}, []string{"no such service: nope"}},
		{"export no container", ok, nil, []string{"export", "-o", "out.tar", "a"}, []string{`"a"`, "berth up -d a"}},
		{"export -o missing directory", ok, nil, []string{"export", "-o", "gone/out.tar", "a"}, []string{"export -o gone/out.tar", "directory gone does not exist"}},
		{"export --index 0", ok, nil, []string{"export", "-o", "out.tar", "--index", "0", "a"}, []string{"--index 0", "from 1"}},
		{"commit invalid reference", ok, nil, []string{"commit", "a", "Bad:Ref"}, []string{`"Bad:Ref"`, "lowercase"}},
		{"commit no image name", ok, nil, []string{"commit", "a"}, []string{"REPOSITORY[:TAG]"}},
		{"commit bad --change", ok, nil, []string{"commit", "-c", "FROMM x", "a", "berth-e2e.local/commit-bad:1"}, []string{`--change "FROMM x"`}},
		{"commit no container", ok, nil, []string{"commit", "a", "berth-e2e.local/commit-bad:1"}, []string{`"a"`, "berth up -d a"}},
		{"commit unknown service", ok, nil, []string{"commit", "nope", "berth-e2e.local/commit-bad:1"}, []string{"no such service: nope"}},
		{"publish invalid reference", ok, nil, []string{"publish", "Bad:Ref"}, []string{`"Bad:Ref"`}},
		{"publish bind mount", svc("volumes: ['./x:/x']"), map[string]string{"x/f": "f"}, []string{"publish", "127.0.0.1:1/e2e/bad:1"}, []string{"bind mount", "/x", "-y"}},
		{"publish build only", buildSvc, dockerfile("FROM " + testImage), []string{"publish", "127.0.0.1:1/e2e/bad:1"}, []string{"build section", `"a"`, "give these services an image"}},
		{"publish bad --oci-version", ok, nil, []string{"publish", "--oci-version", "2.0", "127.0.0.1:1/e2e/bad:1"}, []string{"--oci-version", "1.0 or 1.1"}},
		{"publish unreachable registry", ok, nil, []string{"publish", "127.0.0.1:1/e2e/bad:1"}, []string{"127.0.0.1:1/e2e/bad:1"}},
		{"-f oci unreachable", ok, nil, []string{"-f", "oci://127.0.0.1:1/e2e/missing:1", "config"}, []string{"oci://127.0.0.1:1/e2e/missing:1 (-f)", "cannot be reached"}},
		{"-f oci invalid reference", ok, nil, []string{"-f", "oci://Bad:Ref", "config"}, []string{"oci://Bad:Ref (-f)", "lowercase"}},
		{"-f oci empty", ok, nil, []string{"-f", "oci://", "up", "-d"}, []string{"oci:// (-f)"}},
		{"wait --down-project unknown service", ok, nil, []string{"wait", "--down-project", "nope"}, []string{"no such service: nope"}},
		{"cp --all unknown service", ok, map[string]string{"f.txt": "f"}, []string{"cp", "--all", "f.txt", "nope:/x"}, []string{"no such service: nope"}},
		{"cp --all no container", ok, map[string]string{"f.txt": "f"}, []string{"cp", "--all", "f.txt", "a:/x"}, []string{`"a"`, "berth up -d a"}},
		{"cp --all missing source", ok, nil, []string{"cp", "--all", "gone.txt", "a:/x"}, []string{"gone.txt"}},
	}
}

// TestBadInputTable runs each bad input in a project of its own and checks
// a non-zero status, a one-line error (the last line of stderr) naming the
// place, and that nothing of the project was made: no cleanup runs before
// the check (one pass of leftovers over all the projects, at the end).
func TestBadInputTable(t *testing.T) {
	cases := badInputCases()
	if len(cases) < 100 {
		t.Fatalf("%d cases, want at least 100", len(cases))
	}
	var (
		mu       sync.Mutex // guards projects
		projects = map[string]*project{}
	)
	work := make(chan badInputCase)
	var wg sync.WaitGroup
	for range 6 { // most cases only load a file: the machine's cores are the bound
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tt := range work {
				t.Run(tt.name, func(t *testing.T) {
					p := newBareProject(t, tt.compose, tt.files)
					mu.Lock()
					projects[tt.name] = p
					mu.Unlock()
					r := p.berth(tt.args...)
					if r.code == 0 {
						t.Fatalf("want a failure:\n%s", r)
					}
					msg := strings.TrimSpace(r.stderr)
					if i := strings.LastIndex(msg, "\n"); i >= 0 {
						msg = msg[i+1:] // progress may come first; the error is the last line
					}
					if msg == "" {
						t.Fatalf("no error on stderr:\n%s", r)
					}
					t.Logf("error: %s", msg)
					for _, w := range tt.want {
						if !strings.Contains(msg, w) {
							t.Errorf("error %q does not mention %q\n%s", msg, w, r)
						}
					}
				})
			}
		}()
	}
	seen := map[string]bool{}
	for _, tt := range cases {
		if seen[tt.name] {
			t.Errorf("two cases named %q", tt.name)
			continue
		}
		seen[tt.name] = true
		work <- tt
	}
	close(work)
	wg.Wait()

	names := make([]string, 0, len(projects))
	byName := map[string]string{}
	for c, p := range projects {
		names = append(names, p.name)
		byName[p.name] = c
	}
	left := leftovers(names...)
	for _, name := range names {
		if len(left[name]) == 0 {
			continue
		}
		p := projects[byName[name]]
		t.Errorf("%s: left behind: %s", byName[name], strings.Join(left[name], "; "))
		cleanup := &project{t: t, name: p.name, dir: p.dir}
		if r := cleanup.byName("down", "-v", "-t", "0"); r.code != 0 {
			t.Errorf("%s: cleanup: %s", byName[name], r)
		}
	}
}

// TestLeftoversSeeAProject checks the check: leftovers finds what a
// running project has made (so that the bad-input table's "nothing left"
// can fail), and nothing once it is down.
func TestLeftoversSeeAProject(t *testing.T) {
	t.Parallel()
	p := newProject(t, svc("command: [sleep, '60']\nports: ['127.0.0.1::80']\nvolumes: ['data:/data']")+"volumes:\n  data: {}\n", nil)
	p.must("up", "-d")
	got := strings.Join(leftovers(p.name)[p.name], "\n")
	for _, want := range []string{"ctr containers", "ctr tasks", "network namespace", "volume " + p.name + "_data", "bridge", "IPAM entry network " + p.name + "_default", "IPAM entry port", berthDataDir() + "/containers/berth/" + p.name + "-a-1"} {
		if !strings.Contains(got, want) {
			t.Errorf("leftovers of a running project do not mention %q:\n%s", want, got)
		}
	}
	p.must("down", "-v", "-t", "0")
	if left := leftovers(p.name)[p.name]; len(left) != 0 {
		t.Errorf("after down -v, leftovers = %v", left)
	}
}

// TestCPUsAboveHostLoads: a compose file asking for more CPUs than the host
// has is refused only by the commands that make containers (the table's
// cases); the others work on it, as docker compose's do.
func TestCPUsAboveHostLoads(t *testing.T) {
	t.Parallel()
	p := newBareProject(t, svc("cpus: 4096"), nil)
	for _, args := range [][]string{{"config"}, {"ps"}, {"logs"}, {"down"}} {
		if r := p.berth(args...); r.code != 0 {
			t.Errorf("berth %s on a file asking for 4096 CPUs: %s", strings.Join(args, " "), r)
		}
	}
	if left := leftovers(p.name)[p.name]; len(left) != 0 {
		t.Errorf("left behind: %s", strings.Join(left, "; "))
	}
}
