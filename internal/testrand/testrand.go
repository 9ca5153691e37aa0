// Package testrand is the seeded randomness of tests (where a kill lands,
// which requests a flaky sink fails): the seed is printed when a test
// fails, and AFMC_TEST_SEED replays it.
package testrand

import (
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Rand is a seeded source safe for concurrent use (a sink's handlers).
type Rand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// New seeds a source for t from AFMC_TEST_SEED, or the clock, and has t
// print the seed if it fails.
func New(t testing.TB) *Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("AFMC_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("AFMC_TEST_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("random choices seeded with %d: replay with AFMC_TEST_SEED=%d go test -run '^%s$'", seed, seed, t.Name())
		}
	})
	return &Rand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// IntN is a number in [0, n).
func (r *Rand) IntN(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.IntN(n)
}

// Int64N is a number in [0, n).
func (r *Rand) Int64N(n int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.Int64N(n)
}
