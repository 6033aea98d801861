package compose

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// FromSpec turns a loaded compose-go project into the model berth runs.
func FromSpec(spec *types.Project) (*Project, error) {
	p := &Project{
		Name:             spec.Name,
		WorkingDir:       spec.WorkingDir,
		ConfigFiles:      slices.Clone(spec.ComposeFiles),
		DisabledServices: spec.DisabledServiceNames(),
		Profiles:         slices.DeleteFunc(slices.Clone(spec.Profiles), func(s string) bool { return s == "" }),
		Volumes:          map[string]Volume{},
		Networks:         map[string]Network{},
		Environment:      maps.Clone(map[string]string(spec.Environment)),
	}
	sort.Strings(p.DisabledServices)
	for _, name := range spec.ServiceNames() {
		sc := spec.Services[name]
		s, err := fromServiceSpec(spec, sc)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", name, err)
		}
		p.Services = append(p.Services, s)
	}
	sort.Slice(p.Services, func(i, j int) bool { return p.Services[i].Name < p.Services[j].Name })
	for key, v := range spec.Volumes {
		vol := Volume{
			Name:       v.Name,
			Driver:     v.Driver,
			DriverOpts: maps.Clone(v.DriverOpts),
			External:   bool(v.External),
			Labels:     maps.Clone(v.Labels),
		}
		// A tmpfs volume's options fail now, not when a container that
		// mounts it starts (after its volume was made). What berth does
		// not support yet fails when a service uses the volume.
		if vol.DriverOpts["type"] == "tmpfs" {
			if _, err := vol.Local(); err != nil {
				return nil, fmt.Errorf("volumes: %w", err)
			}
		}
		p.Volumes[key] = vol
	}
	for key, n := range spec.Networks {
		net, err := networkOf(key, n)
		if err != nil {
			return nil, err
		}
		p.Networks[key] = net
	}
	if _, ok := p.Networks[DefaultNetwork]; !ok && slices.ContainsFunc(p.Services, func(s *Service) bool { return s.NetworkMode == NetworkModeBridge }) {
		p.Networks[DefaultNetwork] = Network{Name: defaultNetworkName(spec)}
	}
	return p, nil
}

