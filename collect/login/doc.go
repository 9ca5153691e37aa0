// Package login holds the ssh collector: the users logged in, from utmp
// (as who reads it) or from systemd-logind (loginctl), and with
// --ssh-history those who logged in and out since the previous run, from
// wtmp read on from where that run stopped (a Delta document). The record
// parsers (utmp, loginctl) are kept apart from the I/O. Its settings are
// in sample.yaml.
package login
