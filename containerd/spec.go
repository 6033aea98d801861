package containerd

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth/berth/compose"
)

// specInput is what a container's OCI spec is made from.
type specInput struct {
	Name    string
	Image   v1.ImageConfig
	Service *compose.Service
	// NetNS is the network namespace path to join; "" means the host's.
	NetNS string
	// EtcDir holds the generated hosts, hostname and resolv.conf files.
	EtcDir string
	// Mounts are the service's volumes, bind mounts and tmpfs, prepared.
	Mounts []specs.Mount
	// InitBinary is berth's executable, the init of init: true.
	InitBinary string
	// CheckInit vets InitBinary before it is used (nil: not checked).
	CheckInit func(path string) error
	// ProbeAgent is the probe agent to bind at ProbeAgentPath; "" binds
	// none (the container has no healthcheck, or berth no agent).
	ProbeAgent string
	// LaunchAgent has the container's process start the agent (see
	// launchPrefix), with ProbeAgent bound; else probes start an agent by
	// exec.
	LaunchAgent bool
	// Joined are the other containers' namespaces it joins.
	Joined Joined
	// Cgroups is what the host's cgroups can do.
	Cgroups cgroupSupport
	// ShimGroup is the runc shim group the container's task joins ("":
	// a shim of its own); see shimGroup.
	ShimGroup string
}

// initPrefix is what runs before the service's command: berth as
// docker-init for init: true, and to keep standard input open for
// stdin_open without a tty (a terminal's input stays open by itself).
func initPrefix(s *compose.Service) []string {
	init := s.Init != nil && *s.Init
	keepStdin := s.StdinOpen && !s.Tty
	switch {
	case init && keepStdin:
		return []string{InitPath, "--keep-stdin", "--"}
	case init:
		return []string{InitPath, "--"}
	case keepStdin:
		return []string{InitPath, "--keep-stdin", "--exec", "--"}
	}
	return nil
}

// withoutInit is a container's command line without the probe agent's
// launcher (launchPrefix) and the init berth runs it under (init: true,
// stdin_open): what ps shows, as docker does (its init is not in the
// container's command line).
func withoutInit(args []string) []string {
	args = withoutLauncher(args)
	if len(args) == 0 || args[0] != InitPath {
		return args
	}
	for i, a := range args {
		if a == "--" {
			return args[i+1:]
		}
	}
	return args
}

// processArgs combines the image's entrypoint and command with the
// service's, by the Docker engine's rules (its merge of a container's
// config with its image's): a service entrypoint that is not empty
// replaces the image's and also drops the image's command; an empty one
// (entrypoint: []) only clears the image's entrypoint. A service command
// replaces the image's command unless it is empty (command: "" once
// interpolated, or []) and no entrypoint is set: then the image's
// command runs, as with docker compose.
func processArgs(img v1.ImageConfig, s *compose.Service) ([]string, error) {
	entrypoint, cmd := s.Entrypoint, s.Command
	if len(entrypoint) == 0 {
		if len(cmd) == 0 {
			cmd = img.Cmd
		}
		if entrypoint == nil {
			entrypoint = img.Entrypoint
		}
	}
	args := append(append([]string{}, entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("service %q has no command to run: its image sets no ENTRYPOINT or CMD; give the service a command", s.Name)
	}
	return args, nil
}

// serviceEnv is the service's environment as KEY=VALUE entries laid over the
// image's; a variable set to nothing in the file (nil) is removed, which
// containerd's env merging does for a bare KEY.
func serviceEnv(s *compose.Service) []string {
	keys := make([]string, 0, len(s.Environment))
	for k := range s.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		if v := s.Environment[k]; v != nil {
			env = append(env, k+"="+*v)
		} else {
			env = append(env, k)
		}
	}
	return env
}

