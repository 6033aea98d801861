// Package compose loads compose files with compose-go (interpolation, merging,
// profiles, validation) and turns them into the Project model berth runs. It
// also owns the per-service config hash and the container label keys.
package compose
