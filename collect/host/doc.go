// Package host holds the host collectors, in node_exporter's style: cpu
// (CPU, the load average), mem (MEM), disk (DISK and DISKIO, per mount)
// and network (NETWORK). Each reads /proc and /sys under the roots of
// collect.Env (HOST_PROC, HOST_SYS, HOST_ROOT), so it runs in a pod and in
// tests on the fixture trees of testdata/host; the parsers are pure
// functions over bytes, kept apart from the I/O. DISKIO and NETWORK are
// intervals since the previous run: Delta documents, measured on the
// boot clock (HostClock). Its settings are in sample.yaml.
package host
