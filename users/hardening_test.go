package users

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/document"
)

func TestCheckName(t *testing.T) {
	for name, want := range map[string]string{
		"alice":                  "",
		"grace.hopper_2":         "",
		"jöns":                   "",
		"DOMAIN\\user":           "", // winbind's names
		"user@example.org":       "",
		"machine$":               "",
		"AD User":                "", // SSSD with names of Active Directory
		"":                       "empty",
		"ali\nce":                "control character",
		"\x1b[2Jalice":           "control character",
		"alice\x7f":              "control character",
		"\u202eecila":            "bidirectional override",
		"al\u200bice":            "invisible format character",
		"bad\xffutf8":            "not valid UTF-8",
		" alice":                 "space at an end",
		"alice ":                 "space at an end",
		"ali\u2028ce":            "does not show as itself",
		"ali\u00a0ce":            "does not show as itself",
		strings.Repeat("a", 257): "longer than 256",
		"ali\tce":                "control character",
		"\U000f0000private":      "does not show as itself",
	} {
		err := CheckName(name)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckName(%q) = %v, want %q", name, err, want)
		}
	}
}

// Names from every source pass the same rule, whatever else the step does
// (here nothing: no group, no hashing): a condor Owner as much as a utmp
// name or a pod label. A refused one is logged with its source, quoted.
func TestNameRuleEverySource(t *testing.T) {
	var logs bytes.Buffer
	st, err := New(Settings{}, "", "", nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	jupyter := document.New("jupyter-ml", "C", time.Unix(0, 0)).Add("jupyter_user_count", document.UserCount(3)).Add("users", document.UserList{"alice", "\u202eecila", "bob"})
	docs, err := st.Apply(context.Background(), []document.Document{
		ssh("alice", "ev\nil", "mhank"),
		jupyter,
		job("\x1b]0;pwned\x07"), job(""), job("bad\xff"), job("carol"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 {
		t.Fatalf("%d documents, want ssh, jupyter and carol's job", len(docs))
	}
	if got := field(docs[0], "users").([]string); !slices.Equal(got, []string{"alice", "mhank"}) || field(docs[0], "ssh_user_count") != 2 {
		t.Errorf("ssh: %v, count %v", got, field(docs[0], "ssh_user_count"))
	}
	if got := field(docs[1], "users").([]string); !slices.Equal(got, []string{"alice", "bob"}) || field(docs[1], "jupyter_user_count") != 2 {
		t.Errorf("jupyter: %v, count %v", got, field(docs[1], "jupyter_user_count"))
	}
	if field(docs[2], "users") != "carol" {
		t.Errorf("job kept: %v", field(docs[2], "users"))
	}
	out := logs.String()
	for _, want := range []string{
		`source=ssh name="\"ev\\nil\""`,
		`source=jupyter-ml name="\"\\u202eecila\""`,
		`source=condorjob name="\"\\x1b]0;pwned\\a\""`,
		`source=condorjob name="\"\""`,
		`source=condorjob name="\"bad\\xff\""`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\u202e") || strings.IndexByte(out, 0xff) >= 0 {
		t.Errorf("the log carries a raw character of a refused name:\n%q", out)
	}
}

// A source flooding bad names does not flood the log.
func TestRefusedNamesLogBounded(t *testing.T) {
	var logs bytes.Buffer
	st, _ := New(Settings{}, "", "", nil, slog.New(slog.NewTextHandler(&logs, nil)))
	var batch []document.Document
	for range 1000 {
		batch = append(batch, job("x\n"))
	}
	if docs, _ := st.Apply(context.Background(), batch); len(docs) != 0 {
		t.Errorf("%d documents kept", len(docs))
	}
	if n := strings.Count(logs.String(), "\n"); n != maxRefusedLogged+1 {
		t.Errorf("%d log lines for 1000 refused names", n)
	}
}

// hungNS is a name service that never answers: it waits for its context.
type hungNS struct{ asks int }

func (h *hungNS) Group(ctx context.Context, _ string) (string, []string, error) {
	h.asks++
	<-ctx.Done()
	return "", nil, ctx.Err()
}

func (h *hungNS) PrimaryGroups(ctx context.Context, _ []string) (map[string]string, error) {
	h.asks++
	<-ctx.Done()
	return nil, ctx.Err()
}

// A name service that hangs is given up once the step's time is spent:
// the documents naming users are left out, the others pass, and no later
// batch waits for it again.
func TestNameServiceDeadline(t *testing.T) {
	ns := &hungNS{}
	st, _ := New(Settings{Group: "atlas"}, "", "", ns, discard)
	st.SetTimeout(200 * time.Millisecond)
	cpu := document.NewHost("CPU", "C", "n", time.Unix(0, 0)).Add("load", 1.0)
	docs, err := st.Apply(context.Background(), []document.Document{cpu, ssh("alice"), job("bob")})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 200ms (--collector-timeout)") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v", err)
	}
	if len(docs) != 1 || docs[0].Kind() != "CPU" {
		t.Errorf("kept %d documents, want CPU alone", len(docs))
	}
	// The next batch: no wait, the same answer.
	docs, err = st.Apply(context.Background(), []document.Document{job("carol"), cpu})
	if err == nil || len(docs) != 1 || ns.asks != 1 {
		t.Errorf("second batch: %d documents, %v, %d asks of the name service", len(docs), err, ns.asks)
	}
}

// The same through the real getent path: a getent that never answers is
// killed at the step's deadline.
func TestGetentHangs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "getent")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, _ := New(Settings{Group: "atlas"}, "", "", Getent{Path: p}, discard)
	st.SetTimeout(300 * time.Millisecond)
	_, err := st.Apply(context.Background(), []document.Document{job("bob")})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") || !strings.Contains(err.Error(), "killed") {
		t.Errorf("error %v", err)
	}
}
