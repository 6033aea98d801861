package compose

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Label keys berth puts on every container it creates. They are docker
// compose's keys, so that other tools recognise berth's containers; no other
// file spells them out.
const (
	LabelProject       = "com.docker.compose.project"
	LabelService       = "com.docker.compose.service"
	LabelNumber        = "com.docker.compose.container-number"
	LabelConfigHash    = "com.docker.compose.config-hash"
	LabelOneOff        = "com.docker.compose.oneoff"
	LabelWorkingDir    = "com.docker.compose.project.working_dir"
	LabelConfigFiles   = "com.docker.compose.project.config_files"
	LabelImage         = "com.docker.compose.image"
	LabelContainerName = "com.docker.compose.container-name"
	LabelStopSignal    = "berth.stop-signal"
	LabelStopGrace     = "berth.stop-grace-period"
	LabelLogPath       = "berth.log-path"
	LabelNetNSPath     = "berth.netns-path"
	LabelImageID       = "berth.image-id"
	// LabelConfigParts is the service's config hash key by key
	// (ServiceHashParts): which part changed when the config hash did.
	LabelConfigParts = "berth.config-parts"
	// LabelHealthcheck is the container's effective healthcheck (JSON),
	// LabelHealth its health as the supervisor last judged it (JSON).
	LabelHealthcheck = "berth.healthcheck"
	LabelHealth      = "berth.health"
	// LabelRestart is the restart policy (JSON), LabelRestartCount how
	// often the supervisor restarted the container, LabelManualStop set
	// while a stop or kill asked it to exit.
	LabelRestart      = "berth.restart"
	LabelRestartCount = "berth.restart-count"
	LabelManualStop   = "berth.manual-stop"
	// LabelTerminal records tty: true, which the container's process
	// streams follow when it starts.
	LabelTerminal = "berth.tty"
	// LabelAutoRemove marks a one-off container that the project's
	// supervisor removes once it exits (run --rm -d).
	LabelAutoRemove = "berth.auto-remove"
	// LabelExpose keeps the service's expose: entries, comma-separated,
	// for ps (also by project name alone).
	LabelExpose = "berth.expose"
	// LabelStandalone marks a plain container (berth container run), of
	// ContainersProject; LabelContainerID is its Docker-style 64-digit ID.
	LabelStandalone  = "berth.standalone"
	LabelContainerID = "berth.container-id"
)

// LabelDependsOn is the service's depends_on as docker compose writes it,
// "db:service_healthy:true,..." (service, condition, restart): the
// commands that work from the labels alone keep the dependency order.
const LabelDependsOn = "com.docker.compose.depends_on"

// LabelVolume is docker compose's label of a named volume: its key in the
// compose file. The volume carries LabelProject too.
const LabelVolume = "com.docker.compose.volume"

// LabelAnonymousVolume marks an anonymous volume, as Docker marks them
// (with an empty value). berth's carry LabelProject too, so that down -v
// removes them with the project's named volumes.
const LabelAnonymousVolume = "com.docker.volume.anonymous"

// LabelAnonVolumes is a container's anonymous volumes: JSON, mount
// target to volume name. up gives them to the container that replaces it.
const LabelAnonVolumes = "berth.anon-volumes"

// The prefixes of compose's labels and of berth's own: what is left of a
// container's labels without them are its service's labels.
const (
	LabelPrefixCompose = "com.docker.compose."
	LabelPrefixBerth   = "berth."
)

// LabelVersion is the version of docker compose that made the container;
// berth puts the version whose behaviour it follows (ComposeVersion):
// tools read the label to tell compose's containers.
const LabelVersion = "com.docker.compose.version"

// ComposeVersion is the docker compose release berth behaves as.
const ComposeVersion = "2.40.3"

// ContainerName is docker compose's name for replica n of a service.
func ContainerName(project, service string, n int) string {
	return fmt.Sprintf("%s-%s-%d", project, service, n)
}

// ContainerLabels are the labels that identify a container of service s,
// replica n. The caller adds the service's own labels underneath.
func ContainerLabels(p *Project, s *Service, n int) map[string]string {
	l := map[string]string{
		LabelProject:       p.Name,
		LabelService:       s.Name,
		LabelNumber:        strconv.Itoa(n),
		LabelConfigHash:    s.ConfigHash,
		LabelOneOff:        "False",
		LabelWorkingDir:    p.WorkingDir,
		LabelConfigFiles:   strings.Join(p.ConfigFiles, ","),
		LabelContainerName: s.ContainerNameFor(n),
		LabelStopGrace:     s.GracePeriod().String(),
		LabelVersion:       ComposeVersion,
	}
	if s.ConfigParts != "" {
		l[LabelConfigParts] = s.ConfigParts
	}
	if s.StopSignal != "" {
		l[LabelStopSignal] = s.StopSignal
	}
	if len(s.DependsOn) > 0 {
		l[LabelDependsOn] = FormatDependsOn(s.DependsOn)
	}
	if s.Tty {
		l[LabelTerminal] = "true"
	}
	if len(s.Expose) > 0 {
		l[LabelExpose] = strings.Join(s.Expose, ",")
	}
	return l
}

