package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/atlas-af/afmc/internal/extcmd"
	"github.com/atlas-af/afmc/internal/jsonstrict"
)

// FuzzParsePodList reads lists of pods as the API or kubectl might send
// them, compared with encoding/json: the same verdict on what is JSON,
// and, on documents without a key twice, the same pods as far as the
// jupyter collector looks at them (the phase, the deletion, the label's
// value when it is a valid one) and the same continue token.
func FuzzParsePodList(f *testing.F) {
	for _, name := range []string{"af-jupyter.json", "coffea-casa.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "jupyter", name))
		if err != nil {
			f.Fatal(err)
		}
		// Compact, as the API sends it: half the bytes for the fuzzer to
		// mutate and minimize.
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			f.Fatal(err)
		}
		b = c.Bytes()
		f.Add(b, "owner")
		f.Add(b, "jhub_user")
	}
	f.Add([]byte(`{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"},`+
		`"items":[{"metadata":{"name":"jupyter-alice","namespace":"af-jupyter","labels":{"owner":"alice"}}},`+
		`{"metadata":{"name":"jupyter-bob","namespace":"af-jupyter","deletionTimestamp":"2026-11-25T09:00:00Z","labels":{"owner":"bob"}}}]}`), "owner")
	f.Add([]byte(`{"kind":"List","items":[{"metadata":{"labels":{"hub.jupyter.org/username":"carol"}},"status":{"phase":"Pending"}}]}`), "hub.jupyter.org/username")
	f.Add([]byte(`{"kind":"PodList","items":null}`), "owner")
	f.Add([]byte(`{"kind":"PodList","items":{}}`), "owner")
	f.Add([]byte(`{"kind":"Status","status":"Failure"}`), "owner")
	f.Add([]byte(`{"kind":"PodList","items":[{"metadata":{"labels":{"owner":"a","owner":"b"}}}]}`), "owner")
	f.Add([]byte(`{"kind":"PodList","items":[{"metadata":{"labels":{"a.b":"x","a":{"b":"y"}}}}]}`), "a.b")
	// Keys as written: encoding/json's struct decoding took these for
	// metadata and continue.
	f.Add([]byte(`{"kind":"PodList","metadata":{"CONTINUE":"x"},"items":[{"meTAdAtA":{"lABels":{"owner":""}}}]}`), "owner")

	f.Fuzz(func(t *testing.T, b []byte, label string) {
		pods, cont, err := parsePodList(b, label)
		// kubeStatusError takes gjson's word on an error answer.
		if gv, jv := gjson.ValidBytes(b), json.Valid(b); gv != jv {
			t.Fatalf("gjson says valid %v, encoding/json %v", gv, jv)
		}
		if err != nil {
			checkLogSafe(t, err.Error(), 2000)
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted a list that is not JSON")
		}
		if jsonstrict.Check(b) != nil {
			return // a key twice: which one wins is up to the reader
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(b, &top) != nil {
			t.Fatalf("accepted a list that is not a JSON object")
		}
		var kind string
		if json.Unmarshal(top["kind"], &kind) != nil || (kind != "PodList" && kind != "List" && kind != "PartialObjectMetadataList") {
			t.Fatalf("accepted kind %s", top["kind"])
		}
		var items []json.RawMessage
		if raw, ok := top["items"]; ok && json.Unmarshal(raw, &items) != nil {
			t.Fatalf("accepted items that are not an array: %s", raw)
		}
		if len(pods) != len(items) {
			t.Fatalf("%d pods from %d items", len(pods), len(items))
		}
		for i, raw := range items {
			want := refPod(raw, label)
			got := pods[i]
			if podClass(got.Phase) != podClass(want.Phase) || got.Deleting != want.Deleting || got.HasLabel != want.HasLabel ||
				validLabelOrEmpty(got.Value) != validLabelOrEmpty(want.Value) {
				t.Fatalf("item %d %s:\ngot  %+v\nwant %+v", i, raw, got, want)
			}
		}
		var md map[string]json.RawMessage
		_ = json.Unmarshal(top["metadata"], &md)
		var wantCont string
		if json.Unmarshal(md["continue"], &wantCont) == nil && cont != wantCont {
			t.Fatalf("continue %q, want %q", cont, wantCont)
		}
	})
}

