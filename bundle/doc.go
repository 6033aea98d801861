// Package bundle reads and writes berth's offline bundles: one tar file that
// carries a compose project and the images of its services, for one
// platform, to a box with no registry (berth bundle create, load, inspect).
//
// The layout, in this order (so that a reader meets the manifest first):
//
//	berth-bundle.json        the bundle's manifest (Manifest): project, platform,
//	                         services and their images, the project files and the
//	                         blobs it ships, the secrets the box must provide and,
//	                         for an update (create --since), the base bundle and
//	                         the blobs the box must already have from it
//	oci-layout               {"imageLayoutVersion":"1.0.0"}
//	index.json               an OCI image index of the images, one manifest each,
//	                         named by the io.containerd.image.name annotation
//	project/compose.yaml     the resolved compose model (berth config
//	                         --no-env-resolution's output): images by name, no
//	                         build sections, paths relative
//	project/env/…            the env files the services read
//	project/configs/NAME     the file-based configs
//	project/secrets/NAME     the file-based secrets (only with --include-secrets)
//	project/mounts/…         the bind-mount sources inside the project directory
//	blobs/sha256/HEX …       the image blobs (manifests, configs, layers), by digest
//
// Files other than berth-bundle.json come in sorted order; every entry has
// mode 0644, owner 0:0, no user or group name and the modification time of
// the Unix epoch, and the manifest holds no time and no host path, so the
// same project and images give the same bytes. Together, oci-layout,
// index.json and blobs/ are an OCI image layout.
//
// A bundle's ID is the SHA-256 digest of the whole file. Every project file
// and every shipped blob is listed in the manifest with its digest and size;
// Verify reads the whole bundle and checks them all before anything is
// written, so that a truncated or damaged bundle is refused as a whole.
package bundle
