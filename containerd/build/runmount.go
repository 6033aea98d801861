package build

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Secret is a secret RUN --mount=type=secret reads: a host file, or its
// content. Its content never enters a cache key, a layer or the image.
type Secret struct {
	File string
	Data []byte
}

// read returns the secret's content.
func (s Secret) read() ([]byte, error) {
	if s.File != "" {
		return os.ReadFile(s.File)
	}
	return s.Data, nil
}

// runMount is one RUN --mount=type=secret|ssh, resolved: what is bound
// where, and the variable the process gets.
type runMount struct {
	kind   instructions.MountType
	id     string
	target string
	// env names the variable that gets the secret's content (env=), or
	// SSH_AUTH_SOCK for an agent.
	env      string
	required bool
}

// key is the mount as the step's cache key holds it: what is mounted
// where, never the content.
func (m runMount) key() string {
	return fmt.Sprintf("%s,id=%s,target=%s,env=%s", m.kind, m.id, m.target, m.env)
}

// runMounts resolves a RUN's --mount flags as BuildKit does: a secret's id
// defaults to its target's base name and its target to /run/secrets/<id>
// (none when it only sets env=); an agent's id defaults to "default" and
// its target to /run/buildkit/ssh_agent.<n>.
func runMounts(c *instructions.RunCommand) []runMount {
	var out []runMount
	agents := 0
	for _, m := range instructions.GetMounts(c) {
		switch m.Type {
		case instructions.MountTypeSecret:
			rm := runMount{kind: m.Type, id: m.CacheID, target: m.Target, required: m.Required}
			if rm.id == "" {
				rm.id = m.Source
			}
			if rm.id == "" {
				rm.id = path.Base(m.Target)
			}
			if m.Env != nil {
				rm.env = *m.Env
				if rm.env == "" {
					rm.env = rm.id
				}
			}
			if rm.target == "" && m.Env == nil {
				rm.target = "/run/secrets/" + rm.id
			}
			out = append(out, rm)
		case instructions.MountTypeSSH:
			rm := runMount{kind: m.Type, id: m.CacheID, target: m.Target, env: "SSH_AUTH_SOCK", required: m.Required}
			if rm.id == "" {
				rm.id = "default"
			}
			if rm.target == "" {
				rm.target = fmt.Sprintf("/run/buildkit/ssh_agent.%d", agents)
			}
			agents++
			out = append(out, rm)
		}
	}
	return out
}

// checkRunMounts refuses a RUN whose required secret or agent the request
// does not give, before any step runs.
func checkRunMounts(req Request, c *instructions.RunCommand) error {
	for _, m := range runMounts(c) {
		if !m.required {
			continue
		}
		switch m.kind {
		case instructions.MountTypeSecret:
			if _, ok := req.Secrets[m.id]; !ok {
				return fmt.Errorf("RUN --mount=type=secret,id=%s,required: the build has no secret %q: add it to the service's build.secrets", m.id, m.id)
			}
		case instructions.MountTypeSSH:
			if _, ok := req.SSH[m.id]; !ok {
				return fmt.Errorf("RUN --mount=type=ssh,id=%s,required: the build forwards no SSH agent %q: add it to the service's build.ssh", m.id, m.id)
			}
		}
	}
	return nil
}

