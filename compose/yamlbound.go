package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"
)

// Bounds on what a compose file's YAML aliases may expand it to. compose-go
// decodes a file into plain maps and slices, which copies each alias's
// value wherever it is used: nine nested aliases of nine references each
// ("billion laughs", 416 bytes) become 10^9 values and take every command
// down with them. Docker compose has the same weakness; berth checks each
// file's node tree, where an alias is one node, before compose-go sees it.
const (
	// MaxAliasNodes is how many nodes aliases may add to a file once
	// expanded: enough for anchors reused across many services (a 25-node
	// anchor merged into 1000 services), tiny next to an attack, and small
	// enough that compose-go loads such a file in a second or two.
	MaxAliasNodes = 25_000
	// MaxYAMLDepth is how deep a file may nest, aliases expanded. Compose
	// files nest less than ten levels.
	MaxYAMLDepth = 100
)

// ErrYAMLTooLarge is returned (wrapped) for a file whose aliases expand
// beyond MaxAliasNodes or MaxYAMLDepth.
var ErrYAMLTooLarge = errors.New("YAML aliases expand too far")

// CheckYAMLBounds fails when the aliases of the YAML documents in content
// (file names it in the error) expand past MaxAliasNodes nodes or
// MaxYAMLDepth levels, or refer to themselves. It never expands more than
// that: the walk stops at the bound. Content that does not parse is left
// to compose-go, which says why.
func CheckYAMLBounds(file string, content []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return nil // compose-go reports syntax errors in its words
		}
		w := boundWalk{file: file, budget: literalNodes(&doc) + MaxAliasNodes, onPath: map[*yaml.Node]bool{}}
		if err := w.walk(&doc, 0, nil); err != nil {
			return err
		}
	}
}

// literalNodes counts the nodes of n as written, aliases not followed.
func literalNodes(n *yaml.Node) int {
	c := 1
	for _, ch := range n.Content {
		c += literalNodes(ch)
	}
	return c
}

// boundWalk walks a document's node tree as decoding would expand it,
// following aliases, until it has seen budget nodes.
type boundWalk struct {
	file   string
	budget int
	seen   int
	// onPath are the anchored nodes being expanded: an alias to one of
	// them would expand forever.
	onPath map[*yaml.Node]bool
}

// walk visits n at depth; via is the outermost alias being expanded (nil
// outside any), the place in the file an error names.
func (w *boundWalk) walk(n *yaml.Node, depth int, via *yaml.Node) error {
	if n == nil {
		return nil
	}
	w.seen++
	if w.seen > w.budget {
		return w.errAt(via, n, fmt.Sprintf("they make it more than %d nodes larger", MaxAliasNodes))
	}
	if depth > MaxYAMLDepth {
		return w.errAt(via, n, fmt.Sprintf("it nests more than %d levels deep", MaxYAMLDepth))
	}
	if n.Kind == yaml.AliasNode {
		if via == nil {
			via = n
		}
		if n.Alias == nil {
			return nil
		}
		if w.onPath[n.Alias] {
			return fmt.Errorf("%s line %d: alias *%s refers to the value it is part of: %w", w.file, n.Line, n.Value, ErrYAMLTooLarge)
		}
		w.onPath[n.Alias] = true
		defer delete(w.onPath, n.Alias)
		w.seen-- // the alias stands for its value, which is counted
		return w.walk(n.Alias, depth, via)
	}
	if n.Anchor != "" {
		w.onPath[n] = true
		defer delete(w.onPath, n)
	}
	for _, ch := range n.Content {
		if err := w.walk(ch, depth+1, via); err != nil {
			return err
		}
	}
	return nil
}

func (w *boundWalk) errAt(via, n *yaml.Node, why string) error {
	if via == nil {
		return fmt.Errorf("%s line %d: %s: nest the file less", w.file, n.Line, why)
	}
	return fmt.Errorf("%s line %d: alias *%s: %w: %s; write the values out, or reuse them with fewer nested aliases", w.file, via.Line, via.Value, ErrYAMLTooLarge, why)
}

// boundedFiles is a compose-go ResourceLoader that loads nothing itself: it
// claims the local compose files (given with -f, or named by include: and
// extends:) that checkComposeFile refuses (aliases that expand too far, a
// volume mode compose-go would drop), and fails them in Load. The others it
// leaves to compose-go's own loaders. Relative paths are taken from dir
// (the project directory), then from the working directory.
type boundedFiles struct{ dir string }

func (b boundedFiles) Accept(p string) bool { return b.check(p) != nil }

func (b boundedFiles) Load(_ context.Context, p string) (string, error) {
	if err := b.check(p); err != nil {
		return "", err
	}
	return p, nil
}

func (b boundedFiles) Dir(p string) string { return filepath.Dir(p) }

func (b boundedFiles) check(p string) error {
	if p == "-" {
		return nil // read by stdinBounded
	}
	candidates := []string{p}
	if !filepath.IsAbs(p) && b.dir != "" {
		candidates = []string{filepath.Join(b.dir, p), p}
	}
	for _, c := range candidates {
		st, err := os.Stat(c)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		content, err := os.ReadFile(c)
		if err != nil {
			return nil // compose-go says why it cannot read it
		}
		return checkComposeFile(c, content)
	}
	return nil
}

// stdinBounded checks the compose file read from standard input (-f -)
// as boundedFiles checks the others. compose-go reads os.Stdin itself, so
// what was read is put back: os.Stdin becomes an unlinked temporary file
// holding it, until restore.
func stdinBounded(files []string) (restore func(), err error) {
	restore = func() {}
	if !slices.Contains(files, "-") {
		return restore, nil
	}
	content, err := io.ReadAll(os.Stdin)
	if err != nil {
		return restore, fmt.Errorf("read the compose file from standard input: %w", err)
	}
	if err := checkComposeFile("standard input", content); err != nil {
		return restore, err
	}
	f, err := os.CreateTemp("", "berth-stdin-*.yaml")
	if err != nil {
		return restore, fmt.Errorf("read the compose file from standard input: %w", err)
	}
	os.Remove(f.Name())
	if _, err := f.Write(content); err != nil {
		f.Close()
		return restore, fmt.Errorf("read the compose file from standard input: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return restore, fmt.Errorf("read the compose file from standard input: %w", err)
	}
	old := os.Stdin
	os.Stdin = f
	return func() { os.Stdin = old; f.Close() }, nil
}