// VolumeName is the machine's name of the project's volume key when the
// file does not name it, as docker compose makes it: PROJECT_KEY.
// VolumeName(project, "") is the prefix all of them share.
func VolumeName(project, key string) string { return project + "_" + key }

// VolumeLabels are the labels of the project's named volume key, as
// docker compose gives them: the volume's own labels from the file, and
// the project and the key.
func VolumeLabels(p *Project, key string) map[string]string {
	l := map[string]string{}
	for k, v := range p.Volumes[key].Labels {
		l[k] = v
	}
	l[LabelProject] = p.Name
	l[LabelVolume] = key
	l[LabelConfigHash] = VolumeHash(p.Volumes[key])
	return l
}

// FormatDependsOn writes depends_on as LabelDependsOn holds it, sorted.
func FormatDependsOn(deps map[string]Dependency) string {
	parts := make([]string, 0, len(deps))
	for name, d := range deps {
		parts = append(parts, fmt.Sprintf("%s:%s:%t", name, d.Condition, d.Restart))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// DependsOn reads LabelDependsOn back. As docker compose does, an entry
// without a condition is service_started, one without its restart flag
// restarts, and none is required: the labels cannot tell whether the
// dependency still exists. Malformed entries are left out.
func (l Labels) DependsOn() map[string]Dependency {
	v := l[LabelDependsOn]
	if v == "" {
		return nil
	}
	deps := map[string]Dependency{}
	for _, entry := range strings.Split(v, ",") {
		f := strings.Split(entry, ":")
		if f[0] == "" {
			continue
		}
		d := Dependency{Condition: ConditionStarted, Restart: true}
		if len(f) > 1 && f[1] != "" {
			d.Condition = DependencyCondition(f[1])
		}
		if len(f) > 2 {
			if r, err := strconv.ParseBool(f[2]); err == nil {
				d.Restart = r
			}
		}
		deps[f[0]] = d
	}
	return deps
}

// Labels is a container's (or a volume's) label set with typed accessors.
type Labels map[string]string

func (l Labels) Project() string    { return l[LabelProject] }
func (l Labels) Service() string    { return l[LabelService] }
func (l Labels) ConfigHash() string { return l[LabelConfigHash] }

// ConfigParts is LabelConfigParts: "" on a container an older berth made.
func (l Labels) ConfigParts() string { return l[LabelConfigParts] }
func (l Labels) OneOff() bool        { return strings.EqualFold(l[LabelOneOff], "true") }
func (l Labels) StopSignal() string  { return l[LabelStopSignal] }
func (l Labels) LogPath() string     { return l[LabelLogPath] }
func (l Labels) NetNSPath() string   { return l[LabelNetNSPath] }
func (l Labels) ImageID() string     { return l[LabelImageID] }
func (l Labels) Terminal() bool      { return l[LabelTerminal] == "true" }
func (l Labels) ManualStop() bool    { return l[LabelManualStop] == "true" }
func (l Labels) AutoRemove() bool    { return l[LabelAutoRemove] == "true" }

// AnonVolumes are the container's anonymous volumes by mount target
// (LabelAnonVolumes); nil when it has none or the label does not parse.
func (l Labels) AnonVolumes() map[string]string {
	var m map[string]string
	if v := l[LabelAnonVolumes]; v != "" && json.Unmarshal([]byte(v), &m) != nil {
		return nil
	}
	return m
}

// Expose are the service's expose: entries the container was made with.
func (l Labels) Expose() []string {
	if l[LabelExpose] == "" {
		return nil
	}
	return strings.Split(l[LabelExpose], ",")
}

// Volume is a volume's key in its compose file.
func (l Labels) Volume() string { return l[LabelVolume] }

// RestartCount is how often the supervisor restarted the container.
func (l Labels) RestartCount() int {
	n, _ := strconv.Atoi(l[LabelRestartCount])
	return n
}

// Restart is the container's restart policy ("no" when none is recorded).
func (l Labels) Restart() (RestartPolicy, error) {
	p := RestartPolicy{Condition: RestartNo}
	v := l[LabelRestart]
	if v == "" {
		return p, nil
	}
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return RestartPolicy{Condition: RestartNo}, fmt.Errorf("label %s: %w", LabelRestart, err)
	}
	return p, nil
}

// Number is the container-number label, or 0 when absent or malformed.
func (l Labels) Number() int {
	n, err := strconv.Atoi(l[LabelNumber])
	if err != nil {
		return 0
	}
	return n
}
