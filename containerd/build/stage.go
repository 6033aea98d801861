package build

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// stage builds one stage: its base, then each instruction in turn.
func (bd *build) stage(ctx context.Context, p StagePlan, deps map[int]*stageResult) (*stageResult, error) {
	r, err := bd.base(ctx, p, deps)
	if err != nil {
		return nil, err
	}
	st := NewStageState(r.image.Config, bd.req.Args, bd.globals)
	for _, cmd := range bd.df.Stages[p.Index].Commands {
		n := bd.step()
		where := fmt.Sprintf("%s:%d", bd.df.Path, line(cmd))
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		before := len(r.diffIDs)
		meta, err := st.ApplyMeta(cmd)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bd.df.Path, err)
		}
		if meta {
			if wd, ok := cmd.(*instructions.WorkdirCommand); ok {
				// The directory is made, as Docker does, in a step of its own.
				dir := st.Config.WorkingDir
				key := StepKey(r.key, "WORKDIR "+dir, "")
				start := time.Now()
				cached, err := bd.layerStep(ctx, &r.layers, key, func(ctx context.Context, _ string, mounts []mount.Mount) error {
					return mount.WithTempMount(ctx, mounts, func(root string) error {
						return (&copier{root: root}).mkdirAll(dir)
					})
				})
				if err != nil {
					return nil, fmt.Errorf("%s: WORKDIR %s: %w", where, wd.Path, err)
				}
				bd.report(n, cached, start, historyText(cmd))
				st.History[len(st.History)-1].EmptyLayer = len(r.diffIDs) == before
				continue
			}
			bd.out.stepf(n, bd.steps, "%s", historyText(cmd))
			continue
		}
		start := time.Now()
		var cached bool
		switch c := cmd.(type) {
		case *instructions.RunCommand:
			cached, err = bd.run(ctx, r, st, c, n, p, deps)
			if cached {
				bd.out.stepf(n, bd.steps, "CACHED %s", historyText(cmd))
			} else if err == nil {
				bd.out.stepf(n, bd.steps, "DONE %s", since(start))
			}
		case *instructions.CopyCommand:
			cached, err = bd.copy(ctx, r, st, c.SourcesAndDest, c.From, c.Chown, c.Chmod, false, copyOpts{exclude: c.ExcludePatterns, parents: c.Parents}, deps, p)
			if err == nil {
				bd.report(n, cached, start, historyText(cmd))
			}
		case *instructions.AddCommand:
			unpack := c.Unpack == nil || *c.Unpack
			cached, err = bd.copy(ctx, r, st, c.SourcesAndDest, "", c.Chown, c.Chmod, unpack, copyOpts{exclude: c.ExcludePatterns, checksum: c.Checksum}, deps, p)
			if err == nil {
				bd.report(n, cached, start, historyText(cmd))
			}
		default:
			err = fmt.Errorf("%s instruction is not supported by berth's builder", strings.ToUpper(cmd.Name()))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		st.History = append(st.History, ocispec.History{CreatedBy: historyText(cmd), EmptyLayer: len(r.diffIDs) == before})
		r.image.Config = st.Config
	}
	r.image.Config = st.Config
	created := r.created
	for i := range st.History {
		st.History[i].Created = &created
	}
	r.image.History = append(append([]ocispec.History{}, r.image.History...), st.History...)
	return r, nil
}

func (bd *build) report(n int, cached bool, start time.Time, text string) {
	if cached {
		bd.out.stepf(n, bd.steps, "CACHED %s", text)
		return
	}
	bd.out.stepf(n, bd.steps, "%s done %s", text, since(start))
}

