package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/atlas-af/afmc/internal/jsondepth"
)

// Reading a list of pods as it streams in, from kubectl's stdout or an API
// page: each pod is decoded on its own and only what the jupyter collector
// needs of it is kept, in strings of its own. No page is held whole, and
// nothing kept points into one (a pod name sliced out of a 64 MiB page
// would keep the page alive). Nesting is bounded before the decoder sees
// the bytes.

// parsePodList reads a PodList, kubectl's List of pods, or the
// PartialObjectMetadataList the API sends when asked for metadata only:
// each pod's name, phase, deletion and the value of label, and the
// continue token of the next page ("" on the last).
func parsePodList(b []byte, label string) ([]Pod, string, error) {
	return readPodList(bytes.NewReader(b), label)
}

// readPodList is parsePodList on a stream.
func readPodList(r io.Reader, label string) ([]Pod, string, error) {
	head := &headKeeper{r: r}
	dec := json.NewDecoder(jsondepth.Reader(head, 0))
	notJSON := func(err error) error {
		if errors.Is(err, jsondepth.ErrTooDeep) {
			return fmt.Errorf("the answer is not a list of pods: %w", err)
		}
		var le *listError
		if errors.As(err, &le) {
			return err
		}
		return fmt.Errorf("the answer is not JSON (%v): %q", err, kubeExcerpt(head.b))
	}
	if tok, err := dec.Token(); err != nil {
		return nil, "", notJSON(err)
	} else if tok != json.Delim('{') {
		return nil, "", fmt.Errorf("the answer is not a list of pods: %q", kubeExcerpt(head.b))
	}
	var (
		kind, cont string
		pods       []Pod
		seen       = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", notJSON(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, "", fmt.Errorf("the answer has %q twice", key)
		}
		seen[key] = true
		switch key {
		case "kind":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, "", notJSON(err)
			}
			if err := json.Unmarshal(raw, &kind); err != nil {
				kind = string(raw)
			}
		case "metadata":
			err := eachField(dec, "the list's metadata", func(key string) (bool, error) {
				if key != "continue" {
					return false, nil
				}
				return true, dec.Decode(&cont)
			})
			if err != nil {
				return nil, "", notJSON(err)
			}
		case "items":
			if pods, err = readPodItems(dec, label); err != nil {
				return nil, "", notJSON(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, "", notJSON(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, "", notJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("the answer is not JSON (more after the list): %q", kubeExcerpt(head.b))
	}
	switch kind {
	case "PodList", "List", "PartialObjectMetadataList":
	default:
		return nil, "", fmt.Errorf("the answer is not a list of pods (kind %q): %q", kubeExcerpt([]byte(kind)), kubeExcerpt(head.b))
	}
	return pods, cont, nil
}

// listError is a list that is JSON but not a list of pods.
type listError struct{ msg string }

func (e *listError) Error() string { return e.msg }

// readPodItems reads the items array, one pod at a time.
func readPodItems(dec *json.Decoder, label string) ([]Pod, error) {
	tok, err := dec.Token()
	switch {
	case err != nil:
		return nil, err
	case tok == nil: // "items": null
		return nil, nil
	case tok != json.Delim('['):
		return nil, &listError{fmt.Sprintf("the list's items are not an array (%v)", tok)}
	}
	var pods []Pod
	for dec.More() {
		p, err := readPod(dec, label)
		if err != nil {
			return nil, err
		}
		pods = append(pods, p)
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, err
	}
	return pods, nil
}

// readPod reads one pod of the items: its namespace, name, phase,
// deletion and the value of label. Decoded strings are fresh allocations,
// never slices of the page.
func readPod(dec *json.Decoder, label string) (Pod, error) {
	var p Pod
	err := eachField(dec, "a pod", func(key string) (bool, error) {
		switch key {
		case "metadata":
			return true, eachField(dec, "a pod's metadata", func(key string) (bool, error) {
				switch key {
				case "name":
					return true, dec.Decode(&p.Name)
				case "namespace":
					return true, dec.Decode(&p.Namespace)
				case "deletionTimestamp":
					var del json.RawMessage
					err := dec.Decode(&del)
					p.Deleting = len(del) > 0 && string(del) != "null"
					return true, err
				case "labels":
					var labels map[string]json.RawMessage
					if err := dec.Decode(&labels); err != nil {
						return true, err
					}
					v, ok := labels[label]
					p.HasLabel, p.Value = ok, ""
					if ok && json.Unmarshal(v, &p.Value) != nil {
						p.Value = string(v) // not a string: its raw JSON
					}
					return true, nil
				}
				return false, nil
			})
		case "status":
			return true, eachField(dec, "a pod's status", func(key string) (bool, error) {
				if key != "phase" {
					return false, nil
				}
				return true, dec.Decode(&p.Phase)
			})
		}
		return false, nil
	})
	return p, err
}

// eachField walks the object dec is at (null is an empty one), calling f
// with each key as it was written; f decodes the value of a key it wants
// and reports it did, the others are skipped. Keys are matched exactly, as
// Kubernetes reads them: encoding/json's struct decoding would take
// "METADATA" for "metadata", and of two such keys the last.
func eachField(dec *json.Decoder, what string, f func(key string) (bool, error)) error {
	tok, err := dec.Token()
	switch {
	case err != nil:
		return err
	case tok == nil:
		return nil
	case tok != json.Delim('{'):
		return &listError{fmt.Sprintf("the answer is not a list of pods: %s is not an object (%v)", what, tok)}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if done, err := f(key); err != nil {
			return err
		} else if !done {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing brace
	return err
}

// headKeeper passes a stream on and keeps its first bytes, for an error
// message.
type headKeeper struct {
	r io.Reader
	b []byte
}

func (h *headKeeper) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if keep := 256 - len(h.b); keep > 0 {
		h.b = append(h.b, p[:min(n, keep)]...)
	}
	return n, err
}

// boundedReader fails once more than n bytes came through: an answer over
// its bound is an error, not a silently cut list.
type boundedReader struct {
	r    io.Reader
	n    int64 // bytes still allowed
	what string
	max  int64
}

func newBoundedReader(r io.Reader, max int64, what string) *boundedReader {
	return &boundedReader{r: r, n: max, what: what, max: max}
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n < 0 {
		return 0, fmt.Errorf("%s: the answer is larger than %d bytes", b.what, b.max)
	}
	if int64(len(p)) > b.n+1 {
		p = p[:b.n+1]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if b.n < 0 {
		return 0, fmt.Errorf("%s: the answer is larger than %d bytes", b.what, b.max)
	}
	return n, err
}
