package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/containerd"
	"github.com/berth/berth/netbridge"
	"github.com/berth/berth/scheduler"
)

type containerInspectOptions struct {
	format string
}

func newContainerInspectCmd(g *globalOptions) *cobra.Command {
	opts := containerInspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Long: `Print a JSON array with an object per container, in docker inspect's form
(Id, Name, Created, State, Config, HostConfig, NetworkSettings, Mounts), or
with -f a Go template run over each ('{{.State.Status}}',
'{{json .Config.Env}}').`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainerInspect(cmd, g, opts, args)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", "Format the output using the given Go template")
	return cmd
}

func runContainerInspect(cmd *cobra.Command, g *globalOptions, opts containerInspectOptions, refs []string) error {
	var tmpl *template.Template
	if opts.format != "" && opts.format != "json" {
		t, err := template.New("inspect").Funcs(templateFuncs).Parse(opts.format)
		if err != nil {
			return fmt.Errorf("inspect --format %q: %w", opts.format, err)
		}
		tmpl = t
	}
	ctx := cmd.Context()
	rt, err := g.connect(ctx, scheduler.Discard)
	if err != nil {
		return err
	}
	defer rt.Close()
	cs, err := rt.Containers(ctx, "")
	if err != nil {
		return err
	}
	nets, err := g.networks()
	if err != nil {
		return err
	}
	supervising := supervisedProjects(g)
	out := []containerInspect{}
	var errs []string
	for _, ref := range refs {
		c, err := scheduler.FindContainer(cs, ref)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		cfg, err := rt.ContainerConfig(ctx, c)
		if err != nil {
			return err
		}
		bindings, err := nets.Ports(c.ID)
		if err != nil {
			return err
		}
		eps, err := nets.Endpoints(c.ID)
		if err != nil {
			return err
		}
		out = append(out, inspectOf(c, cfg, bindings, eps, supervising(c.Labels.Project()), time.Now()))
	}
	w := cmd.OutOrStdout()
	if tmpl != nil {
		for _, ci := range out {
			var buf bytes.Buffer
			if err := tmpl.Execute(&buf, ci); err != nil {
				return fmt.Errorf("inspect --format: %w", err)
			}
			fmt.Fprintln(w, buf.String())
		}
	} else {
		b, err := json.MarshalIndent(out, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
	}
	if len(errs) > 0 {
		return exitError{code: 1, err: fmt.Errorf("%s", strings.Join(errs, "\n"))}
	}
	return nil
}

// containerInspect is a container as docker inspect shows it (the fields
// berth knows; docker's names and nesting).
type containerInspect struct {
	ID              string                 `json:"Id"`
	Created         string                 `json:"Created"`
	Path            string                 `json:"Path"`
	Args            []string               `json:"Args"`
	State           inspectState           `json:"State"`
	Image           string                 `json:"Image"`
	Name            string                 `json:"Name"`
	RestartCount    int                    `json:"RestartCount"`
	HostConfig      inspectHostConfig      `json:"HostConfig"`
	Mounts          []inspectMount         `json:"Mounts"`
	Config          inspectConfig          `json:"Config"`
	NetworkSettings inspectNetworkSettings `json:"NetworkSettings"`
}

type inspectState struct {
	Status     string            `json:"Status"`
	Running    bool              `json:"Running"`
	Paused     bool              `json:"Paused"`
	Restarting bool              `json:"Restarting"`
	OOMKilled  bool              `json:"OOMKilled"`
	Dead       bool              `json:"Dead"`
	Pid        int               `json:"Pid"`
	ExitCode   int               `json:"ExitCode"`
	Error      string            `json:"Error"`
	StartedAt  string            `json:"StartedAt"`
	FinishedAt string            `json:"FinishedAt"`
	Health     *scheduler.Health `json:"Health,omitempty"`
}

type inspectRestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

type inspectPortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

type inspectHostConfig struct {
	Binds         []string                        `json:"Binds"`
	NetworkMode   string                          `json:"NetworkMode"`
	PortBindings  map[string][]inspectPortBinding `json:"PortBindings"`
	RestartPolicy inspectRestartPolicy            `json:"RestartPolicy"`
	AutoRemove    bool                            `json:"AutoRemove"`
	Memory        int64                           `json:"Memory"`
	NanoCpus      int64                           `json:"NanoCpus"`
}

type inspectMount struct {
	Type        string `json:"Type"`
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
}

type inspectConfig struct {
	Hostname     string              `json:"Hostname"`
	User         string              `json:"User"`
	Tty          bool                `json:"Tty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Image        string              `json:"Image"`
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal,omitempty"`
}

type inspectEndpoint struct {
	Aliases     []string `json:"Aliases"`
	NetworkID   string   `json:"NetworkID"`
	Gateway     string   `json:"Gateway"`
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	MacAddress  string   `json:"MacAddress"`
	DNSNames    []string `json:"DNSNames"`
}

type inspectNetworkSettings struct {
	Ports       map[string][]inspectPortBinding `json:"Ports"`
	Gateway     string                          `json:"Gateway"`
	IPAddress   string                          `json:"IPAddress"`
	IPPrefixLen int                             `json:"IPPrefixLen"`
	Networks    map[string]inspectEndpoint      `json:"Networks"`
}

// dockerTime is a time as docker inspect prints it; the zero time is
// docker's 0001-01-01T00:00:00Z.
func dockerTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// inspectOf is c as docker inspect shows it, from its labels, its
// configuration (cfg), its published ports and its networks.
func inspectOf(c scheduler.Container, cfg containerd.ContainerConfig, bindings []netbridge.PortBinding, eps []netbridge.NetworkEndpoint,
	supervising bool, now time.Time) containerInspect {
	ci := containerInspect{
		ID: scheduler.ContainerID(c), Created: dockerTime(c.Created), Name: containerName(c),
		Image: c.Labels.ImageID(), RestartCount: c.Labels.RestartCount(), Args: []string{},
		Mounts: []inspectMount{},
	}
	argv := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(argv) > 0 {
		ci.Path, ci.Args = argv[0], argv[1:]
	}
	status := string(c.State)
	if c.State == scheduler.StateUnknown {
		status = "dead"
	}
	ci.State = inspectState{
		Status: status, Running: c.State == scheduler.StateRunning || c.State == scheduler.StatePaused,
		Paused: c.State == scheduler.StatePaused, Dead: c.State == scheduler.StateUnknown,
		Pid: cfg.Pid, ExitCode: c.ExitCode, StartedAt: dockerTime(c.StartedAt), FinishedAt: dockerTime(c.FinishedAt),
	}
	if h, ok := scheduler.ShownHealth(c, supervising, now); ok && ci.State.Running {
		ci.State.Health = &h
	}
	labels := map[string]string{}
	for k, v := range c.Labels {
		if !internalLabel(c, k) {
			labels[k] = v
		}
	}
	ci.Config = inspectConfig{
		Hostname: cfg.Hostname, User: cfg.User, Tty: cfg.Tty, Env: cfg.Env, Cmd: cfg.Cmd, Image: c.Image,
		WorkingDir: cfg.WorkingDir, Entrypoint: cfg.Entrypoint, Labels: labels, StopSignal: c.Labels.StopSignal(),
	}
	policy, _ := c.Labels.Restart()
	if policy.Condition == "" {
		policy.Condition = compose.RestartNo
	}
	ci.HostConfig = inspectHostConfig{
		Binds: []string{}, NetworkMode: "bridge", PortBindings: map[string][]inspectPortBinding{},
		RestartPolicy: inspectRestartPolicy{Name: policy.Condition, MaximumRetryCount: policy.MaxAttempts},
		AutoRemove:    c.Labels.AutoRemove(), Memory: cfg.MemoryLimit, NanoCpus: cfg.NanoCPUs,
	}
	switch {
	case c.Labels.NetNSPath() == "" && len(eps) == 0:
		ci.HostConfig.NetworkMode = "host"
	case len(eps) == 0:
		ci.HostConfig.NetworkMode = "none"
	case isPlain(c) && eps[0].Network != compose.ContainersNetwork:
		ci.HostConfig.NetworkMode = eps[0].Network
	case !isPlain(c):
		ci.HostConfig.NetworkMode = eps[0].Network
	}
	ns := inspectNetworkSettings{Ports: map[string][]inspectPortBinding{}, Networks: map[string]inspectEndpoint{}}
	for _, b := range bindings {
		key := strconv.Itoa(int(b.ContainerPort)) + "/" + b.Protocol
		host := "0.0.0.0"
		if b.HostIP.IsValid() {
			host = b.HostIP.String()
		}
		pb := inspectPortBinding{HostIP: host, HostPort: strconv.Itoa(int(b.HostPort))}
		ns.Ports[key] = append(ns.Ports[key], pb)
		ci.HostConfig.PortBindings[key] = append(ci.HostConfig.PortBindings[key], pb)
	}
	for i, ep := range eps {
		e := inspectEndpoint{
			Aliases: ep.Names, NetworkID: ep.Network, Gateway: ep.Gateway.String(), IPAddress: ep.Addr.Addr().String(),
			IPPrefixLen: ep.Addr.Bits(), DNSNames: ep.Names,
		}
		if e.Aliases == nil {
			e.Aliases = []string{}
		}
		ns.Networks[ep.Network] = e
		if i == 0 {
			ns.Gateway, ns.IPAddress, ns.IPPrefixLen = e.Gateway, e.IPAddress, e.IPPrefixLen
		}
	}
	ci.NetworkSettings = ns
	for _, m := range cfg.Mounts {
		mode := "rw"
		if !m.RW {
			mode = "ro"
		}
		ci.Mounts = append(ci.Mounts, inspectMount{Type: m.Type, Name: m.Name, Source: m.Source, Destination: m.Destination, Mode: mode, RW: m.RW})
		if m.Type == "bind" {
			bind := m.Source + ":" + m.Destination
			if !m.RW {
				bind += ":ro"
			}
			ci.HostConfig.Binds = append(ci.HostConfig.Binds, bind)
		}
	}
	return ci
}
