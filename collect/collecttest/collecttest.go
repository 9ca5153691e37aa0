// Package collecttest runs one collector whole, for the tests of the
// collector families: its documents in a slice, its next state section.
package collecttest

import (
	"context"
	"encoding/json"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

// Result is everything one collection produced.
type Result struct {
	Docs  []document.Document
	State json.RawMessage
}

// Gather runs c once and returns its documents and next state section,
// without the documents of a voided answer, as collect.Run would pass them.
func Gather(ctx context.Context, c collect.Collector, env *collect.Env, prev json.RawMessage) (Result, error) {
	var res Result
	var err error
	res.State, err = c.Collect(ctx, env, prev, func(d document.Document) error {
		res.Docs = append(res.Docs, d)
		return nil
	})
	// What collect.Run would pass on: not the documents of a voided answer.
	kept := res.Docs[:0]
	for _, d := range res.Docs {
		if res.State == nil && d.Delta {
			d.Answer.Void()
		}
		if !d.Answer.Voided() {
			kept = append(kept, d)
		}
	}
	res.Docs = kept
	return res, err
}
