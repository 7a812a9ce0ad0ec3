// Package drivers defines what a unionbench storage driver is: something that
// turns a stack of declarative layer specs into directories laid out exactly as
// Docker's driver of the same name lays them out, and mounts containers on top.
//
// The interface is deliberately narrow (create, mount, unmount, remove, usage):
// every scenario and the conformance suite in drivers/drivertest are written
// against it alone, so a scenario never knows which driver it is measuring.
//
// A driver that cannot run on this host is not an error condition of the
// harness: New returns a *NotSupportedError, which matches ErrNotSupported
// and carries the reason (Reason(err) reads it), and reports show it as
// "n/a (reason)". Every other refusal of the contract is a value too (see
// errors.go): callers decide with errors.Is and errors.As, never by the
// message.
//
// Do not use this package to manage a real Docker root: every driver refuses
// /var/lib/docker and works only inside a unionbench work directory.
package drivers
