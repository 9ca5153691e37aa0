package login

import (
	"bytes"
	"errors"
	"testing"

	"github.com/atlas-af/afmc/internal/jsondepth"
)

// loginctl's list nested deeper than afmc reads is its error, not a crash.
func TestLoginctlDeepJSONIsAnError(t *testing.T) {
	deep := bytes.Repeat([]byte("["), 12<<20)
	if _, err := ParseLoginctlSessions(deep); !errors.Is(err, jsondepth.ErrTooDeep) {
		t.Errorf("loginctl: %v", err)
	}
}
