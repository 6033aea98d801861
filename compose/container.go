package compose

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
)

// ContainersProject is the reserved project that holds the plain
// containers of `berth container run`, each one a service named after its
// container. No compose project can have this name (compose's names start
// with a letter or a digit), so its containers never mix with a compose
// project's: its project daemon supervises them all, and the compose
// commands refuse it.
const ContainersProject = "_containers"

// ContainersNetwork is the network plain containers join unless --network
// names another: Docker's default "bridge" network (NAT, published ports;
// unlike Docker's, its containers also resolve each other by name).
const ContainersNetwork = "bridge"

// ContainerOptions are the flags of `berth container run` that shape the
// container, with docker run's meanings.
type ContainerOptions struct {
	// Name is the container's name (--name); it must be docker's
	// [a-zA-Z0-9][a-zA-Z0-9_.-]*.
	Name  string
	Image string
	// Command replaces the image's CMD when not empty.
	Command []string
	// Entrypoint replaces the image's ENTRYPOINT when set; "" clears it.
	Entrypoint *string
	// Env are -e values (KEY=VALUE, or KEY taken from Lookup), EnvFiles
	// the --env-file files, read first (-e wins).
	Env, EnvFiles []string
	// Publish are -p values, Volumes -v values.
	Publish, Volumes []string
	WorkDir, User    string
	Hostname         string
	// Network is --network: "" or "bridge" (the default network), "host",
	// "none", "container:NAME", or the name of an existing network.
	Network string
	// Restart is --restart: no, always, unless-stopped, on-failure[:N].
	Restart string
	// HealthCmd and the other Health fields are the --health-* flags;
	// durations as docker takes them (30s, 1m30s). NoHealthcheck turns the
	// image's off.
	HealthCmd                                      string
	HealthInterval, HealthTimeout, HealthStartTime time.Duration
	HealthRetries                                  int
	NoHealthcheck                                  bool
	// Memory is --memory (512m, 1g, bytes); CPUs is --cpus (1.5).
	Memory string
	CPUs   float64
	// Interactive keeps stdin open (-i), TTY gives a terminal (-t).
	Interactive, TTY bool
	// Labels are --label KEY=VALUE (or KEY, with an empty value).
	Labels []string
	// AutoRemove is --rm.
	AutoRemove bool
	// CapAdd, CapDrop, Privileged, ReadOnly, Init, AddHosts (host:ip),
	// DNS, Tmpfs (path[:options]) and PidsLimit are the flags of the same
	// names, as the compose keys cap_add ... pids_limit.
	CapAdd, CapDrop, AddHosts, DNS, Tmpfs []string
	Privileged, ReadOnly, Init            bool
	PidsLimit                             int64
	// StopSignal and StopTimeout are --stop-signal, --stop-timeout
	// (seconds; 0 keeps the default, 10).
	StopSignal  string
	StopTimeout int
	// Lookup resolves a bare -e KEY (the shell's environment); WorkingDir
	// is the directory relative -v host paths and env files are read from.
	Lookup     func(string) (string, bool)
	WorkingDir string
}

