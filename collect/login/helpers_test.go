package login

import (
	"testing"

	"github.com/atlas-af/afmc/internal/fixture"
)

func checkErr(t *testing.T, err error, want string) { t.Helper(); fixture.CheckErr(t, err, want) }