// run executes a RUN step in a containerd task on the stage's snapshot.
func (bd *build) run(ctx context.Context, r *stageResult, st *StageState, c *instructions.RunCommand, n int, p StagePlan, deps map[int]*stageResult) (bool, error) {
	argv, err := runArgv(st, c)
	if err != nil {
		return false, err
	}
	env := runEnv(st)
	user, cwd := st.Config.User, st.Config.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	network, err := ParseNetworkMode(bd.req.Network)
	if err != nil {
		return false, err
	}
	for _, check := range []func(Request, *instructions.RunCommand) error{checkRunNetwork, checkRunSecurity, checkRunMounts} {
		if err := check(bd.req, c); err != nil {
			return false, err // Build checked them; kept here so no path runs one
		}
	}
	if err := c.Expand(st.Expand); err != nil {
		return false, fmt.Errorf("RUN --mount: %w", err)
	}
	mounts := runMounts(c)
	fms, err := fsMounts(c, cwd)
	if err != nil {
		return false, err
	}
	// A bind's key holds the content hash of what it binds, as COPY's
	// does; a cache's never holds its content.
	sources := make([]mountSource, len(fms))
	hashes := make([]string, len(fms))
	for i, m := range fms {
		if m.kind == instructions.MountTypeTmpfs || m.kind == instructions.MountTypeCache && m.from == "" {
			continue
		}
		if sources[i], err = bd.mountSource(ctx, m.from, p, deps); err != nil {
			return false, fmt.Errorf("RUN --mount=type=%s,from=%s: %w", m.kind, m.from, err)
		}
		if m.kind == instructions.MountTypeBind {
			if hashes[i], err = sources[i].hash(m.source); err != nil {
				return false, fmt.Errorf("RUN --mount=type=bind,target=%s: %w", m.target, err)
			}
		}
	}
	privileged := instructions.GetSecurity(c) == instructions.SecurityInsecure
	if n := instructions.GetNetwork(c); n != "" && n != instructions.NetworkDefault {
		if network, err = ParseNetworkMode(n); err != nil { // RUN --network=none|host
			return false, err
		}
	}
	desc, _ := json.Marshal(struct {
		Argv    []string
		Env     []string
		User    string
		Cwd     string
		Network string
		// Mounts and Insecure are left out when unset, so that the keys
		// of the steps without them stay what they were.
		Mounts   []string `json:",omitempty"`
		Insecure bool     `json:",omitempty"`
	}{argv, env, user, cwd, string(network), append(mountKeys(mounts), fsMountKeys(fms, hashes)...), privileged})
	key := StepKey(r.key, "RUN "+string(desc), "")
	// The proxy args reach RUN without an ARG, and stay out of the cache
	// key and the image, as in docker.
	procEnv := env
	for _, k := range proxyArgs {
		if v, ok := bd.req.Args[k]; ok {
			if _, declared := st.Args[k]; !declared {
				procEnv = append(procEnv, k+"="+v)
			}
		}
	}
	return bd.layerStep(ctx, &r.layers, key, func(ctx context.Context, active string, mounts []mount.Mount) error {
		bd.out.stepf(n, bd.steps, "%s", historyText(c))
		if err := os.MkdirAll(bd.fifoDir, 0o700); err != nil {
			return err
		}
		binds, mountEnv, release, err := mountsFor(bd.fifoDir, bd.req, runMounts(c))
		if err != nil {
			return err
		}
		defer release()
		fsBinds, releaseFS, err := bd.prepareMounts(ctx, fms, sources)
		if err != nil {
			return err
		}
		defer releaseFS()
		binds = append(fsBinds, binds...)
		sortMounts(binds)
		// A long step says now and then that it still runs, and for how
		// long, between its output lines.
		ticker := time.NewTicker(runHeartbeat)
		stop := make(chan struct{})
		defer func() { close(stop); ticker.Stop() }()
		go heartbeat(stop, ticker.C, time.Now(), func(d time.Duration) {
			bd.out.stepf(n, bd.steps, "%s: running for %s", historyText(c), d.Round(time.Second))
		})
		rs := runSpec{
			snapshot: active, mounts: mounts, argv: argv, env: append(append([]string{}, procEnv...), mountEnv...), user: user, cwd: cwd,
			network: network, memory: bd.req.Memory, binds: binds, privileged: privileged, out: &runLines{o: bd.out},
		}
		if network == NetworkDefault {
			var err error
			if rs.netns, rs.etcDir, err = bd.network(ctx); err != nil {
				return err
			}
		}
		return bd.b.runTask(ctx, bd.owner, bd.fifoDir, rs, historyText(c))
	})
}

