package containerd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
)

// resolver is containerd's docker resolver with berth's registry rules:
// plain HTTP for loopback registries and those named insecure, credentials
// from the docker config file.
func (c *Client) resolver() remotes.Resolver { return newResolver(c.insecure) }

// newResolver is the resolver of Client.resolver for registries reached
// without a containerd daemon (compose artifacts).
func newResolver(insecure []string) remotes.Resolver {
	return docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			docker.WithPlainHTTP(func(host string) (bool, error) { return isPlainHTTP(host, insecure), nil }),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(dockerCredentials))),
		),
	})
}

// isPlainHTTP reports whether a registry host (host or host:port) is reached
// over HTTP: loopback ones always (localhost, 127.0.0.0/8, ::1), others when
// listed in insecure, with or without the port.
func isPlainHTTP(host string, insecure []string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, i := range insecure {
		i = strings.TrimPrefix(strings.TrimPrefix(i, "http://"), "https://")
		if i == host || i == h {
			return true
		}
	}
	return false
}

// dockerConfigFile is ~/.docker/config.json, or $DOCKER_CONFIG/config.json.
func dockerConfigFile() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}

// dockerCredentials returns the user name and secret for a registry host
// from the docker config file's "auths" (the base64 "auth" field, or
// username/password, or an identity token). Credential helpers are not
// run; a host without stored credentials is accessed anonymously.
func dockerCredentials(host string) (string, string, error) {
	path := dockerConfigFile()
	if path == "" {
		return "", "", nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read registry credentials: %w", err)
	}
	return credentialsFor(b, host, path)
}

func credentialsFor(config []byte, host, path string) (string, string, error) {
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(config, &cfg); err != nil {
		return "", "", fmt.Errorf("read registry credentials from %s: %w", path, err)
	}
	keys := []string{host, "https://" + host, "http://" + host}
	if host == "registry-1.docker.io" || host == "docker.io" {
		keys = append(keys, "https://index.docker.io/v1/", "index.docker.io", "docker.io")
	}
	for _, k := range keys {
		a, ok := cfg.Auths[k]
		if !ok {
			continue
		}
		if a.IdentityToken != "" {
			return "", a.IdentityToken, nil
		}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return "", "", fmt.Errorf("registry credentials for %s in %s: auth is not base64: %w", host, path, err)
			}
			user, secret, ok := strings.Cut(string(raw), ":")
			if !ok {
				return "", "", fmt.Errorf("registry credentials for %s in %s: auth is not user:password", host, path)
			}
			return user, secret, nil
		}
		return a.Username, a.Password, nil
	}
	return "", "", nil
}
