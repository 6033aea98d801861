package build

import (
	"io/fs"
	"os"
	"syscall"
	"testing"
)

func owners(st fs.FileInfo) (int, int) {
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid), int(s.Gid)
}

func mustStat(t *testing.T, p string) fs.FileInfo {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
