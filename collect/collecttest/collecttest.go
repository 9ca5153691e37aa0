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

// Gather runs c once and returns its documents and next state section.
func Gather(ctx context.Context, c collect.Collector, env *collect.Env, prev json.RawMessage) (Result, error) {
	var res Result
	var err error
	res.State, err = c.Collect(ctx, env, prev, func(d document.Document) error {
		res.Docs = append(res.Docs, d)
		return nil
	})
	return res, err
}