// proxyArgs are docker's predefined build args.
var proxyArgs = []string{
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
	"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
}

// runArgv is a RUN's command line: the exec form as written, the shell
// form run by the stage's shell, heredocs included in the script.
func runArgv(st *StageState, c *instructions.RunCommand) ([]string, error) {
	if !c.PrependShell {
		if len(c.Files) > 0 {
			return nil, fmt.Errorf("RUN in exec form with a heredoc is not supported: use the shell form")
		}
		return append([]string{}, c.CmdLine...), nil
	}
	sh := st.Config.Shell
	if len(sh) == 0 {
		sh = defaultShell
	}
	script := strings.Join(c.CmdLine, " ")
	if len(c.Files) > 0 {
		// A heredoc alone is the script; otherwise the shell feeds the
		// heredocs to the command, as it would in a shell script.
		if len(c.Files) == 1 && len(c.CmdLine) == 1 && isHeredocMarker(c.CmdLine[0], c.Files[0].Name) {
			data := c.Files[0].Data
			if strings.HasPrefix(data, "#!") {
				return nil, fmt.Errorf("RUN heredoc with a #! line is not supported yet: drop the #! line (the stage's shell runs it) or write the script with COPY and run it")
			}
			script = data
		} else {
			var b strings.Builder
			b.WriteString(script)
			b.WriteString("\n")
			for _, f := range c.Files {
				b.WriteString(f.Data)
				if !strings.HasSuffix(f.Data, "\n") && f.Data != "" {
					b.WriteString("\n")
				}
				b.WriteString(f.Name + "\n")
			}
			script = b.String()
		}
	}
	return append(append([]string{}, sh...), script), nil
}

func isHeredocMarker(word, name string) bool {
	w := strings.TrimPrefix(strings.TrimPrefix(word, "<<"), "-")
	w = strings.Trim(w, `"'`)
	return strings.HasPrefix(word, "<<") && w == name
}

// runEnv is RUN's environment: the image's ENV, the ARGs not shadowed by
// it, and a default PATH when neither sets one.
func runEnv(st *StageState) []string {
	env := append([]string{}, st.Config.Env...)
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	keys := make([]string, 0, len(st.Args))
	for k := range st.Args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !set[k] {
			env = append(env, k+"="+st.Args[k])
			set[k] = true
		}
	}
	if !set["PATH"] {
		env = append(env, defaultPath)
	}
	return env
}

