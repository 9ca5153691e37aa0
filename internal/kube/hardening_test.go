package kube

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/jsondepth"
	"github.com/atlas-af/afmc/internal/kubefake"
)

// deepJSON is the attack on gjson's recursive validator: 12 MB of nested
// brackets, a Go stack overflow (a fatal error, the whole run lost) for
// code that recurses into it.
func deepJSON() []byte { return bytes.Repeat([]byte("["), 12<<20) }

// fakeKubectl is a kubectl that prints the file out and exits 0.
func fakeKubectl(t testing.TB, out []byte) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "out.json")
	if err := os.WriteFile(data, out, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "kubectl")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexec cat "+data+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsServer answers every request with h, over TLS the client trusts.
func apiClientFor(t *testing.T, h http.HandlerFunc) *APIClient {
	t.Helper()
	f := newFakeAPI(t, kubeFixtureToken(t), "af-jupyter")
	c := newTestAPIClient(t, f)
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c.base = srv.URL
	c.client.Transport.(*http.Transport).TLSClientConfig.RootCAs = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	return c
}

func TestKubeDeepJSONIsAnError(t *testing.T) {
	deep := deepJSON()
	// Inside an items array, where the pods are decoded.
	inItems := append([]byte(`{"kind":"PodList","items":[`), deep...)
	for name, body := range map[string][]byte{"top": deep, "in items": inItems} {
		t.Run("API page "+name, func(t *testing.T) {
			c := apiClientFor(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write(body)
			})
			_, err := c.ListPods(t.Context(), "af-jupyter", "owner")
			wantRefused(t, err)
		})
		t.Run("kubectl "+name, func(t *testing.T) {
			k := Kubectl{Path: fakeKubectl(t, body)}
			_, err := k.ListPods(t.Context(), "af-jupyter", "owner")
			wantRefused(t, err)
		})
	}
	// An error answer too: the Status is read with gjson.
	c := apiClientFor(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write(deep[:kubeMaxErrorBytes])
	})
	_, err := c.ListPods(t.Context(), "af-jupyter", "owner")
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != 403 {
		t.Errorf("error %v, want the 403", err)
	}
}

// wantRefused: deep JSON is an error of the list (not a crash), whether
// it is refused as no list at its first bracket or for its nesting.
func wantRefused(t *testing.T, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Error("no error")
	case !errors.Is(err, jsondepth.ErrTooDeep) && !strings.Contains(err.Error(), "the answer is not a list of pods"):
		t.Errorf("error %.300v, want the list refused", err)
	case len(err.Error()) > 2000:
		t.Errorf("an error of %d bytes", len(err.Error()))
	}
}

// A service-account token that is a FIFO is refused as every named file
// is: opening it would wait for a writer until the collector's deadline.
func TestServiceAccountTokenFIFO(t *testing.T) {
	f := newFakeAPI(t, "x")
	dir := kubeServiceAccountDir(t, f)
	tok := filepath.Join(dir, "token")
	os.Remove(tok)
	if err := syscall.Mkfifo(tok, 0o600); err != nil {
		t.Fatal(err)
	}
	host, port := f.HostPort()
	done := make(chan error, 1)
	go func() {
		_, err := NewAPIClient(context.Background(), host, port, dir)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), tok+" is a named pipe (FIFO)") {
			t.Errorf("error %v, want the FIFO refused by name", err)
		}
	case <-time.After(20 * time.Second):
		// Release the open that hangs, so that the test binary can end.
		if w, err := os.OpenFile(tok, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("reading a FIFO as the token blocked")
	}
}

