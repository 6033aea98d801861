package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Sums maps file names to their SHA256, as sha256sum writes them.
type Sums map[string]string

// ParseSums reads sha256sum's output (text or binary mode lines). name is
// the file's name, for errors.
func ParseSums(name string, r io.Reader) (Sums, error) {
	s := Sums{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		sum, file, ok := strings.Cut(text, " ")
		file = strings.TrimPrefix(file, " ")
		file = strings.TrimPrefix(file, "*")
		if b, err := hex.DecodeString(sum); !ok || err != nil || len(b) != sha256.Size || file == "" {
			return nil, fmt.Errorf("%s:%d: want \"<sha256>  <file>\", got %q", name, line, text)
		}
		if _, dup := s[file]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", name, line, file)
		}
		s[file] = strings.ToLower(sum)
	}
	return s, sc.Err()
}

// Format writes the sums as sha256sum does, sorted by name.
func (s Sums) Format() []byte {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", s[n], n)
	}
	return b.Bytes()
}

// Check compares a file's digest with the one listed for name; a file the
// sums do not list fails too.
func (s Sums) Check(name, got string) error {
	want, ok := s[name]
	if !ok {
		return fmt.Errorf("%s is not listed in %s: the archive was altered; fetch it again", name, SumsFile)
	}
	if want != got {
		return fmt.Errorf("%s: checksum mismatch (%s says %s, the file has %s): the archive is damaged or altered; fetch it again", name, SumsFile, short(want), short(got))
	}
	return nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

// FileSum is the SHA256 of a file, in hex.
func FileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
