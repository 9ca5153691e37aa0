package send

import (
	"strings"
	"testing"
)

// FuzzParseEndpoint checks --url: an http or https URL with a host, or an
// error; neither the error nor the URL as logged shows the password of
// its user information.
func FuzzParseEndpoint(f *testing.F) {
	f.Add("https", "afmc", "hunter2-secret", "af.atlas-ml.org/")
	f.Add("ftp", "u", "Pa55word!", "host/x")
	f.Add("http", "u", "s3cr3tpass", "[::1")
	f.Add("https", "u", "passw%zzord", "h:80x")
	f.Add("https", "", "secret99", "")
	f.Fuzz(func(t *testing.T, scheme, user, pass, rest string) {
		// A password, as URL syntax delimits it; shown nowhere else.
		if len(pass) < 6 || strings.ContainsAny(user+pass, ":@/?#") || strings.ContainsAny(scheme, ":/") ||
			strings.Contains(scheme+user+rest+"output: invalid URL scheme must be http or https no host redacted", pass) {
			return
		}
		raw := scheme + "://" + user + ":" + pass + "@" + rest
		u, err := ParseEndpoint(raw)
		if err != nil {
			// Unless the rest of the message shows the same text by
			// chance: the message for another password of that length.
			marker := "Q"
			if strings.Contains(pass, marker) {
				marker = "Z"
			}
			_, other := ParseEndpoint(scheme + "://" + user + ":" + strings.Repeat(marker, len(pass)) + "@" + rest)
			if strings.Contains(err.Error(), pass) && (other == nil || !strings.Contains(other.Error(), pass)) {
				t.Fatalf("%q: error shows the password: %v", raw, err)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
			t.Fatalf("%q: accepted %s", raw, u.Redacted())
		}
		if strings.Contains(redactURL(u), pass) {
			t.Fatalf("%q: logged as %s", raw, redactURL(u))
		}
	})
}

// Typos that keep the user information from being read as such do not
// put the password in the error.
func TestParseEndpointTypoHidesPassword(t *testing.T) {
	for _, raw := range []string{"https//afmc:S3cretPass@af.example.org/", "https:/afmc:S3cretPass@af.example.org/", "htps://afmc:S3cretPass@af.example.org/", "#://afmc:S3cretPass@h"} {
		_, err := ParseEndpoint(raw)
		if err == nil || strings.Contains(err.Error(), "S3cret") {
			t.Errorf("%q: %v", raw, err)
		}
	}
}