// The API server, or a proxy in front of it, echoing the request: the
// token must not reach the error, whatever encoding the echo uses.
func TestKubeTokenEchoRedacted(t *testing.T) {
	token := kubeFixtureToken(t)
	echoes := map[string]func(string) string{
		"raw":        func(s string) string { return s },
		"upper":      strings.ToUpper,
		"base64":     func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64 url": func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) },
		"hex":        func(s string) string { return hex.EncodeToString([]byte(s)) },
		"HEX":        func(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) },
		"json":       jsonString,
		"utf-16":     func(s string) string { return string(bytes.Join(bytes.Split([]byte(s), nil), []byte{0})) },
	}
	for name, enc := range echoes {
		for _, code := range []int{401, 503} {
			t.Run(fmt.Sprintf("%s %d", name, code), func(t *testing.T) {
				c := apiClientFor(t, func(w http.ResponseWriter, r *http.Request) {
					echo := enc(r.Header.Get("Authorization"))
					if code == 401 {
						w.WriteHeader(code)
						kubefake.WriteJSON(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"token `+jsonEscapeInner(echo)+` not valid","reason":"Unauthorized","code":401}`)
						return
					}
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(code)
					io.WriteString(w, "<html><body>upstream busy; request headers: Authorization: "+echo+"</body></html>")
				})
				_, err := c.ListPods(t.Context(), "af-jupyter", "owner")
				if err == nil {
					t.Fatal("no error")
				}
				msg := Explain(err, "the Kubernetes API", "af-jupyter", c.Who(), time.Second).Error()
				for i := 0; i+6 <= len(token); i++ {
					if piece := token[i : i+6]; strings.Contains(strings.ToLower(msg), strings.ToLower(piece)) || strings.Contains(msg, enc(piece)) && len(enc(piece)) >= 8 {
						t.Fatalf("the error shows a piece of the token (%q):\n%s", piece, msg)
					}
				}
				if !strings.Contains(msg, "[REDACTED]") {
					t.Errorf("nothing redacted, was the echo read at all?\n%s", msg)
				}
				if code == 401 && !strings.Contains(msg, "rejected the credentials") {
					t.Errorf("the 401 is not explained: %s", msg)
				}
			})
		}
	}
}

func jsonString(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// jsonEscapeInner makes s safe inside a JSON string (the echo may hold
// backslashes of its own, or NUL bytes).
func jsonEscapeInner(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Pods kept from a list are copies: nothing kept points into the page, so
// that the page is garbage once read (a pod name sliced out of it kept
// every 64 MiB page of a list alive).
func TestPodListKeepsNoPage(t *testing.T) {
	var pods []Pod
	retained := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := retained()
	func() {
		page := writePodList(t, 8000, "owner") // some 35 MB
		var err error
		pods, _, err = parsePodList(page, "owner")
		if err != nil || len(pods) != 8000 {
			t.Fatalf("%d pods, %v", len(pods), err)
		}
	}()
	kept := int64(retained()) - int64(before)
	if kept > 8<<20 {
		t.Errorf("%d MiB kept for 8000 pods: the page is still alive", kept>>20)
	}
	if p := pods[7999]; p.Name != "jupyter-user7999" || p.Value != "user7999" || p.Namespace != "af-jupyter" || p.Phase != "Running" {
		t.Errorf("last pod %+v", p)
	}
}

// writePodList is a list of n whole pods, as kubectl prints them, some 5
// KiB each.
func writePodList(t testing.TB, n int, label string) []byte {
	var b bytes.Buffer
	writePods(&b, n, label)
	return b.Bytes()
}

func writePods(w io.Writer, n int, label string) {
	io.WriteString(w, `{"apiVersion":"v1","items":[`)
	filler := strings.Repeat("x", 4000)
	for i := range n {
		if i > 0 {
			io.WriteString(w, ",")
		}
		fmt.Fprintf(w, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"jupyter-user%d","namespace":"af-jupyter","labels":{"app":"jupyterhub","%s":"user%d"},"annotations":{"note":"%s"},"managedFields":[{"manager":"kube","fieldsV1":{"f:metadata":{"f:labels":{".":{}}}}}]},"spec":{"containers":[{"name":"notebook","image":"x","env":[{"name":"A","value":"b"}]}]},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}`, i, label, i, filler)
	}
	io.WriteString(w, `],"kind":"List","metadata":{"resourceVersion":""}}`)
}

// peakHeap runs fn and samples the live heap meanwhile.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	return peak
}

// BenchmarkKubePods100MiB lists 100 MiB of whole pods, from kubectl (one
// answer) and from the API (pages of 500): within 192 MiB of heap (the
// client before it held the answer twice over, 350 MB).
func BenchmarkKubePods100MiB(b *testing.B) {
	const pods = 100 << 20 / 4300 // about 4.3 KiB each
	b.Run("kubectl", func(b *testing.B) {
		k := Kubectl{Path: fakeKubectl(b, writePodList(b, pods, "owner"))}
		runtime.GC()
		var peak uint64
		for b.Loop() {
			peak = max(peak, peakHeap(func() {
				got, err := k.ListPods(context.Background(), "af-jupyter", "owner")
				if err != nil || len(got) != pods {
					b.Fatalf("%d pods, %v", len(got), err)
				}
			}))
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
	b.Run("API", func(b *testing.B) {
		const perPage = kubePageLimit
		pages := (pods + perPage - 1) / perPage
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := 0
			fmt.Sscan(r.URL.Query().Get("continue"), &k)
			n := min(perPage, pods-k*perPage)
			w.Header().Set("Content-Type", "application/json")
			var page bytes.Buffer
			writePods(&page, n, "owner")
			body := page.Bytes()
			if k+1 < pages { // the continue token of the next page
				body = bytes.Replace(body, []byte(`"resourceVersion":""`), fmt.Appendf(nil, `"continue":"%d"`, k+1), 1)
			}
			w.Write(body)
		}))
		defer srv.Close()
		c := &APIClient{base: srv.URL, token: "t", client: srv.Client(), maxPage: kubeMaxPageBytes}
		var peak uint64
		for b.Loop() {
			peak = max(peak, peakHeap(func() {
				got, err := c.ListPods(context.Background(), "af-jupyter", "owner")
				if err != nil || len(got) != pods {
					b.Fatalf("%d pods, %v", len(got), err)
				}
			}))
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	})
}
