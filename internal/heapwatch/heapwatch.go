// Package heapwatch samples the live heap while a benchmark runs, for the
// peaks its memory targets are stated in.
package heapwatch

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// Peak samples the heap's live objects every 2 ms until Done.
type Peak struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

// Watch collects garbage, then starts sampling.
func Watch() *Peak {
	runtime.GC()
	h := &Peak{stop: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	h.wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			h.peak = max(h.peak, s[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	})
	return h
}

// Done stops sampling and returns the peak, in bytes.
func (h *Peak) Done() uint64 {
	close(h.stop)
	h.wg.Wait()
	return h.peak
}
