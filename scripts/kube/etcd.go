package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.etcd.io/etcd/api/v3/version"
	"go.etcd.io/etcd/pkg/v3/flags"
	"go.etcd.io/etcd/server/v3/embed"
)

// runEtcd runs an etcd member through go.etcd.io/etcd/server/v3/embed with
// etcd's own flag names (embed.Config.AddFlags), so a script written for the
// etcd binary works unchanged. Unlike etcdmain it has no proxy or gateway mode
// and reads no ETCD_* environment. It returns the process exit code.
func runEtcd(args []string) int {
	cfg := embed.NewConfig()
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	cfg.AddFlags(fs)
	configFile := fs.String("config-file", "", "Path to the server configuration file; other flags are then ignored.")
	printVersion := fs.Bool("version", false, "Print the version and exit.")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *printVersion {
		fmt.Printf("etcd Version: %s\nAPI Version: %s\n", version.Version, version.APIVersion)
		return 0
	}
	if *configFile != "" {
		var err error
		if cfg, err = embed.ConfigFromFile(*configFile); err != nil {
			fmt.Fprintf(os.Stderr, "etcd: read config %s: %v\n", *configFile, err)
			return 1
		}
	} else {
		fromFlags(cfg, fs)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "etcd: invalid configuration: %v\n", err)
		return 1
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd: start: %v\n", err)
		return 1
	}
	defer e.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
		return 0
	case err := <-e.Err():
		fmt.Fprintf(os.Stderr, "etcd: %v\n", err)
		return 1
	case <-e.Server.StopNotify():
		return 1
	}
}

// fromFlags copies what AddFlags parses into flag values of its own onto cfg,
// as etcdmain's configFromCmdLine does for the flags a single member uses.
func fromFlags(cfg *embed.Config, fs *flag.FlagSet) {
	cfg.ListenPeerUrls = flags.UniqueURLsFromFlag(fs, "listen-peer-urls")
	cfg.AdvertisePeerUrls = flags.UniqueURLsFromFlag(fs, "initial-advertise-peer-urls")
	cfg.ListenClientUrls = flags.UniqueURLsFromFlag(fs, "listen-client-urls")
	cfg.ListenClientHttpUrls = flags.UniqueURLsFromFlag(fs, "listen-client-http-urls")
	cfg.AdvertiseClientUrls = flags.UniqueURLsFromFlag(fs, "advertise-client-urls")
	cfg.ListenMetricsUrls = flags.UniqueURLsFromFlag(fs, "listen-metrics-urls")
	cfg.CORS = flags.UniqueURLsMapFromFlag(fs, "cors")
	cfg.HostWhitelist = flags.UniqueStringsMapFromFlag(fs, "host-whitelist")
	cfg.CipherSuites = flags.StringsFromFlag(fs, "cipher-suites")
	cfg.LogOutputs = flags.UniqueStringsFromFlag(fs, "log-outputs")
	if flags.IsSet(fs, "listen-client-urls") && !flags.IsSet(fs, "advertise-client-urls") {
		cfg.AdvertiseClientUrls = nil
	}
	fs.Visit(func(f *flag.Flag) { cfg.FlagsExplicitlySet[f.Name] = true })
}