// refPod reads one item with encoding/json, keys matched exactly.
func refPod(raw json.RawMessage, label string) Pod {
	var p Pod
	var item, md, status map[string]json.RawMessage
	if json.Unmarshal(raw, &item) != nil {
		return p
	}
	_ = json.Unmarshal(item["status"], &status)
	p.Phase = refText(status["phase"])
	if json.Unmarshal(item["metadata"], &md) != nil {
		return p
	}
	if del, ok := md["deletionTimestamp"]; ok && string(del) != "null" {
		p.Deleting = true
	}
	var labels map[string]json.RawMessage
	if json.Unmarshal(md["labels"], &labels) == nil {
		if v, ok := labels[label]; ok {
			p.HasLabel, p.Value = true, refText(v)
		}
	}
	return p
}

// refText is a value as the parser takes it: a string's text, else the
// JSON itself ("" for null or nothing).
func refText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// podClass is what the collector makes of a phase.
func podClass(phase string) string {
	switch phase {
	case "", "Pending", "Running":
		return phase
	}
	return "other"
}

func validLabelOrEmpty(v string) string {
	if ValidLabelValue(v) {
		return v
	}
	return ""
}

// checkLogSafe fails when a message bound for a log holds a control
// character or invalid UTF-8 (it could forge a log line) or is longer
// than max bytes (an excerpt, not the whole answer).
func checkLogSafe(t *testing.T, msg string, max int) {
	t.Helper()
	if len(msg) > max {
		t.Fatalf("message of %d bytes, more than %d: %.200q", len(msg), max, msg)
	}
	if !utf8.ValidString(msg) || strings.ContainsFunc(msg, unicode.IsControl) {
		t.Fatalf("message holds a control character or invalid UTF-8: %q", msg)
	}
}

// FuzzKubeErrors reads the API's error answers and kubectl's stderr: the
// error never carries a control character into a log, what kubectl said
// is one of its lines, and a reason read from kubectl is a word.
func FuzzKubeErrors(f *testing.F) {
	f.Add(403, []byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:af-jupyter:afmc\" cannot list resource \"pods\" in API group \"\" in the namespace \"af-jupyter\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}`),
		`Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:af-jupyter:afmc" cannot list resource "pods"`)
	f.Add(401, []byte(`{"kind":"Status","reason":"Unauthorized","message":"Unauthorized","code":401}`),
		`E1125 09:00:00.000000 1 memcache.go:265] couldn't get current server API group list | error: You must be logged in to the server (Unauthorized)`)
	f.Add(502, []byte("<html><body>Bad Gateway\n</body></html>"), "Unable to connect to the server: dial tcp 10.0.0.1:6443: connect: connection refused")
	f.Add(410, []byte(`{"kind":"Status","reason":"Expired","message":"The provided continue parameter is too old"}`), "")
	f.Add(500, []byte(`{"kind":"Status","reason":"Bad\nReason\u001b[31m","message":"x"}`), "Error from server (NotFound): namespaces \"x\" not found")

	f.Fuzz(func(t *testing.T, code int, body []byte, stderr string) {
		ke := kubeStatusError(code, body, nil)
		checkLogSafe(t, ke.Error(), 2000)
		if ke.Code != code {
			t.Fatalf("code %d, want %d", ke.Code, code)
		}

		// extcmd hands kubectl's stderr over printable, lines joined by " | ".
		var tail extcmd.Tail
		tail.Write([]byte(stderr))
		ee := &extcmd.Error{Cmd: "kubectl get pods", ExitCode: 1, Stderr: tail.String(), Err: errors.New("exit status 1")}
		err := kubectlError(ee)
		var kf *kubectlFailure
		if !errors.As(err, &kf) {
			t.Fatalf("not a kubectl failure: %v", err)
		}
		if !errors.Is(err, ee) {
			t.Fatalf("the command's error is not kept: %v", err)
		}
		checkLogSafe(t, err.Error(), 2*len(ee.Stderr)+100)
		if kf.line != "" && !strings.Contains(ee.Stderr, kf.line) {
			t.Fatalf("line %q is not in stderr %q", kf.line, ee.Stderr)
		}
		if ee.Stderr != "" && kf.line == "" {
			t.Fatalf("stderr %q, but no line of it in the error", ee.Stderr)
		}
		if kf.api != nil {
			if kf.api.Reason == "" || strings.ContainsFunc(kf.api.Reason, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) {
				t.Fatalf("reason %q is not a word", kf.api.Reason)
			}
			var ke *Error
			if !errors.As(err, &ke) || ke != kf.api {
				t.Fatalf("the API's answer is not reachable with errors.As")
			}
		}
	})
}
