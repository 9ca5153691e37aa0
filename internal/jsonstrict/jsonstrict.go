// Package jsonstrict is the reference the fuzz targets compare afmc's JSON
// readers with: encoding/json, which refuses a document with a key twice
// in one object. Readers legitimately differ on which of two equal keys
// wins (gjson takes the first, encoding/json the last), so a differential
// test compares them only on documents where the question does not arise.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Check returns nil when b is one JSON value, as encoding/json reads it,
// with no object holding a key twice.
func Check(b []byte) error {
	if !json.Valid(b) {
		return errors.New("not valid JSON")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := value(d); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("more than one value")
	}
	return nil
}

func value(d *json.Decoder) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	switch t {
	case json.Delim('{'):
		seen := map[string]bool{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			if seen[key] {
				return fmt.Errorf("key %q twice in one object", key)
			}
			seen[key] = true
			if err := value(d); err != nil {
				return err
			}
		}
		_, err = d.Token() // '}'
		return err
	case json.Delim('['):
		for d.More() {
			if err := value(d); err != nil {
				return err
			}
		}
		_, err = d.Token() // ']'
		return err
	}
	return nil
}
