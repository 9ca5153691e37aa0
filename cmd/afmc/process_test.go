package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect/host"
	"github.com/atlas-af/afmc/internal/testrand"
	"github.com/atlas-af/afmc/state"
)

// runBin runs the real binary with env as its environment.
func runBin(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	cmd := exec.Command(afmcBin, args...)
	cmd.Env = envList(env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func envList(env map[string]string) []string {
	list := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// writeAtomic replaces a fixture file the way the kernel presents /proc:
// a reader sees the old content or the new, never half.
func writeAtomic(t *testing.T, path, content string) {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Error(err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Error(err)
	}
}

func netDev(eth0Rx, eth0Tx, eno2Rx, eno2Tx uint64) string {
	return fmt.Sprintf(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0
  eth0: %d 100 0 0 0 0 0 0 %d 100 0 0 0 0 0 0
  eno2: %d 100 0 0 0 0 0 0 %d 100 0 0 0 0 0 0
`, eth0Rx, eth0Tx, eno2Rx, eno2Tx)
}

func savedNetwork(t *testing.T, stateDir string) host.NetworkState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Sections map[string]json.RawMessage `json:"sections"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var ns host.NetworkState
	if err := json.Unmarshal(f.Sections["network"], &ns); err != nil {
		t.Fatal(err)
	}
	return ns
}

func sums(ns host.NetworkState) (sent, recv uint64) {
	for _, c := range ns.Interfaces {
		sent += c.Sent
		recv += c.Received
	}
	return
}

// Real processes race for the lock while the counters grow: the deltas they
// report must add up to the growth exactly. A broken lock would let two
// runs start from the same baseline and count an interval twice.
func TestConcurrentRunsCountEveryByteOnce(t *testing.T) {
	dir, env := hostFixture(t)
	stateDir := env["AFMC_STATE_DIR"]
	devPath := filepath.Join(dir, "proc", "net", "dev")
	upPath := filepath.Join(dir, "proc", "uptime")
	writeAtomic(t, devPath, netDev(1000, 2000, 3000, 4000))
	writeAtomic(t, upPath, "1000.000 0\n")
	if r := runBin(t, env, "collect", "network", "--json"); r.code != 0 || r.stdout != "" {
		t.Fatalf("baseline run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	base := savedNetwork(t, stateDir)

	// The writer grows the counters until the runs are done.
	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		for i := uint64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			writeAtomic(t, devPath, netDev(1000+i*1500, 2000+i*700, 3000+i*11, 4000+i*13))
			writeAtomic(t, upPath, fmt.Sprintf("%.3f 0\n", 1000+float64(i)*0.125))
		}
	}()

	const workers, runsEach = 6, 4
	var mu sync.Mutex
	var outputs []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < runsEach; i++ {
				r := runBin(t, env, "collect", "network", "--json", "--lock-timeout", "2m")
				if r.code != 0 {
					t.Errorf("run: exit %d, stderr %q", r.code, r.stderr)
				}
				mu.Lock()
				outputs = append(outputs, r.stdout)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	writer.Wait()
	r := runBin(t, env, "collect", "network", "--json")
	outputs = append(outputs, r.stdout)
	final := savedNetwork(t, stateDir)

	var sent, recv uint64
	var interval float64
	n := 0
	for _, out := range outputs {
		for _, d := range docs(t, out) {
			nw := d["network"].(map[string]any)
			sent += uint64(nw["sent"].(float64))
			recv += uint64(nw["received"].(float64))
			interval += nw["interval"].(float64)
			n++
		}
	}
	bs, br := sums(base)
	fs, fr := sums(final)
	if n == 0 {
		t.Fatal("no NETWORK document at all")
	}
	if sent != fs-bs || recv != fr-br {
		t.Errorf("%d documents report sent %d, received %d; the counters grew by %d and %d", n, sent, recv, fs-bs, fr-br)
	}
	if math.Abs(interval-(final.Uptime-base.Uptime)) > 1e-6 {
		t.Errorf("intervals add up to %.3f s, uptime grew by %.3f s", interval, final.Uptime-base.Uptime)
	}
	t.Logf("%d runs, %d NETWORK documents, %d bytes", workers*runsEach+1, n, sent+recv)
}

// A kill -9 at any moment leaves a state file that the next run reads.
func TestKilledRunsLeaveReadableState(t *testing.T) {
	_, env := hostFixture(t)
	stateDir := env["AFMC_STATE_DIR"]
	// How long a whole run takes here, to spread the kills over it.
	start := time.Now()
	if r := runBin(t, env, "collect", "host", "--json"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	whole := time.Since(start)
	rnd := testrand.New(t)
	for i := 0; i < 40; i++ {
		cmd := exec.Command(afmcBin, "collect", "host", "--json")
		cmd.Env = envList(env)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rnd.Int64N(int64(whole)))) // where the kill lands, not synchronisation
		cmd.Process.Kill()
		cmd.Wait()

		b, err := os.ReadFile(filepath.Join(stateDir, state.FileName))
		if err != nil {
			t.Fatalf("kill %d: state file gone: %v", i, err)
		}
		var f struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(b, &f); err != nil || f.Version != state.Version {
			t.Fatalf("kill %d: state file unreadable (%v): %q", i, err, b)
		}
	}
	r := runBin(t, env, "collect", "host", "--json", "-v")
	if r.code != 0 || strings.Contains(r.stderr, "corrupt") || strings.Contains(r.stderr, "unreadable") {
		t.Errorf("after the kills: exit %d, stderr %q", r.code, r.stderr)
	}
	entries, _ := os.ReadDir(stateDir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if got := strings.Join(names, " "); got != "afmc.lock state.json" {
		t.Errorf("state dir holds %s; want only the lock and the state (no temp files left)", got)
	}
}