// copy runs COPY and ADD: sources from the context, a stage or an image,
// inline heredoc files, and (ADD) URLs and local archives to unpack.
func (bd *build) copy(ctx context.Context, r *stageResult, st *StageState, sd instructions.SourcesAndDest, from, chown, chmod string, add bool, opts copyOpts, deps map[int]*stageResult, p StagePlan) (bool, error) {
	if err := sd.Expand(st.Expand); err != nil {
		return false, err
	}
	if err := opts.expand(st.Expand); err != nil {
		return false, err
	}
	exclude, err := opts.matcher()
	if err != nil {
		return false, err
	}
	if opts.checksum != "" {
		if err := checksumSources(sd.SourcePaths); err != nil {
			return false, err
		}
	}
	if chown != "" {
		var err error
		if chown, err = st.Expand(chown); err != nil {
			return false, err
		}
	}
	mode, err := parseChmod(chmod)
	if err != nil {
		return false, err
	}
	sources := len(sd.SourcePaths) + len(sd.SourceContents)
	dest, destDir := destination(sd.DestPath, st.Config.WorkingDir, sources)

	// What the step copies, for its key: context files by content, a
	// stage by its key, an image by its config digest, URLs by content.
	var hashes []string
	var srcRoot func(ctx context.Context, f func(*Context) error) error
	type download struct{ file, name string }
	var downloads []download
	defer func() {
		for _, d := range downloads {
			os.Remove(d.file)
		}
	}()
	var local []string
	// A named context that is a directory is copied from as the build
	// context is; one that is an image as an image.
	srcCtx, srcName := bd.ctx, "ctx"
	if from != "" {
		if _, isStage, _ := stageRef(from, stageIndex(bd.df, p.Index), p.Index); !isStage {
			if nc, err := bd.req.namedContext(from); err == nil {
				if nc.Dir != "" {
					if srcCtx, err = OpenContext(nc.Dir, ""); err != nil {
						return false, fmt.Errorf("COPY --from=%s: %w", from, err)
					}
					srcCtx.memo = bd.b.memo
					srcName, from = "context "+from, ""
				} else {
					from = nc.Image
				}
			}
		}
	}
	switch {
	case from != "":
		var chain, key string
		var unpack func(context.Context) error
		if j, isStage, _ := stageRef(from, stageIndex(bd.df, p.Index), p.Index); isStage {
			chain, key, unpack = string(deps[j].chain), deps[j].key, deps[j].unpack
		} else {
			img, err := bd.b.image(ctx, from, bd.req.Pull, bd.target, bd.lease.ensure)
			if err != nil {
				return false, fmt.Errorf("COPY --from=%s: %w", from, err)
			}
			chain, key, unpack = string(img.chain), img.key, img.unpack
		}
		hashes = append(hashes, "from:"+key)
		local = sd.SourcePaths
		srcRoot = func(ctx context.Context, f func(*Context) error) error {
			if chain == "" {
				dir, err := os.MkdirTemp("", "berth-empty-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				return f(RootFS(dir))
			}
			if unpack != nil {
				if err := unpack(ctx); err != nil {
					return fmt.Errorf("COPY --from=%s: %w", from, err)
				}
			}
			sn := bd.b.client.SnapshotService(bd.b.cfg.Snapshotter)
			view := "berth-build-view-" + randomID()
			mounts, err := sn.View(ctx, view, chain, bd.ownerLabel())
			if err != nil {
				return fmt.Errorf("COPY --from=%s: %w", from, err)
			}
			defer sn.Remove(context.WithoutCancel(ctx), view) //nolint:errcheck // the build lease collects it otherwise
			return mount.WithReadonlyTempMount(ctx, mounts, func(root string) error { return f(RootFS(root)) })
		}
	default:
		for _, src := range sd.SourcePaths {
			if add && isURL(src) {
				file, err := bd.fetch(ctx, src)
				if err != nil {
					return false, err
				}
				downloads = append(downloads, download{file, urlName(src)})
				if err := verifyChecksum(file, src, opts.checksum); err != nil {
					return false, err
				}
				h, err := fileHash(file)
				if err != nil {
					return false, err
				}
				hashes = append(hashes, "url:"+src+":"+h)
				continue
			}
			if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
				return false, fmt.Errorf("source %q: COPY takes files from the build context; only ADD fetches URLs (git sources are not supported)", src)
			}
			files, err := srcCtx.Select(src)
			if err != nil {
				return false, err
			}
			if files, err = excludeFiles(files, exclude); err != nil {
				return false, err
			}
			h, err := srcCtx.Hash(files)
			if err != nil {
				return false, err
			}
			hashes = append(hashes, srcName+":"+src+":"+h)
			local = append(local, src)
		}
		srcRoot = func(_ context.Context, f func(*Context) error) error { return f(srcCtx) }
	}
	for _, c := range sd.SourceContents {
		hashes = append(hashes, "inline:"+c.Path+":"+c.Data)
	}
	desc, _ := json.Marshal(struct {
		Add         bool
		Dest        string
		DestDir     bool
		Chown       string
		Chmod       string
		Sources     []string
		WorkingDir  string
		SourceFiles []string
		// Left out when unset, so that the keys of the steps without
		// them stay what they were.
		Exclude  []string `json:",omitempty"`
		Parents  bool     `json:",omitempty"`
		Checksum string   `json:",omitempty"`
	}{add, dest, destDir, chown, chmod, sd.SourcePaths, st.Config.WorkingDir, hashes, opts.exclude, opts.parents, opts.checksum})
	key := StepKey(r.key, "COPY "+string(desc), "")

	return bd.layerStep(ctx, &r.layers, key, func(ctx context.Context, _ string, mounts []mount.Mount) error {
		return srcRoot(ctx, func(src *Context) error {
			return mount.WithTempMount(ctx, mounts, func(root string) error {
				owner, err := resolveOwner(root, chown)
				if err != nil {
					return err
				}
				c := &copier{root: root, owner: owner, mode: mode}
				for _, s := range local {
					files, err := src.Select(s)
					if err != nil {
						return err
					}
					if files, err = excludeFiles(files, exclude); err != nil {
						return err
					}
					if opts.parents {
						if err := c.copyParents(src, files, dest, parentsPivot(s)); err != nil {
							return err
						}
						continue
					}
					if add && len(files) == 1 && files[0].Info.Mode().IsRegular() {
						ar, err := openArchive(filepath.Join(src.Root, filepath.FromSlash(files[0].Rel)))
						if err != nil {
							return err
						}
						if ar != nil {
							err := c.extract(ar, dest, files[0].Rel)
							ar.Close()
							if err != nil {
								return err
							}
							continue
						}
					}
					if err := c.copyFiles(src, files, dest, destDir); err != nil {
						return err
					}
				}
				for _, d := range downloads {
					f, err := os.Open(d.file)
					if err != nil {
						return err
					}
					st, _ := f.Stat()
					target := dest
					if destDir || c.isDir(dest) {
						target = path.Join(dest, d.name)
					}
					err = c.writeContent(target, f, 0o600, st.ModTime())
					f.Close()
					if err != nil {
						return err
					}
				}
				for _, sc := range sd.SourceContents {
					target := dest
					if destDir || c.isDir(dest) {
						target = path.Join(dest, sc.Path)
					}
					data := sc.Data
					if sc.Expand {
						if data, err = expandHeredoc(st, data); err != nil {
							return err
						}
					}
					if err := c.writeContent(target, strings.NewReader(data), 0o644, time.Unix(0, 0)); err != nil {
						return err
					}
				}
				return nil
			})
		})
	})
}

