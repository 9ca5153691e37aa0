// Package kube is a small Kubernetes client for the jupyter collector: the
// pods of one namespace that carry a label, and whether a namespace exists.
// Inside a pod it asks the API directly with the pod's service account
// (APIClient); on a login node it runs the host's kubectl (Kubectl), so
// every way a site's kubeconfig authenticates works. Every answer is read
// bounded and checked before it is trusted.
package kube

import (
	"context"
	"fmt"
	"strings"
)

// kubeActivePhases is the field selector that leaves out finished pods: the
// API sends only Pending and Running ones (status.phase is one of the few
// fields pods can be selected on).
const kubeActivePhases = "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown"

const (
	// kubePageLimit is how many pods one request asks for.
	kubePageLimit = 500
	// kubeMaxPageBytes bounds one page of the list: 500 pods' metadata is a
	// few MB; whole pods, if the API ignores the metadata-only request,
	// some tens.
	kubeMaxPageBytes = 64 << 20
	// kubeMaxPages bounds the pages of one list (500 a page).
	kubeMaxPages = 1000
	// kubeMaxErrorBytes bounds what is read of an error answer.
	kubeMaxErrorBytes = 64 << 10
	// kubectlMaxBytes bounds kubectl's output, whole pods of every page.
	kubectlMaxBytes = 128 << 20
	// kubeMaxTokenBytes bounds the service-account files read.
	kubeMaxTokenBytes = 1 << 20
)

// Pod is what the jupyter collector needs of one pod.
type Pod struct {
	Namespace, Name string
	Phase           string // "" when the API sent metadata only: the field selector chose the phases
	Deleting        bool   // metadata.deletionTimestamp is set
	HasLabel        bool
	Value           string // the label's value; not a string: its raw JSON
}

// Lister lists pods, through the API or kubectl.
type Lister interface {
	// listPods returns the pods of ns that carry label and are not
	// finished (Pending, Running).
	ListPods(ctx context.Context, ns, label string) ([]Pod, error)
	// namespaceExists tells whether ns exists (a list in a namespace that
	// does not exist is empty, not an error); an error when it cannot tell.
	NamespaceExists(ctx context.Context, ns string) (bool, error)
	// who is the identity asking, as the RBAC fix names it.
	Who() string
}

// Error is an answer of the API other than success: its HTTP status
// and the reason and message of its Status object.
type Error struct {
	Code    int    // 0 when kubectl did not say
	Reason  string // Unauthorized, Forbidden, NotFound, Expired, ...
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Code != 0 {
		fmt.Fprintf(&b, "%d ", e.Code)
	}
	b.WriteString(e.Reason)
	if e.Message != "" && e.Message != e.Reason {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// kubeExcerpt is the start of what a server sent, for an error message.
func kubeExcerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// ValidLabelValue is a non-empty Kubernetes label value: at most 63
// characters of [A-Za-z0-9._-], beginning and ending with a letter or digit.
func ValidLabelValue(s string) bool {
	return validKubeName(s, func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}, "._-")
}

// validKubeName is a name of 1 to 63 characters that are alnum or one of
// inner, beginning and ending with an alnum character.
func validKubeName(s string, alnum func(byte) bool, inner string) bool {
	if len(s) == 0 || len(s) > 63 || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := range len(s) {
		if !alnum(s[i]) && strings.IndexByte(inner, s[i]) < 0 {
			return false
		}
	}
	return true
}

// ValidLabelKey is a label key: a name as a value, optionally behind a DNS
// subdomain prefix and a slash (hub.jupyter.org/username).
func ValidLabelKey(s string) bool {
	prefix, name, ok := strings.Cut(s, "/")
	if !ok {
		return ValidLabelValue(s)
	}
	if len(prefix) > 253 || !ValidLabelValue(name) {
		return false
	}
	for _, part := range strings.Split(prefix, ".") {
		if !ValidNamespace(part) {
			return false
		}
	}
	return true
}

// ValidNamespace is a namespace name (an RFC 1123 label).
func ValidNamespace(s string) bool {
	return validKubeName(s, func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }, "-")
}
