package compose

import "strings"

// PublishName is the name an image is pushed under: with a registry,
// registry/<image without its own registry host> (db:16 ->
// registry/db:16, ghcr.io/org/api -> registry/org/api); without one the
// image's own name.
func PublishName(registry, image string) string {
	if registry == "" {
		return image
	}
	_, path := splitRegistry(image)
	return strings.TrimSuffix(registry, "/") + "/" + path
}

// RegistryOf is the registry an image name is pushed to: its first
// component when it is a host, else Docker Hub.
func RegistryOf(ref string) string {
	if host, _ := splitRegistry(ref); host != "" {
		return host
	}
	return "docker.io"
}

// splitRegistry splits ref into its registry host, if its first component
// names one (with a dot or a colon, or localhost, as docker reads it), and
// the rest.
func splitRegistry(ref string) (host, path string) {
	first, rest, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first, rest
	}
	return "", ref
}
