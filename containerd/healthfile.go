package containerd

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
)

// A container's health file holds its latest health (see RecordProbe),
// rewritten in place at every probe: a header, the health's JSON, and
// spaces up to the file's earlier size:
//
//	berth-health CRC LEN\n JSON [spaces]
//
// CRC is the CRC-32 (IEEE) of the JSON, in 8 hex digits; LEN its length in
// decimal. It is not replaced by a rename: on ext4 (where /run is no tmpfs)
// a rename over the old file makes the kernel write the new one to disk at
// once, and the new inode of each write costs a journal entry; with 30
// services probing every second that was most of the project process's CPU
// and a disk write per probe. A reader can therefore see a write half
// done: the CRC tells it, and it reads again (readHealthFile).
const healthFileMagic = "berth-health "

// healthReadTries is how often a reader reads a health file it found half
// written before it gives up on it (and shows the health in the labels).
const healthReadTries = 3

// encodeHealthFile is the health file holding js, padded with spaces to
// at least size bytes.
func encodeHealthFile(js []byte, size int64) []byte {
	b := make([]byte, 0, max(int64(len(js)+32), size))
	b = append(b, healthFileMagic...)
	b = fmt.Appendf(b, "%08x %d\n", crc32.ChecksumIEEE(js), len(js))
	b = append(b, js...)
	for int64(len(b)) < size {
		b = append(b, ' ')
	}
	return b
}

// decodeHealthFile is the JSON a health file holds; ok is false for a
// file that is not whole (a write under way, or cut short). A file of
// plain JSON (written by an earlier berth, by rename) is taken as it is.
func decodeHealthFile(b []byte) (js []byte, ok bool) {
	if len(b) > 0 && b[0] == '{' {
		return b, true
	}
	rest, found := bytes.CutPrefix(b, []byte(healthFileMagic))
	if !found {
		return nil, false
	}
	head, body, found := bytes.Cut(rest, []byte{'\n'})
	if !found {
		return nil, false
	}
	sum, length, found := bytes.Cut(head, []byte{' '})
	if !found {
		return nil, false
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil {
		return nil, false
	}
	n, err := strconv.Atoi(string(length))
	if err != nil || n < 0 || n > len(body) {
		return nil, false
	}
	if crc32.ChecksumIEEE(body[:n]) != uint32(want) {
		return nil, false
	}
	return body[:n], true
}

// writeHealthFile rewrites the health file at path in place with js
// (creating it, and its directory, when there is none).
func writeHealthFile(path string, js []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("record health: %w", err)
		}
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	}
	if err != nil {
		return fmt.Errorf("record health: %w", err)
	}
	return writeOpenHealthFile(f, js)
}

// writeOpenHealthFile writes js over the health file f and closes it.
func writeOpenHealthFile(f *os.File, js []byte) error {
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	// One write: spaces over what is left of a longer earlier health,
	// so that the file never grows past the longest health it held.
	_, err := f.WriteAt(encodeHealthFile(js, size), 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record health: %w", err)
	}
	return nil
}

// rewriteHealthFile rewrites the health file at path in place with js;
// a file that is not there is not made.
func rewriteHealthFile(path string, js []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record health: %w", err)
	}
	return writeOpenHealthFile(f, js)
}

// readHealthFile is the JSON of the health file at path; ok is false when
// there is none, or none whole after healthReadTries reads.
func readHealthFile(path string) (js []byte, ok bool) {
	for range healthReadTries {
		b, err := os.ReadFile(path)
		if err != nil || len(b) == 0 {
			return nil, false
		}
		if js, ok := decodeHealthFile(b); ok {
			return js, true
		}
	}
	return nil, false
}
