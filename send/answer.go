package send

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// What an answer says beyond its status, and which answers need a person:
// a web page where Logstash's acknowledgement was expected, a redirect and
// where it points, a status that no retry will change.

// isHTML tells whether a Content-Type is a web page. Logstash's http
// input answers "ok" as text/plain; a catch-all web app, a login page or
// another virtual host behind a mistyped --url answers 200 with a page.
func isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(contentType), ";")
		mt = strings.TrimSpace(mt)
	}
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// pageExcerpt is what a log line says of a web page: its title when it
// has one, else the start of the page; secrets removed, bounded.
func (s *Sender) pageExcerpt(body []byte) string {
	lower := bytes.ToLower(body)
	if i := bytes.Index(lower, []byte("<title")); i >= 0 {
		if j := bytes.IndexByte(lower[i:], '>'); j >= 0 {
			start := i + j + 1
			if k := bytes.Index(lower[start:], []byte("</title")); k >= 0 {
				if t := strings.Join(strings.Fields(string(body[start:start+k])), " "); t != "" {
					return "title " + s.excerpt([]byte(t))
				}
			}
		}
	}
	return s.excerpt(bytes.TrimSpace(body))
}

// location is where a redirect points, resolved against the request's URL,
// without credentials and bounded for a log line: an answer is untrusted.
func (s *Sender) location(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := s.template.URL.Parse(raw)
	if err != nil {
		return s.excerpt([]byte(raw))
	}
	return s.excerpt([]byte(redactURL(u)))
}

// needsPerson is why res stops the run for a person to fix, in a few
// words naming --url or the token; "" when it is not such an answer. These
// are the answers the next run would meet again: the documents stay in
// the spool, but waiting does not deliver them.
func (s *Sender) needsPerson(res result) string {
	if res.err != nil {
		var cerr *tls.CertificateVerificationError
		if errors.As(res.err, &cerr) {
			return fmt.Sprintf("the certificate of %s is not trusted (%s): a site CA goes in --ca-file", s.logURL, s.redact(cerr.Err.Error()))
		}
		return ""
	}
	switch c := res.status; {
	case c/100 == 2 && res.html:
		what := "an HTML page"
		if res.excerpt != "" {
			what += " (" + res.excerpt + ")"
		}
		return fmt.Sprintf("%s answered at %s, not Logstash, whose http input answers ok in plain text: --url reaches some other web server (a catch-all site, a login page, another virtual host)", what, s.logURL)
	case c/100 == 3 && res.location != "":
		return fmt.Sprintf("%s redirected to %s (HTTP %d): set --url to it", s.logURL, res.location, c)
	case c/100 == 3:
		return fmt.Sprintf("%s answered HTTP %d, a redirect without a Location: check --url", s.logURL, c)
	case c == http.StatusUnauthorized, c == http.StatusForbidden:
		return fmt.Sprintf("%s refused the token (HTTP %d): check the token and --url", s.logURL, c)
	case c == http.StatusNotFound, c == http.StatusMethodNotAllowed:
		return fmt.Sprintf("%s has no input there (HTTP %d): check --url", s.logURL, c)
	case c == http.StatusNotImplemented, c == http.StatusHTTPVersionNotSupported:
		return fmt.Sprintf("%s does not take such a request (HTTP %d): check --url", s.logURL, c)
	case c/100 != 2 && c/100 != 4 && c/100 != 5:
		return fmt.Sprintf("%s answered HTTP %d: check --url", s.logURL, c)
	}
	return ""
}
