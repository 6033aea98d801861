package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseDetachKeys(t *testing.T) {
	tests := []struct {
		in      string
		want    []byte
		wantErr bool
	}{
		{"ctrl-p,ctrl-q", []byte{16, 17}, false},
		{"ctrl-a,x", []byte{1, 'x'}, false},
		{"ctrl-@,ctrl-[,ctrl-_", []byte{0, 27, 31}, false},
		{"ctrl-P", []byte{16}, false},
		{"ctrl-1", nil, true},
		{"alt-x", nil, true},
		{"", nil, true},
	}
	for _, tt := range tests {
		got, err := parseDetachKeys(tt.in)
		if (err != nil) != tt.wantErr || !bytes.Equal(got, tt.want) {
			t.Errorf("parseDetachKeys(%q) = %v, %v; want %v (error: %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestDetachReader(t *testing.T) {
	keys := []byte{16, 17} // ctrl-p,ctrl-q
	tests := []struct {
		name     string
		in       string
		want     string
		detached bool
	}{
		{"plain", "hello\n", "hello\n", false},
		{"detach", "ab\x10\x11cd", "ab", true},
		{"broken off", "a\x10b\x10\x10\x11", "a\x10b\x10", true},
		{"held back at the end", "a\x10", "a", false},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			var out bytes.Buffer
			_, err := io.Copy(&out, &detachReader{r: r, keys: keys})
			if out.String() != tt.want || errors.Is(err, errDetached) != tt.detached {
				t.Errorf("%s (one byte at a time: %v): passed %q, %v; want %q, detached %v", tt.name, oneByte, out.String(), err, tt.want, tt.detached)
			}
		}
	}
}