func fromServiceSpec(spec *types.Project, sc types.ServiceConfig) (*Service, error) {
	project := spec.Name
	hash, err := ServiceHash(sc)
	if err != nil {
		return nil, err
	}
	parts, err := ServiceHashParts(sc)
	if err != nil {
		return nil, err
	}
	platform, err := servicePlatform(spec, sc)
	if err != nil {
		return nil, err
	}
	s := &Service{
		Name:          sc.Name,
		Project:       project,
		Image:         sc.Image,
		HasBuild:      sc.Build != nil,
		PullPolicy:    pullPolicy(sc),
		PullIfMissing: sc.PullPolicy == types.PullPolicyMissing || sc.PullPolicy == types.PullPolicyIfNotPresent,
		Platform:      platform,
		ContainerName: sc.ContainerName,
		Replicas:      sc.GetScale(),
		Entrypoint:    cloneNonNil(sc.Entrypoint),
		Command:       cloneNonNil(sc.Command),
		Environment:   map[string]*string{},
		WorkingDir:    sc.WorkingDir,
		User:          sc.User,
		Hostname:      sc.Hostname,
		Domainname:    sc.DomainName,
		Labels:        maps.Clone(map[string]string(sc.Labels)),
		StopSignal:    sc.StopSignal,
		Tty:           sc.Tty,
		StdinOpen:     sc.StdinOpen,
		ReadOnly:      sc.ReadOnly,
		Privileged:    sc.Privileged,
		Init:          sc.Init,
		CapAdd:        slices.Clone(sc.CapAdd),
		CapDrop:       slices.Clone(sc.CapDrop),
		SecurityOpt:   slices.Clone(sc.SecurityOpt),
		GroupAdd:      slices.Clone(sc.GroupAdd),
		DependsOn:     map[string]Dependency{},
		NetworkMode:   sc.NetworkMode,
		VolumesFrom:   slices.Clone(sc.VolumesFrom),
		Expose:        slices.Clone([]string(sc.Expose)),
		ConfigHash:    hash,
		ConfigParts:   parts,
		Unsupported:   unsupportedKeys(spec, sc),
	}
	if s.Replicas < 0 {
		return nil, fmt.Errorf("scale must not be negative (got %d)", s.Replicas)
	}
	if s.ContainerName != "" && s.Replicas > 1 {
		return nil, fmt.Errorf("container_name %q cannot be used with %d replicas: container names must be unique; remove container_name or set the scale to 1", s.ContainerName, s.Replicas)
	}
	for k, v := range sc.Environment {
		if v != nil {
			v := *v
			s.Environment[k] = &v
		} else {
			s.Environment[k] = nil
		}
	}
	s.Build, s.BuildWarnings = buildOf(spec, sc.Build)
	s.Healthcheck = healthcheckOf(sc.HealthCheck)
	if s.Restart, err = restartOf(sc); err != nil {
		return nil, err
	}
	if s.Resources, err = resourcesOf(sc); err != nil {
		return nil, err
	}
	if s.Files, err = fileMountsOf(spec, sc); err != nil {
		return nil, err
	}
	if s.Mounts, err = mountsOf(spec, sc); err != nil {
		return nil, err
	}
	s.DNS, s.DNSSearch, s.DNSOptions = slices.Clone([]string(sc.DNS)), slices.Clone([]string(sc.DNSSearch)), slices.Clone(sc.DNSOpts)
	hosts := make([]string, 0, len(sc.ExtraHosts))
	for h := range sc.ExtraHosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		for _, addr := range sc.ExtraHosts[h] {
			s.ExtraHosts = append(s.ExtraHosts, HostEntry{Name: h, Addr: addr})
		}
	}
	if s.Networks, err = serviceNetworks(spec, sc); err != nil {
		return nil, err
	}
	if sc.NetworkMode == NetworkModeBridge && len(s.Networks) == 0 {
		s.Networks = []ServiceNetwork{{Key: DefaultNetwork, Name: defaultNetworkName(spec)}}
	}
	if err := runtimeKeysOf(spec, sc, s); err != nil {
		return nil, err
	}
	if s.Watch, err = watchRulesOf(spec, sc); err != nil {
		return nil, err
	}
	if s.Ports, err = portsOf(sc); err != nil {
		return nil, err
	}
	switch {
	case len(s.Ports) == 0 || len(s.Networks) > 0:
	case s.NetworkMode == "host":
		s.Ports = nil // as Docker: a host-network container's ports are the host's already
	default:
		return nil, fmt.Errorf("ports cannot be published with network_mode %q: the container has no network of its own", s.NetworkMode)
	}
	if sc.StopGracePeriod != nil {
		d := time.Duration(*sc.StopGracePeriod)
		s.StopGracePeriod = &d
	}
	for name, dep := range sc.DependsOn {
		cond := DependencyCondition(dep.Condition)
		if cond == "" {
			cond = ConditionStarted
		}
		s.DependsOn[name] = Dependency{Condition: cond, Required: dep.Required, Restart: dep.Restart}
	}
	if err := checkService(sc, s); err != nil {
		return nil, err
	}
	return s, nil
}

// pullPolicy is the service's pull_policy, defaulted as docker compose does:
// "build" for a service that only has a build section, else "missing".
func pullPolicy(sc types.ServiceConfig) PullPolicy {
	switch sc.PullPolicy {
	case types.PullPolicyAlways:
		return PullAlways
	case types.PullPolicyNever:
		return PullNever
	case types.PullPolicyBuild:
		return PullBuild
	case "", types.PullPolicyMissing, types.PullPolicyIfNotPresent:
		if sc.Image == "" && sc.Build != nil {
			return PullBuild
		}
		return PullMissing
	}
	// daily, weekly, every_<duration>: berth has no pull timestamps yet, so
	// treat them like "missing" (the image is pulled when absent).
	return PullMissing
}