func expandHeredoc(st *StageState, data string) (string, error) {
	lex := shell.NewLex('\\')
	lex.RawQuotes = true
	lex.RawEscapes = true
	out, _, err := lex.ProcessWord(data, shell.EnvsFromSlice(st.env()))
	return out, err
}

func stageIndex(df *Dockerfile, current int) map[string]int {
	m := map[string]int{}
	for i := 0; i < current; i++ {
		if n := df.Stages[i].Name; n != "" {
			m[strings.ToLower(n)] = i
		}
	}
	return m
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func urlName(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "download"
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		return "download"
	}
	return name
}

// fetch downloads an ADD URL to a temporary file with the server's
// Last-Modified time.
func (bd *build) fetch(ctx context.Context, src string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", fmt.Errorf("ADD %s: %w", src, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("ADD %s: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ADD %s: the server answered %s", src, resp.Status)
	}
	f, err := os.CreateTemp("", "berth-add-")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("ADD %s: %w", src, err)
	}
	f.Close()
	mtime := time.Unix(0, 0)
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mtime = lm
	}
	os.Chtimes(f.Name(), mtime, mtime) //nolint:errcheck // only the time is lost
	return f.Name(), nil
}

func fileHash(file string) (string, error) {
	st, err := os.Stat(file)
	if err != nil {
		return "", err
	}
	c := &Context{Root: filepath.Dir(file)}
	return c.Hash([]File{{Rel: filepath.Base(file), Info: st}})
}

// normalize turns a reference as written into the full one stored.
func normalize(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// expandWith expands variables in word from vars.
func expandWith(word string, vars map[string]string) (string, error) {
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	out, _, err := shell.NewLex('\\').ProcessWord(word, shell.EnvsFromSlice(env))
	return out, err
}

// runHeartbeat is how often a running RUN step reports its time.
const runHeartbeat = 30 * time.Second

// heartbeat calls emit with the time since start at each tick, until done
// is closed.
func heartbeat(done <-chan struct{}, ticks <-chan time.Time, start time.Time, emit func(time.Duration)) {
	for {
		select {
		case <-done:
			return
		case t := <-ticks:
			emit(t.Sub(start))
		}
	}
}
