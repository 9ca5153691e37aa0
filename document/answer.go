package document

import "sync/atomic"

// Answer is one answer of an outside program (a condor_q call, say) whose
// documents are passed on while it is still being read, so that a large
// answer is never held whole. Whether the answer holds is known only at
// its end (the program's exit status): a collector that finds it did not
// calls Void, and none of its documents is sent. They may already have
// been printed.
//
// Void must be called before the collector returns; the run judges the
// documents when every collector is done, before any is sent.
type Answer struct{ void atomic.Bool }

// Void marks every document of the answer as not to be sent.
func (a *Answer) Void() { a.void.Store(true) }

// Voided tells whether Void was called; a nil Answer never is.
func (a *Answer) Voided() bool { return a != nil && a.void.Load() }