// hostnameFor is the container's hostname: the service's hostname, else the
// container name (Docker uses the short container ID; a name is what other
// containers use to reach it, so berth uses that), cut to 63 bytes.
func hostnameFor(s *compose.Service, name string) string {
	h := s.Hostname
	if h == "" {
		h = name
	}
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

// capName normalises a compose capability name (NET_ADMIN, cap_net_admin) to the OCI one.
func capName(c string) string {
	c = strings.ToUpper(c)
	if c == "ALL" || strings.HasPrefix(c, "CAP_") {
		return c
	}
	return "CAP_" + c
}

// specOpts are the spec options for a container, over containerd's default
// Linux spec, which already has Docker's default capability set and its
// masked and read-only paths. User names are resolved by the caller (they
// need the container's root filesystem).
func specOpts(in specInput) ([]oci.SpecOpts, error) {
	s := in.Service
	args, err := processArgs(in.Image, s)
	if err != nil {
		return nil, err
	}
	var initMount []specs.Mount
	if initArgs := initPrefix(s); initArgs != nil {
		if in.InitBinary == "" {
			return nil, fmt.Errorf("service %q: init: true and stdin_open need berth's own executable, which could not be found", s.Name)
		}
		if in.CheckInit != nil {
			if err := in.CheckInit(in.InitBinary); err != nil {
				return nil, fmt.Errorf("service %q: %w", s.Name, err)
			}
		}
		args = append(initArgs, args...)
		initMount = []specs.Mount{{Destination: InitPath, Type: "bind", Source: in.InitBinary, Options: []string{"rbind", "rprivate", "ro"}}}
	}
	if in.ProbeAgent != "" && in.LaunchAgent {
		args = append(launchPrefix(), args...)
	}
	imageEnv := in.Image.Env
	if len(imageEnv) == 0 {
		imageEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	cwd := in.Image.WorkingDir
	if s.WorkingDir != "" {
		cwd = s.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	opts := []oci.SpecOpts{
		oci.WithProcessArgs(args...),
		oci.WithEnv(imageEnv),
		oci.WithEnv(serviceEnv(s)),
		oci.WithProcessCwd(cwd),
		oci.WithHostname(hostnameFor(s, in.Name)),
		withDomainname(s.Domainname),
		// Docker mounts no tmpfs on /run (containerd's default spec does):
		// what the image has there stays; only tmpfs: asks for one.
		oci.WithoutRunMount,
	}
	if s.Tty {
		opts = append(opts, oci.WithTTY)
	}
	if s.ReadOnly {
		opts = append(opts, oci.WithRootFSReadonly())
	}

	seccompProfile, noNewPrivileges := true, false
	for _, o := range s.SecurityOpt {
		key, value, _ := strings.Cut(o, "=")
		if !strings.Contains(o, "=") {
			key, value, _ = strings.Cut(o, ":")
		}
		switch {
		case key == "no-new-privileges" && (value == "" || value == "true"):
			noNewPrivileges = true
		case key == "no-new-privileges" && value == "false":
		case key == "seccomp" && value == "unconfined":
			seccompProfile = false
		case key == "apparmor", key == "label":
			// No AppArmor or SELinux on the hosts berth targets; Docker too
			// ignores these where the module is absent.
		default:
			return nil, fmt.Errorf("service %q: security_opt %q is not supported yet (supported: no-new-privileges, seccomp=unconfined)", s.Name, o)
		}
	}

	if s.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices,
			oci.WithMaskedPaths(nil), oci.WithReadonlyPaths(nil))
		seccompProfile = false
	} else {
		var add, drop []string
		dropAll, addAll := false, false
		for _, c := range s.CapDrop {
			if capName(c) == "ALL" {
				dropAll = true
				continue
			}
			drop = append(drop, capName(c))
		}
		for _, c := range s.CapAdd {
			if capName(c) == "ALL" {
				addAll = true
				continue
			}
			add = append(add, capName(c))
		}
		if dropAll {
			opts = append(opts, oci.WithCapabilities(nil))
		}
		if addAll {
			opts = append(opts, oci.WithAllKnownCapabilities)
		}
		opts = append(opts, oci.WithDroppedCapabilities(drop), oci.WithAddedCapabilities(add))
	}
	opts = append(opts, confinement(seccompProfile, noNewPrivileges)...)
	if len(s.GroupAdd) > 0 {
		opts = append(opts, oci.WithAppendAdditionalGroups(s.GroupAdd...))
	}
	res, err := resourceOpts(s)
	if err != nil {
		return nil, err
	}
	opts = append(opts, res...)
	keys, err := runtimeKeyOpts(s, in.Joined, in.Cgroups)
	if err != nil {
		return nil, err
	}
	opts = append(opts, keys...)

	if in.NetNS != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: in.NetNS}))
	} else {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace))
	}
	if in.ShimGroup != "" {
		opts = append(opts, oci.WithAnnotations(map[string]string{annotationShimGroup: in.ShimGroup}))
	}
	opts = append(opts, oci.WithMounts(append(append([]specs.Mount{
		etcMount(in.EtcDir, "hosts", s.ReadOnly),
		etcMount(in.EtcDir, "hostname", s.ReadOnly),
		etcMount(in.EtcDir, "resolv.conf", s.ReadOnly),
	}, in.Mounts...), append(initMount, probeAgentMounts(in.ProbeAgent, in.LaunchAgent)...)...)))
	return opts, nil
}

// confinement is Docker's default confinement beyond what containerd's
// default spec already holds (Docker's default capability set, masked and
// read-only paths): its seccomp profile unless seccompProfile is false
// (seccomp=unconfined, privileged), and no_new_privs only when asked for,
// as setuid programs work in Docker by default. Services and build steps
// (see builder) both get it, so that they cannot drift apart.
func confinement(seccompProfile, noNewPrivileges bool) []oci.SpecOpts {
	opts := []oci.SpecOpts{withNoNewPrivileges(noNewPrivileges)}
	if seccompProfile {
		opts = append(opts, seccomp.WithDefaultProfile())
	}
	return opts
}

// probeAgentMounts bind the probe agent read-only at ProbeAgentPath, as
// Docker binds its init, and, when the container's process launches it,
// the tmpfs where it listens (probeRunMount); none when agent is "".
func probeAgentMounts(agent string, launch bool) []specs.Mount {
	if agent == "" {
		return nil
	}
	m := []specs.Mount{{Destination: ProbeAgentPath, Type: "bind", Source: agent, Options: []string{"rbind", "rprivate", "ro", "nosuid", "nodev"}}}
	if launch {
		m = append(m, probeRunMount())
	}
	return m
}

func etcMount(dir, name string, ro bool) specs.Mount {
	options := []string{"rbind", "rprivate"}
	if ro {
		options = append(options, "ro")
	}
	return specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: filepath.Join(dir, name), Options: options}
}

func withDomainname(d string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Domainname = d
		return nil
	}
}

func withNoNewPrivileges(on bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.NoNewPrivileges = on
		return nil
	}
}
