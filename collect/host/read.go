package host

import (
	"fmt"
	"os"
)

// readParsed reads a host file and parses it. Errors say what was being
// read and, for bad content, which file held it.
func readParsed[T any](path, what string, parse func([]byte) (T, error)) (T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("reading %s: %w", what, err)
	}
	v, err := parse(b)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
