package containerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/berth/berth/compose"
	"github.com/berth/berth/scheduler"
)

// Labels keeping a container's post_start and pre_stop hooks (JSON), so
// that Start and Stop, which see only the container, run them.
const (
	labelPostStart = "berth.post-start"
	labelPreStop   = "berth.pre-stop"
)

// hookLabels are the labels of the service's hooks.
func hookLabels(s *compose.Service) (map[string]string, error) {
	out := map[string]string{}
	for key, hooks := range map[string][]compose.Hook{labelPostStart: s.PostStart, labelPreStop: s.PreStop} {
		if len(hooks) == 0 {
			continue
		}
		b, err := json.Marshal(hooks)
		if err != nil {
			return nil, err
		}
		out[key] = string(b)
	}
	return out, nil
}

// hooksOf reads the hooks of a container's label.
func hooksOf(sc scheduler.Container, label string) ([]compose.Hook, error) {
	raw := sc.Labels[label]
	if raw == "" {
		return nil, nil
	}
	var hooks []compose.Hook
	if err := json.Unmarshal([]byte(raw), &hooks); err != nil {
		return nil, fmt.Errorf("container %s: label %s: %w", sc.Name, label, err)
	}
	return hooks, nil
}

// hookOutput collects a hook's standard output and error: Exec copies the
// two streams from goroutines of their own, so writes are serialized (a
// plain bytes.Buffer shared by both got garbled, NUL bytes and all).
type hookOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *hookOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *hookOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// hookOutputTail bounds how much of a failed hook's output its error quotes.
const hookOutputTail = 512

// ShowHookOutput makes the output of the hooks that run from now on
// (post_start, pre_stop) also go to the writer show returns for their
// container (none when it returns nil), as attached up shows it. The writer is closed after each hook
// when it is an io.Closer. Safe to call while hooks run.
func (c *Client) ShowHookOutput(show func(scheduler.Container) io.Writer) {
	c.hookOutput.Store(&show)
}

// runHooks runs the hooks of label in the container, in order, as docker
// compose does: with the container's environment under the hook's, as the
// hook's user, in its working directory, privileged if asked. The first
// that fails (cannot run, or exits non-zero) is the error, with the end of
// its output.
func (c *Client) runHooks(ctx context.Context, sc scheduler.Container, label string) error {
	hooks, err := hooksOf(sc, label)
	if err != nil {
		return err
	}
	return c.execHooks(ctx, sc, label, hooks)
}

// runPreStop runs the container's pre_stop hooks: those the compose file
// gives (sc.PreStop, when set), else those its label keeps.
func (c *Client) runPreStop(ctx context.Context, sc scheduler.Container) error {
	if sc.PreStop != nil {
		return c.execHooks(ctx, sc, labelPreStop, sc.PreStop)
	}
	return c.runHooks(ctx, sc, labelPreStop)
}

// runPostStart runs the container's post_start hooks: those the compose
// file gives (sc.PostStart, when set), else those its label keeps.
func (c *Client) runPostStart(ctx context.Context, sc scheduler.Container) error {
	if sc.PostStart != nil {
		return c.execHooks(ctx, sc, labelPostStart, sc.PostStart)
	}
	return c.runHooks(ctx, sc, labelPostStart)
}

// execHooks runs hooks (of label's kind) as runHooks says.
func (c *Client) execHooks(ctx context.Context, sc scheduler.Container, label string, hooks []compose.Hook) error {
	key := strings.ReplaceAll(strings.TrimPrefix(label, compose.LabelPrefixBerth), "-", "_")
	for i, h := range hooks {
		var out hookOutput
		var w io.Writer = &out
		var shown io.Writer
		if show := c.hookOutput.Load(); show != nil {
			if shown = (*show)(sc); shown != nil {
				w = io.MultiWriter(&out, shown)
			}
		}
		code, err := c.Exec(ctx, sc, ExecRequest{Args: h.Command, Env: h.Environment, User: h.User, WorkDir: h.WorkingDir,
			Privileged: h.Privileged, Stdout: w, Stderr: w})
		if cl, ok := shown.(io.Closer); ok {
			cl.Close() //nolint:errcheck // it only flushes a last partial line
		}
		if err == nil && code == 0 {
			continue
		}
		msg := strings.TrimSpace(out.String())
		if len(msg) > hookOutputTail {
			msg = "..." + msg[len(msg)-hookOutputTail:]
		}
		if msg != "" {
			msg = ": " + strings.ReplaceAll(msg, "\n", " | ")
		}
		where := fmt.Sprintf("container %s: %s[%d] %q", sc.Name, key, i, strings.Join(h.Command, " "))
		if err != nil {
			return fmt.Errorf("service %q: %s: %w%s", sc.Labels.Service(), where, err, msg)
		}
		// docker compose's words first ("web hook exited with status 3"):
		// scripts match them.
		return fmt.Errorf("%s hook exited with status %d: %s%s", sc.Labels.Service(), code, where, msg)
	}
	return nil
}
