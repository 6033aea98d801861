package compose

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/compose-spec/compose-go/v2/dotenv"
)

// The "raw" env_file format (env_file: {path: x, format: raw}) is registered
// by the docker compose CLI, not by compose-go. berth registers the same
// semantics, docker run --env-file's: KEY=VALUE lines taken verbatim (no
// quotes, no interpolation), a bare KEY copied from the environment when set,
// blank lines and #-comments skipped.
func init() {
	dotenv.RegisterFormat("raw", parseRawEnvFile)
}

func parseRawEnvFile(r io.Reader, filename string, vars map[string]string, lookup func(string) (string, bool)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, hasValue := strings.Cut(line, "=")
		if key == "" {
			return fmt.Errorf("env_file %s line %d: no variable name before '='", filename, n)
		}
		if strings.ContainsFunc(key, unicode.IsSpace) {
			return fmt.Errorf("env_file %s line %d: variable %q contains whitespace", filename, n, key)
		}
		if hasValue {
			vars[key] = value
			continue
		}
		if v, ok := lookup(key); ok {
			vars[key] = v
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read env_file %s: %w", filename, err)
	}
	return nil
}

// ReadEnvFile reads an env file in the .env format (run --env-from-file);
// ${VAR} in its values is looked up in lookup.
func ReadEnvFile(file string, lookup func(string) (string, bool)) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars, err := dotenv.ParseWithLookup(f, lookup)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return vars, nil
}

// ParseEnvArgs reads the KEY=VALUE values of a command-line option (flag,
// for the errors: --build-arg, -e): a bare KEY takes its value from lookup
// (the process environment) and is left out when that does not have it,
// as docker and docker compose do. A later value of a key wins.
func ParseEnvArgs(flag string, args []string, lookup func(string) (string, bool)) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if k == "" {
			return nil, fmt.Errorf("%s %q: give KEY=VALUE or KEY", flag, a)
		}
		if !ok {
			if v, ok = lookup(k); !ok {
				continue
			}
		}
		out[k] = v
	}
	return out, nil
}

// EnvList is env as KEY=VALUE entries sorted by key: the form a process's
// environment takes.
func EnvList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