// validContainerName is docker's rule for container names.
var validContainerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ContainerProject builds the one-service project a plain container is:
// the service, named after the container, in ContainersProject, made
// through the same conversion as a compose file's services (FromSpec), so
// ports, restart policies, healthchecks and limits mean what they mean
// there. Errors name the flag, as docker's do.
func ContainerProject(o ContainerOptions) (*Project, error) {
	if !validContainerName.MatchString(o.Name) {
		return nil, fmt.Errorf("invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.Name)
	}
	if o.Image == "" {
		return nil, fmt.Errorf("no image given: berth container run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	if o.Lookup == nil {
		o.Lookup = func(string) (string, bool) { return "", false }
	}
	sc := types.ServiceConfig{
		Name: o.Name, ContainerName: o.Name, Image: o.Image,
		WorkingDir: o.WorkDir, User: o.User, Hostname: o.Hostname,
		Tty: o.TTY, StdinOpen: o.Interactive, StopSignal: o.StopSignal,
		Labels: types.Labels{LabelStandalone: "true"},
	}
	sc.CapAdd, sc.CapDrop, sc.Privileged, sc.ReadOnly = o.CapAdd, o.CapDrop, o.Privileged, o.ReadOnly
	sc.DNS, sc.Tmpfs, sc.PidsLimit = o.DNS, o.Tmpfs, o.PidsLimit
	if o.Init {
		sc.Init = &o.Init
	}
	if len(o.AddHosts) > 0 {
		hosts := make([]string, len(o.AddHosts))
		for i, h := range o.AddHosts {
			// docker's host:ip; an IPv6 address has colons of its own.
			name, addr, ok := strings.Cut(h, ":")
			if strings.Contains(h, "=") {
				name, addr, ok = strings.Cut(h, "=")
			}
			if !ok || name == "" || addr == "" {
				return nil, fmt.Errorf("invalid argument %q for --add-host: give HOST:IP, as db:10.0.0.5 or gw:host-gateway", h)
			}
			hosts[i] = name + "=" + addr
		}
		list, err := types.NewHostsList(hosts)
		if err != nil {
			return nil, fmt.Errorf("--add-host: %w", err)
		}
		sc.ExtraHosts = list
	}
	if len(o.Command) > 0 {
		sc.Command = types.ShellCommand(o.Command)
	}
	if o.Entrypoint != nil {
		sc.Entrypoint = types.ShellCommand{}
		if *o.Entrypoint != "" {
			sc.Entrypoint = types.ShellCommand{*o.Entrypoint}
		}
	}
	if o.StopTimeout > 0 {
		d := types.Duration(time.Duration(o.StopTimeout) * time.Second)
		sc.StopGracePeriod = &d
	}
	env, err := containerEnv(o)
	if err != nil {
		return nil, err
	}
	sc.Environment = types.MappingWithEquals{}
	for k, v := range env {
		sc.Environment[k] = &v
	}
	for _, l := range o.Labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid argument %q for --label: give KEY=VALUE", l)
		}
		sc.Labels[k] = v
	}
	for _, p := range o.Publish {
		ps, err := types.ParsePortConfig(p)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for -p: %w (use [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], as 8080:80)", p, err)
		}
		sc.Ports = append(sc.Ports, ps...)
	}
	if err := containerRestart(o, &sc); err != nil {
		return nil, err
	}
	if err := containerHealth(o, &sc); err != nil {
		return nil, err
	}
	if o.Memory != "" {
		n, err := units.RAMInBytes(o.Memory)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("invalid argument %q for --memory: give a size such as 512m or 1g", o.Memory)
		}
		if n < 6*1024*1024 {
			return nil, fmt.Errorf("--memory %s: the minimum memory limit allowed is 6MB", o.Memory)
		}
		sc.MemLimit = types.UnitBytes(n)
	}
	if o.CPUs < 0 {
		return nil, fmt.Errorf("invalid argument %v for --cpus: give a positive number of CPUs such as 1.5", o.CPUs)
	}
	sc.CPUS = float32(o.CPUs)
	spec := &types.Project{Name: ContainersProject, WorkingDir: o.WorkingDir, Networks: types.Networks{}}
	joined := ""
	switch net := o.Network; {
	case net == "" || net == ContainersNetwork || net == "default":
		spec.Networks[ContainersNetwork] = types.NetworkConfig{Name: ContainersNetwork}
		sc.Networks = map[string]*types.ServiceNetworkConfig{ContainersNetwork: nil}
	case net == "host" || net == "none":
		sc.NetworkMode = net
	case strings.HasPrefix(net, "container:"):
		// Another plain container's namespace: a service of this project.
		if net == "container:" {
			return nil, fmt.Errorf("--network container: needs a container name, as container:db")
		}
		sc.NetworkMode = "none"
		joined = strings.TrimPrefix(net, "container:")
	default:
		// Another project's network, joined as compose joins an
		// external one: it must exist.
		spec.Networks[net] = types.NetworkConfig{Name: net, External: true}
		sc.Networks = map[string]*types.ServiceNetworkConfig{net: nil}
	}
	spec.Services = types.Services{o.Name: sc}
	p, err := FromSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", o.Name, err)
	}
	s := p.Services[0]
	if joined != "" {
		s.NetworkMode = "service:" + joined
	}
	// Docker's -v: a host path (absolute, or ./relative) or a named volume,
	// by the volume's own name, made when missing.
	// -v /data alone is an anonymous volume, the container's own.
	for _, v := range o.Volumes {
		if strings.HasPrefix(v, "/") && !strings.Contains(v, ":") {
			if filepath.Clean(v) == "/" {
				return nil, fmt.Errorf("invalid argument %q for -v: a volume cannot be mounted on /", v)
			}
			s.Mounts = append(s.Mounts, Mount{Type: MountVolume, Target: filepath.Clean(v), Anonymous: true})
			continue
		}
		ms, err := ParseVolumes(p, []string{v})
		if err != nil {
			return nil, fmt.Errorf("invalid argument for -v: %w", err)
		}
		for _, m := range ms {
			if m.Type == MountVolume {
				m.Source = strings.TrimPrefix(m.Source, VolumeName(p.Name, ""))
			}
			s.Mounts = append(s.Mounts, m)
		}
	}
	if o.AutoRemove {
		s.Labels[LabelAutoRemove] = "true"
	}
	id := NewContainerID()
	s.Labels[LabelContainerID] = id
	if s.Hostname == "" && o.Network != "host" {
		s.Hostname = id[:12] // docker's default: the short ID
	}
	return p, nil
}

