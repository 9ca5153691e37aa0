package safefile

import (
	"context"
	"fmt"
)

// ReadContext is Read bounded by ctx as well: a file on a mount whose
// server is gone (NFS, a hung FUSE daemon) blocks open and read in the
// kernel, where nothing can interrupt them. The read runs in a goroutine
// of its own; when ctx ends first, the caller goes on with an error and
// the goroutine is left to the kernel.
func ReadContext(ctx context.Context, path string, max int64) ([]byte, error) {
	return WithContext(ctx, path, func() ([]byte, error) { return Read(path, max) })
}

// WithContext runs fn, which reads or stats path, and returns what it
// returns, or an error naming path as soon as ctx ends.
func WithContext[T any](ctx context.Context, path string, fn func() (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s: %w", path, context.Cause(ctx))
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: a late answer is dropped, not blocked on
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("reading %s: no answer from its filesystem (a hung network mount?): %w", path, context.Cause(ctx))
	}
}
