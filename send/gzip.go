package send

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Compressions --compress accepts: none, or gzip.
const (
	CompressNone = ""
	CompressGzip = "gzip"
)

func checkCompress(c string) error {
	switch c {
	case CompressNone, "none", CompressGzip:
		return nil
	}
	return fmt.Errorf("--compress %q: want gzip or none", c)
}

// gzipTransport compresses every request body with gzip, at level 1 (the
// fastest: JSON documents shrink some 14 times all the same), and says so
// in Content-Encoding; Logstash's http input decodes such bodies. The
// compressed body is what a retry or a replay on a fresh connection sends.
type gzipTransport struct {
	next    http.RoundTripper
	writers sync.Pool // *gzip.Writer
	bufs    sync.Pool // *bytes.Buffer
}

func newGzipTransport(next http.RoundTripper) *gzipTransport {
	return &gzipTransport{next: next}
}

func (t *gzipTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return t.next.RoundTrip(req)
	}
	body, err := t.compress(req.Body)
	req.Body.Close() // the transport's to close, even on an error
	if err != nil {
		return nil, fmt.Errorf("compressing the request body: %w", err)
	}
	// A RoundTripper must not change the request it was given.
	out := req.Clone(req.Context())
	out.Header.Set("Content-Encoding", "gzip")
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.next.RoundTrip(out)
}

// compress returns r's bytes gzipped, in a slice of their own (the
// transport may still read it after the answer came).
func (t *gzipTransport) compress(r io.Reader) ([]byte, error) {
	buf, _ := t.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	defer t.bufs.Put(buf)
	zw, _ := t.writers.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(buf, gzip.BestSpeed)
	} else {
		zw.Reset(buf)
	}
	defer t.writers.Put(zw)
	if _, err := io.Copy(zw, r); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}