// containerEnv is the environment -e and --env-file give: the files in
// order, then -e over them, as docker run reads them.
func containerEnv(o ContainerOptions) (map[string]string, error) {
	env := map[string]string{}
	for _, file := range o.EnvFiles {
		if !filepath.IsAbs(file) && o.WorkingDir != "" {
			file = filepath.Join(o.WorkingDir, file)
		}
		vars, err := ReadEnvFile(file, o.Lookup)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		for k, v := range vars {
			env[k] = v
		}
	}
	args, err := ParseEnvArgs("-e", o.Env, o.Lookup)
	if err != nil {
		return nil, err
	}
	for k, v := range args {
		env[k] = v
	}
	return env, nil
}

// containerRestart reads --restart as docker run does, refusing it with
// --rm as docker does.
func containerRestart(o ContainerOptions, sc *types.ServiceConfig) error {
	if o.Restart == "" || o.Restart == RestartNo {
		return nil
	}
	if o.AutoRemove {
		return fmt.Errorf("conflicting options: cannot specify both --restart and --rm")
	}
	sc.Restart = o.Restart
	if _, err := restartOf(*sc); err != nil {
		return fmt.Errorf("invalid restart policy %q: use no, always, unless-stopped or on-failure[:max-retries]", o.Restart)
	}
	return nil
}

