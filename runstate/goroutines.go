package runstate

import (
	"bytes"
	"context"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// DumpGoroutinesOnSignal writes the process's goroutines to path (Go's
// profile with debug=1, whose first line is "goroutine profile: total N")
// each time the process gets SIGUSR1, until ctx ends: how one sees what a
// project process that ran for months holds, and how the soak test counts
// its goroutines. The file is replaced whole, never seen half-written;
// failures go to logger.
func DumpGoroutinesOnSignal(ctx context.Context, path string, logger *log.Logger) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sig:
		}
		if err := writeGoroutines(path); err != nil {
			logger.Printf("goroutine profile: %v", err)
		}
	}
}

func writeGoroutines(path string) error {
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
