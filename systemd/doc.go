// Package systemd writes the systemd unit that brings a compose project up
// at boot, and installs it with systemctl when systemd runs the machine.
package systemd