// mountsFor makes what a RUN's secret and ssh mounts need in dir (the
// build's private directory): the binds, the process's variables, and a
// release function that stops the agents it serves. A mount the request
// does not give is left out, as BuildKit leaves out one not required.
func mountsFor(dir string, req Request, mounts []runMount) (binds []specs.Mount, env []string, release func(), retErr error) {
	var stops []func()
	release = func() {
		for _, s := range stops {
			s()
		}
	}
	defer func() {
		if retErr != nil {
			release()
		}
	}()
	for _, m := range mounts {
		switch m.kind {
		case instructions.MountTypeSecret:
			sec, ok := req.Secrets[m.id]
			if !ok {
				continue
			}
			if m.env != "" {
				data, err := sec.read()
				if err != nil {
					return nil, nil, nil, fmt.Errorf("secret %q: %w", m.id, err)
				}
				env = append(env, m.env+"="+string(data))
			}
			if m.target == "" {
				continue
			}
			src := sec.File
			if src == "" {
				f, err := os.CreateTemp(dir, "secret-")
				if err != nil {
					return nil, nil, nil, fmt.Errorf("secret %q: %w", m.id, err)
				}
				_, err = f.Write(sec.Data)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err == nil {
					err = os.Chmod(f.Name(), 0o400)
				}
				if err != nil {
					return nil, nil, nil, fmt.Errorf("secret %q: %w", m.id, err)
				}
				src = f.Name()
			}
			binds = append(binds, specs.Mount{Destination: m.target, Type: "bind", Source: src, Options: []string{"rbind", "rprivate", "ro"}})
		case instructions.MountTypeSSH:
			paths, ok := req.SSH[m.id]
			if !ok {
				continue
			}
			sock, stop, err := agentSocket(dir, m.id, paths)
			if err != nil {
				return nil, nil, nil, err
			}
			if stop != nil {
				stops = append(stops, stop)
			}
			binds = append(binds, specs.Mount{Destination: m.target, Type: "bind", Source: sock, Options: []string{"rbind", "rprivate"}})
			env = append(env, m.env+"="+m.target)
		}
	}
	return binds, env, release, nil
}

// agentSocket is the agent socket an ssh mount binds: the one path given
// when it is a socket (an agent's), else an agent berth serves in dir
// from the private key files given, stopped by stop.
func agentSocket(dir, id string, paths []string) (sock string, stop func(), err error) {
	if len(paths) == 0 {
		return "", nil, fmt.Errorf("build.ssh %q: no agent socket or key file (for default, is SSH_AUTH_SOCK set?)", id)
	}
	if len(paths) == 1 {
		if st, err := os.Stat(paths[0]); err == nil && st.Mode()&os.ModeSocket != 0 {
			return paths[0], nil, nil
		}
	}
	keyring := agent.NewKeyring()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", nil, fmt.Errorf("build.ssh %q: %w", id, err)
		}
		key, err := ssh.ParseRawPrivateKey(b)
		if err != nil {
			return "", nil, fmt.Errorf("build.ssh %q: %s: %w (give an agent socket or an unencrypted private key)", id, p, err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
			return "", nil, fmt.Errorf("build.ssh %q: %s: %w", id, p, err)
		}
	}
	sock = filepath.Join(dir, "ssh-"+randomID()+".sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		return "", nil, fmt.Errorf("build.ssh %q: serve agent: %w", id, err)
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return // closed by stop
			}
			go func() {
				defer conn.Close()
				agent.ServeAgent(keyring, conn) //nolint:errcheck // ends when the step's client goes
			}()
		}
	}()
	return sock, func() { l.Close(); os.Remove(sock) }, nil
}

// mountKeys are a RUN's mounts as its cache key holds them.
func mountKeys(mounts []runMount) []string {
	var out []string
	for _, m := range mounts {
		out = append(out, m.key())
	}
	sort.Strings(out)
	return out
}

// unsupportedMount names a RUN --mount type berth's builder does not
// carry out, or "". Every type buildkit's parser accepts is carried out.
func unsupportedMount(c *instructions.RunCommand) string {
	for _, m := range instructions.GetMounts(c) {
		switch m.Type {
		case instructions.MountTypeSecret, instructions.MountTypeSSH, instructions.MountTypeCache,
			instructions.MountTypeTmpfs, instructions.MountTypeBind:
		default:
			return "RUN --mount=type=" + string(m.Type)
		}
	}
	return ""
}

var errNoContext = errors.New("no such named context")

// NamedContext is a build.additional_contexts entry the Dockerfile names
// in FROM or COPY --from: a directory or an image.
type NamedContext struct {
	Dir   string
	Image string
}

// namedContext is the named context that name resolves to, when it is no
// stage of the Dockerfile.
func (req Request) namedContext(name string) (NamedContext, error) {
	nc, ok := req.Contexts[strings.ToLower(name)]
	if !ok {
		nc, ok = req.Contexts[name]
	}
	if !ok {
		return NamedContext{}, errNoContext
	}
	return nc, nil
}
