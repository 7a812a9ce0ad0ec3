// Package dockerd runs a real Docker daemon (Debian's docker.io, 20.10) for
// tests that use Docker as the oracle of a storage driver's on-disk format.
//
// Start gives each daemon its own scratch directory holding its
// --data-root, --exec-root, --pidfile and unix socket, with no networking
// (--iptables=false --ip6tables=false --bridge=none --ip-masq=false), so it
// never touches the host's /var/lib/docker, /run/docker or firewall. Stop
// sends SIGTERM, waits, unmounts whatever the daemon left mounted under the
// scratch directory and removes it. The daemon runs in the caller's mount
// namespace: tests call it from inside internal/sandbox's private one, so
// even a daemon killed -9 leaves no mount on the host.
//
// When not to use it: it is not for measuring Docker (one daemon per test,
// debug-free defaults, nothing tuned), and it needs root.
package dockerd
