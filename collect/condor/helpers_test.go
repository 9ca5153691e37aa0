package condor

import (
	"testing"

	"github.com/atlas-af/afmc/internal/fixture"
)

func readFixture(t testing.TB, rel string) []byte { t.Helper(); return fixture.Read(t, 2, rel) }