// cloneNonNil copies s, keeping the difference between nil (not set) and
// empty (set to nothing, which clears the image's value).
func cloneNonNil(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

// mountsOf converts the volumes and tmpfs entries berth can mount. The
// others (anonymous volumes, image and cluster volumes, ...) are left out
// and reported by unsupportedKeys. A target Docker would refuse (relative,
// or /) fails, naming the entry.
func mountsOf(spec *types.Project, sc types.ServiceConfig) ([]Mount, error) {
	var out []Mount
	for _, v := range sc.Volumes {
		if !path.IsAbs(v.Target) {
			return nil, fmt.Errorf("volumes: target %q of %s is not an absolute path: mount it at a path such as /data", v.Target, volumeEntry(v))
		}
		if path.Clean(v.Target) == "/" {
			return nil, fmt.Errorf("volumes: %s cannot be mounted on /", volumeEntry(v))
		}
		m, ok, err := mountOf(spec, v)
		if err != nil {
			return nil, fmt.Errorf("volumes: %s: %w", volumeEntry(v), err)
		}
		if ok {
			out = append(out, m)
		}
	}
	for _, t := range sc.Tmpfs {
		m, err := ParseTmpfs(t)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// volumeEntry names a volumes entry in an error.
func volumeEntry(v types.ServiceVolumeConfig) string {
	if v.Source == "" {
		return fmt.Sprintf("the %s at %q", v.Type, v.Target)
	}
	return fmt.Sprintf("%q (%s)", v.Source, v.Type)
}

func mountOf(spec *types.Project, v types.ServiceVolumeConfig) (Mount, bool, error) {
	m := Mount{Target: path.Clean(v.Target), ReadOnly: v.ReadOnly}
	switch v.Type {
	case types.VolumeTypeVolume:
		if v.Source == "" && (v.Volume == nil || v.Volume.Subpath == "") {
			m.Type, m.Anonymous = MountVolume, true
			m.NoCopy = v.Volume != nil && v.Volume.NoCopy
			return m, true, nil
		}
		top, ok := spec.Volumes[v.Source]
		if v.Source == "" || !ok || (v.Volume != nil && v.Volume.Subpath != "") {
			return Mount{}, false, nil
		}
		m.Type, m.Source, m.External = MountVolume, top.Name, bool(top.External)
		m.NoCopy = v.Volume != nil && v.Volume.NoCopy
	case types.VolumeTypeBind:
		m.Type, m.Source = MountBind, v.Source
		m.CreateHostPath = v.Bind != nil && v.Bind.CreateHostPath
	case types.VolumeTypeImage:
		if v.Source == "" {
			return Mount{}, false, fmt.Errorf("an image volume needs source: the image to mount")
		}
		m.Type, m.Source, m.ReadOnly = MountImage, v.Source, true
		if v.Image != nil && v.Image.SubPath != "" {
			if slices.Contains(strings.Split(v.Image.SubPath, "/"), "..") {
				return Mount{}, false, fmt.Errorf("image.subpath %q must stay inside the image: remove the ..", v.Image.SubPath)
			}
			m.SubPath = path.Clean("/" + v.Image.SubPath)
		}
	case types.VolumeTypeTmpfs:
		m.Type = MountTmpfs
		if t := v.Tmpfs; t != nil {
			if t.Size < 0 {
				return Mount{}, false, fmt.Errorf("tmpfs size %d must not be negative", t.Size)
			}
			m.TmpfsSize = int64(t.Size)
			if t.Mode > 0o7777 {
				return Mount{}, false, fmt.Errorf("tmpfs mode %o: give octal permissions such as 1777 or 0700", t.Mode)
			}
			if t.Mode != 0 {
				m.TmpfsOptions = "mode=" + strconv.FormatUint(uint64(t.Mode), 8)
			}
		}
	default:
		return Mount{}, false, nil
	}
	return m, true, nil
}

// DefaultPlatformVar names the platform of the services that name none,
// as docker compose reads it (from the environment or .env).
const DefaultPlatformVar = "DOCKER_DEFAULT_PLATFORM"

// servicePlatform is the platform a service's containers run (and its
// image is pulled or built) for: its platform:, else DOCKER_DEFAULT_PLATFORM,
// which a build.platforms list must then hold, as docker compose checks.
func servicePlatform(spec *types.Project, sc types.ServiceConfig) (string, error) {
	if sc.Platform != "" {
		return sc.Platform, nil
	}
	def := spec.Environment[DefaultPlatformVar]
	if def == "" {
		return "", nil
	}
	if sc.Build != nil && len(sc.Build.Platforms) > 0 && !slices.Contains(sc.Build.Platforms, def) {
		return "", fmt.Errorf("build.platforms does not support value set by %s: %s (add it to build.platforms, or unset %s)", DefaultPlatformVar, def, DefaultPlatformVar)
	}
	return def, nil
}
