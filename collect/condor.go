package collect

import (
	"context"
	"encoding/json"
	"errors"
)

// Condor reports the users of CondorHubs running on Kubernetes.
// (Being written: see issue 7.)
type Condor struct{}

func (Condor) Name() string { return "condor" }
func (Condor) Available(*Env) error {
	return errors.New("the condor collector is not built yet")
}
func (Condor) Collect(context.Context, *Env, json.RawMessage, Emit) (json.RawMessage, error) {
	return nil, errors.New("the condor collector is not built yet")
}