// containerHealth makes the --health-* flags a healthcheck; the durations
// it does not give take the image's, then Docker's defaults.
func containerHealth(o ContainerOptions, sc *types.ServiceConfig) error {
	given := o.HealthCmd != "" || o.HealthInterval != 0 || o.HealthTimeout != 0 || o.HealthStartTime != 0 || o.HealthRetries != 0
	if o.NoHealthcheck {
		if given {
			return fmt.Errorf("--no-healthcheck conflicts with --health-* options")
		}
		sc.HealthCheck = &types.HealthCheckConfig{Disable: true}
		return nil
	}
	if !given {
		return nil
	}
	for flag, d := range map[string]time.Duration{"--health-interval": o.HealthInterval, "--health-timeout": o.HealthTimeout, "--health-start-period": o.HealthStartTime} {
		if d < 0 {
			return fmt.Errorf("%s cannot be negative", flag)
		}
	}
	if o.HealthRetries < 0 {
		return fmt.Errorf("--health-retries cannot be negative")
	}
	h := &types.HealthCheckConfig{}
	if o.HealthCmd != "" {
		h.Test = types.HealthCheckTest{"CMD-SHELL", o.HealthCmd}
	}
	dur := func(d time.Duration) *types.Duration {
		if d == 0 {
			return nil
		}
		v := types.Duration(d)
		return &v
	}
	h.Interval, h.Timeout, h.StartPeriod = dur(o.HealthInterval), dur(o.HealthTimeout), dur(o.HealthStartTime)
	if o.HealthRetries > 0 {
		r := uint64(o.HealthRetries)
		h.Retries = &r
	}
	sc.HealthCheck = h
	return nil
}

// NewContainerID is a new container ID in Docker's form: 64 hex digits.
func NewContainerID() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
	return hex.EncodeToString(b)
}

// ShortID is the 12 digits of an ID docker shows in its tables.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// RandomContainerName is a name as docker gives a container run without
// --name: an adjective and a notable scientist or engineer, as
// "eager_turing"; taken tells a name already used, and the name then gets
// a digit, as docker's does on a collision.
func RandomContainerName(taken func(string) bool) string {
	for i := 0; ; i++ {
		b := make([]byte, 2)
		rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
		name := nameLeft[int(b[0])%len(nameLeft)] + "_" + nameRight[int(b[1])%len(nameRight)]
		if i > 0 {
			name += strconv.Itoa(int(b[0]) % 10)
		}
		if taken == nil || !taken(name) {
			return name
		}
	}
}

var nameLeft = []string{
	"admiring", "adoring", "affectionate", "amazing", "awesome", "blissful", "bold", "brave", "busy",
	"charming", "clever", "compassionate", "competent", "confident", "cool", "dazzling", "determined",
	"distracted", "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "epic", "exciting",
	"fervent", "festive", "focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy",
	"gracious", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring",
	"intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid",
	"magical", "modest", "musing", "mystifying", "nervous", "nice", "nifty", "nostalgic", "objective",
	"optimistic", "peaceful", "pensive", "practical", "priceless", "quirky", "quizzical", "relaxed",
	"reverent", "romantic", "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied",
	"suspicious", "sweet", "tender", "thirsty", "trusting", "upbeat", "vibrant", "vigilant",
	"vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
}

var nameRight = []string{
	"agnesi", "albattani", "allen", "archimedes", "ardinghelli", "babbage", "banach", "bardeen",
	"bartik", "bell", "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "brahmagupta", "brown",
	"cannon", "carson", "cerf", "chandrasekhar", "clarke", "curie", "darwin", "davinci", "dijkstra",
	"einstein", "elion", "engelbart", "euclid", "euler", "faraday", "fermat", "fermi", "feynman",
	"franklin", "galileo", "gauss", "goldberg", "goodall", "hamilton", "hawking", "heisenberg",
	"hodgkin", "hopper", "hypatia", "jackson", "jennings", "johnson", "kalam", "kare", "keller",
	"kepler", "khorana", "knuth", "lamarr", "lamport", "leakey", "lovelace", "lumiere", "mayer",
	"mccarthy", "mcclintock", "meitner", "mendel", "mirzakhani", "montalcini", "morse", "napier",
	"newton", "nobel", "noether", "pascal", "pasteur", "perlman", "pike", "poincare", "ptolemy",
	"raman", "ritchie", "rosalind", "sammet", "shannon", "shockley", "sinoussi", "stonebraker",
	"swanson", "tesla", "thompson", "torvalds", "turing", "varahamihira", "wilbur", "williams",
	"wilson", "wozniak", "wright", "yalow", "yonath",
}
