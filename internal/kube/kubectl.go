package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/atlas-af/afmc/internal/extcmd"
)

// Kubectl runs the host's kubectl.
type Kubectl struct {
	Path       string
	Kubeconfig string // "": kubectl's own choice (KUBECONFIG, ~/.kube/config)
}

func (k Kubectl) Who() string { return "the kubeconfig's user" }

func (k Kubectl) run(ctx context.Context, limit int64, args ...string) ([]byte, error) {
	var out []byte
	err := k.stream(ctx, func(r io.Reader) error {
		var err error
		out, err = io.ReadAll(newBoundedReader(r, limit, "kubectl "+args[0]))
		return err
	}, args...)
	return out, err
}

// stream runs kubectl with args and hands its stdout to read.
func (k Kubectl) stream(ctx context.Context, read func(io.Reader) error, args ...string) error {
	if k.Kubeconfig != "" {
		args = append(args, "--kubeconfig", k.Kubeconfig)
	}
	if dl, ok := ctx.Deadline(); ok {
		// kubectl's own deadline for each request, so that a hung API is
		// reported by kubectl rather than only killed.
		if left := time.Until(dl).Truncate(time.Millisecond); left > 0 {
			args = append(args, "--request-timeout", left.String())
		}
	}
	if err := extcmd.Stream(ctx, extcmd.Cmd{Path: k.Path, Args: args}, read); err != nil {
		return kubectlError(err)
	}
	return nil
}

func (k Kubectl) ListPods(ctx context.Context, ns, label string) ([]Pod, error) {
	// kubectl's answer is decoded as it prints it: a 100 MiB list of
	// whole pods is never held.
	var pods []Pod
	err := k.stream(ctx, func(r io.Reader) error {
		var err error
		pods, _, err = readPodList(newBoundedReader(r, kubectlMaxBytes, "kubectl get pods"), label)
		if err != nil {
			return fmt.Errorf("kubectl get pods: %w", err)
		}
		return nil
	}, "get", "pods", "-n", ns, "-l", label, "--field-selector", kubeActivePhases, "-o", "json")
	if err != nil {
		return nil, err
	}
	return pods, nil
}

func (k Kubectl) NamespaceExists(ctx context.Context, ns string) (bool, error) {
	_, err := k.run(ctx, kubeMaxErrorBytes, "get", "namespace", ns, "-o", "name")
	var ke *Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ke) && ke.Reason == "NotFound":
		return false, nil
	}
	return false, err
}

// kubectlServerError is how kubectl prints an error Status of the API:
// "Error from server (Forbidden): pods is forbidden: ...", or, for 401,
// "error: You must be logged in to the server (Unauthorized)" (or, as
// the Status says, "(the server has asked for the client to provide
// credentials)").
// Compiled when first needed: a run without jupyter pays nothing for it.
var kubectlServerError = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:Error from server \(([A-Za-z]+)\): (.*)|error: (You must be logged in to the server) \((.*)\))`)
})

// kubectlFailure is kubectl's failure: the command, how it ended, the line
// of its stderr that says why (not the klog lines before it, which repeat
// it), and the API's answer when kubectl printed one.
type kubectlFailure struct {
	cmd  *extcmd.Error
	line string
	api  *Error // nil: kubectl did not print an answer of the API
}

func (f *kubectlFailure) Error() string {
	s := f.cmd.Cmd + ": " + f.cmd.Err.Error()
	if f.line != "" {
		s += ": " + f.line
	}
	return s
}

func (f *kubectlFailure) Unwrap() []error {
	if f.api != nil {
		return []error{f.cmd, f.api}
	}
	return []error{f.cmd}
}

// kubectlError reads kubectl's failure out of extcmd's error.
func kubectlError(err error) error {
	var ee *extcmd.Error
	if !errors.As(err, &ee) {
		return err
	}
	f := &kubectlFailure{cmd: ee}
	lines := strings.Split(ee.Stderr, " | ")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if f.line == "" || kubectlServerError().MatchString(l) {
			f.line = l
		}
		if m := kubectlServerError().FindStringSubmatch(l); m != nil {
			f.api = &Error{Reason: m[1], Message: m[2]}
			if m[3] != "" {
				f.api = &Error{Code: http.StatusUnauthorized, Reason: "Unauthorized", Message: m[4]}
			}
			break
		}
	}
	return f
}
