package examples

import (
	"regexp"
	"strings"
	"testing"
)

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	line int
	op   string
	args string
}

func parseDockerfile(t *testing.T, text string) []dockerInstr {
	t.Helper()
	var out []dockerInstr
	var cur *dockerInstr
	for n, line := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(line)
		if cur == nil && (trim == "" || strings.HasPrefix(trim, "#")) {
			continue
		}
		if cur != nil {
			if strings.HasPrefix(trim, "#") {
				continue
			}
			cur.args += " " + strings.TrimSuffix(trim, "\\")
		} else {
			op, args, _ := strings.Cut(trim, " ")
			cur = &dockerInstr{line: n + 1, op: strings.ToUpper(op), args: strings.TrimSuffix(args, "\\")}
		}
		if !strings.HasSuffix(trim, "\\") {
			cur.args = strings.Join(strings.Fields(cur.args), " ")
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatal("Dockerfile ends in a continuation line")
	}
	return out
}

// The Dockerfile cannot be built here (no container engine): it is
// checked as text.
func TestDockerfile(t *testing.T) {
	instrs := parseDockerfile(t, string(readFile(t, "k8s-cronjob/Dockerfile")))
	known := map[string]bool{"FROM": true, "WORKDIR": true, "COPY": true, "RUN": true, "ARG": true, "ENV": true, "USER": true, "ENTRYPOINT": true, "CMD": true, "LABEL": true}
	type stage struct {
		image, name string
		instrs      []dockerInstr
	}
	var stages []stage
	for _, in := range instrs {
		if !known[in.op] {
			t.Errorf("Dockerfile:%d: instruction %s (ADD fetches URLs and unpacks archives: use COPY)", in.line, in.op)
		}
		if in.op == "FROM" {
			f := strings.Fields(in.args)
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				t.Errorf("Dockerfile:%d: FROM %s", in.line, in.args)
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.op != "ARG" {
				t.Errorf("Dockerfile:%d: %s before FROM", in.line, in.op)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a builder and the final image", len(stages))
	}
	build, final := stages[0], stages[1]
	if build.image != "golang:1.26" || build.name == "" {
		t.Errorf("builder stage FROM %s AS %q, want golang:1.26 with a name", build.image, build.name)
	}
	static := false
	for _, in := range build.instrs {
		if in.op == "RUN" && strings.Contains(in.args, "go build") {
			static = strings.Contains(in.args, "CGO_ENABLED=0 go build") && strings.Contains(in.args, "./cmd/afmc")
		}
	}
	if !static {
		t.Error("the builder does not run CGO_ENABLED=0 go build ./cmd/afmc")
	}
	if final.image != "scratch" && !regexp.MustCompile(`^gcr\.io/distroless/static(-debian[0-9]+)?:nonroot$`).MatchString(final.image) {
		t.Errorf("final stage FROM %s, want scratch or distroless static:nonroot", final.image)
	}
	var user string
	copied := false
	for _, in := range final.instrs {
		switch in.op {
		case "USER":
			user = in.args
		case "RUN":
			t.Errorf("Dockerfile:%d: RUN in the final stage, which has no shell", in.line)
		case "COPY":
			if strings.HasPrefix(in.args, "--from="+build.name+" ") && strings.HasSuffix(in.args, " /usr/bin/afmc") {
				copied = true
			}
		case "ENTRYPOINT":
			if in.args != `["/usr/bin/afmc"]` {
				t.Errorf("ENTRYPOINT %s, want [\"/usr/bin/afmc\"]", in.args)
			}
		}
	}
	if !copied {
		t.Error("the final stage does not copy the built afmc to /usr/bin/afmc")
	}
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" || !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(uid) {
		// Numeric, so that runAsNonRoot can check it without /etc/passwd.
		t.Errorf("USER %q, want a numeric non-root user", user)
	}
	if final.image == "scratch" {
		t.Error("scratch has no CA certificates: TLS to the endpoint would fail")
	}
	for _, m := range []string{"cronjob.yaml", "node-cronjob.yaml"} {
		if !strings.Contains(string(readFile(t, "k8s-cronjob/"+m)), "runAsUser: "+uid+"\n") {
			t.Errorf("%s does not run as the image's user %s", m, uid)
		}
	}
}
