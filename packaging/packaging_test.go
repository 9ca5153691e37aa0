// Package packaging holds no code: its test builds the DEB and RPM with
// build.sh from a freshly built afmc and inspects them as dpkg and rpm see
// them.
package packaging

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/atlas-af/afmc/internal/testtool"
)

const nfpmInstall = "go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"

// findNfpm is where build.sh finds nfpm: PATH, then $(go env GOPATH)/bin.
// It is installed before the tests (make tools); the tests never download.
// Without it the test is skipped, or fails under AFMC_TEST_REQUIRE_TOOLS=1.
func findNfpm(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nfpm"); err == nil {
		return
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "bin", "nfpm")); err == nil {
			return
		}
	}
	msg := fmt.Sprintf("nfpm is not installed (neither in PATH nor in $(go env GOPATH)/bin): run `%s` first (make tools)", nfpmInstall)
	if testtool.Required(os.Getenv) {
		t.Fatal(msg)
	}
	t.Skip("skipped: " + msg)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// buildAFMC builds cmd/afmc as a release would. AFMC_TEST_BINARY names one
// built already instead.
func buildAFMC(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("AFMC_TEST_BINARY"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "afmc")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=1.2.3", "-o", bin, "github.com/atlas-af/afmc/cmd/afmc")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/afmc: %v\n%s", err, out)
	}
	return bin
}

// entry is one file of a package as its tool lists it.
type entry struct {
	mode  string // as ls shows it: -rwxr-xr-x, drwxr-xr-x
	owner string // user/group
}

// want is every file of both packages: path, mode, owner.
var want = map[string]entry{
	"/usr/bin/afmc":                                              {"-rwxr-xr-x", "root/root"},
	"/usr/lib/systemd/system/afmc.service":                       {"-rw-r--r--", "root/root"},
	"/usr/lib/systemd/system/afmc.timer":                         {"-rw-r--r--", "root/root"},
	"/usr/lib/systemd/system/afmc-check.service":                 {"-rw-r--r--", "root/root"},
	"/usr/share/doc/afmc/copyright":                              {"-rw-r--r--", "root/root"},
	"/etc/afmc":                                                  {"drwxr-xr-x", "root/root"},
	"/etc/afmc/afmc.yaml":                                        {"-rw-r--r--", "root/root"},
	"/etc/afmc/afmc.env":                                         {"-rw-------", "root/root"},
	"/usr/share/man/man1/afmc.1.gz":                              {"-rw-r--r--", "root/root"},
	"/usr/share/bash-completion/completions/afmc":                {"-rw-r--r--", "root/root"},
	"/usr/share/doc/afmc/README.md":                              {"-rw-r--r--", "root/root"},
	"/usr/share/doc/afmc/examples/README.md":                     {"-rw-r--r--", "root/root"},
	"/usr/share/doc/afmc/examples/cron/afmc":                     {"-rw-r--r--", "root/root"},
	"/usr/share/doc/afmc/examples/k8s-cronjob/cronjob.yaml":      {"-rw-r--r--", "root/root"},
	"/usr/share/doc/afmc/examples/k8s-cronjob/node-cronjob.yaml": {"-rw-r--r--", "root/root"},
	"/usr/share/doc/afmc/examples/k8s-cronjob/Dockerfile":        {"-rw-r--r--", "root/root"},
}

// rpmOnly are files of the RPM alone: the licence, as %license.
var rpmOnly = map[string]entry{
	"/usr/share/licenses/afmc/LICENSE": {"-rw-r--r--", "root/root"},
}

// zshCompletion is where each distribution's zsh looks.
var zshCompletion = map[string]string{
	"deb": "/usr/share/zsh/vendor-completions/_afmc",
	"rpm": "/usr/share/zsh/site-functions/_afmc",
}

var configFiles = []string{"/etc/afmc/afmc.env", "/etc/afmc/afmc.yaml"}

func filesOf(pkg string) map[string]entry {
	files := map[string]entry{}
	for k, v := range want {
		files[k] = v
	}
	files[zshCompletion[pkg]] = entry{"-rw-r--r--", "root/root"}
	if pkg == "rpm" {
		for k, v := range rpmOnly {
			files[k] = v
		}
	}
	return files
}

// TestPackages needs `afmc man` and `afmc completion bash|zsh`: build.sh
// generates the man page and the completions with them.
func TestPackages(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Fatalf("the packages are built and checked for amd64; this is %s", runtime.GOARCH)
	}
	findNfpm(t)
	testtool.Need(t, "dpkg-deb")
	testtool.Need(t, "rpm")
	bin := buildAFMC(t)
	out := t.TempDir()
	cmd := exec.Command("bash", "build.sh", bin, "v1.2.3", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	t.Run("deb", func(t *testing.T) { checkDeb(t, filepath.Join(out, "afmc_1.2.3-1_amd64.deb"), bin) })
	t.Run("rpm", func(t *testing.T) { checkRPM(t, filepath.Join(out, "afmc-1.2.3-1.x86_64.rpm")) })
}

// dirsAbove are the directories on the way to the files, which dpkg-deb
// lists too.
func dirsAbove(files map[string]entry) map[string]bool {
	dirs := map[string]bool{}
	for p := range files {
		for d := filepath.Dir(p); d != "/"; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	return dirs
}

func checkDeb(t *testing.T, deb, bin string) {
	files := filesOf("deb")
	dirs := dirsAbove(files)

	// dpkg-deb -c: "-rwxr-xr-x root/root 169 2026-11-29 19:48 ./usr/bin/afmc"
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(run(t, "dpkg-deb", "-c", deb)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c: %q", sc.Text())
		}
		path := strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")
		seen[path] = true
		w, ok := files[path]
		switch {
		case ok:
			if f[0] != w.mode || f[1] != w.owner {
				t.Errorf("deb: %s is %s %s, want %s %s", path, f[0], f[1], w.mode, w.owner)
			}
		case dirs[path]:
			if f[0] != "drwxr-xr-x" || f[1] != "root/root" {
				t.Errorf("deb: dir %s is %s %s", path, f[0], f[1])
			}
		default:
			t.Errorf("deb: unexpected %s", path)
		}
	}
	for p := range files {
		if !seen[p] {
			t.Errorf("deb: %s missing", p)
		}
	}

	info := run(t, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Maintainer", "Homepage")
	for _, w := range []string{"Package: afmc\n", "Version: 1.2.3-1\n", "Architecture: amd64\n", maintainer, "Homepage: https://github.com/atlas-af/afmc\n"} {
		if !strings.Contains(info, w) {
			t.Errorf("deb control lacks %q:\n%s", w, info)
		}
	}
	conffiles := strings.Fields(run(t, "dpkg-deb", "-I", deb, "conffiles"))
	if strings.Join(conffiles, " ") != strings.Join(configFiles, " ") {
		t.Errorf("deb conffiles %v, want %v (kept as the site changed them on upgrade)", conffiles, configFiles)
	}
	postinst := run(t, "dpkg-deb", "-I", deb, "postinst")
	checkScripts(t, "deb", postinst+run(t, "dpkg-deb", "-I", deb, "prerm")+run(t, "dpkg-deb", "-I", deb, "postrm"))
	checkFirstInstallMessage(t, "deb", postinst, []string{"configure", ""}, []string{"configure", "1.2.2-1"})

	// What is in the files: the binary as built, the units and the config
	// as in examples/, a man page, completions.
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	same := map[string]string{
		"/usr/bin/afmc":                              bin,
		"/usr/lib/systemd/system/afmc.service":       "../examples/systemd/afmc.service",
		"/usr/lib/systemd/system/afmc.timer":         "../examples/systemd/afmc.timer",
		"/usr/lib/systemd/system/afmc-check.service": "../examples/systemd/afmc-check.service",
		"/etc/afmc/afmc.yaml":                        "../examples/afmc.yaml",
		"/etc/afmc/afmc.env":                         "../examples/afmc.env",
	}
	for dst, src := range same {
		a, err := os.ReadFile(filepath.Join(root, dst))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("deb: %s differs from %s", dst, src)
		}
	}
	env, _ := os.ReadFile(filepath.Join(root, "etc/afmc/afmc.env"))
	for _, line := range strings.Split(string(env), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			t.Errorf("deb: /etc/afmc/afmc.env sets %q: the package ships it empty", l)
		}
	}
	checkCopyright(t, filepath.Join(root, "usr/share/doc/afmc/copyright"), bin)
	f, err := os.Open(filepath.Join(root, "usr/share/man/man1/afmc.1.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("afmc.1.gz: %v", err)
	}
	man, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("afmc.1.gz: %v", err)
	}
	if !bytes.HasPrefix(bytes.TrimLeft(man, " \n"), []byte(".")) || !bytes.Contains(man, []byte(".TH")) || !bytes.Contains(man, []byte("collect")) {
		t.Errorf("afmc.1.gz is not afmc's man page:\n%.300s", man)
	}
	for _, c := range []string{"usr/share/bash-completion/completions/afmc", "usr/share/zsh/vendor-completions/_afmc"} {
		b, err := os.ReadFile(filepath.Join(root, c))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("afmc")) || !bytes.Contains(b, []byte("collect")) {
			t.Errorf("%s does not complete afmc collect:\n%.300s", c, b)
		}
	}
}

func checkRPM(t *testing.T, rpm string) {
	files := filesOf("rpm")

	// --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
	modes := map[string]string{"-rwxr-xr-x": "0100755", "-rw-r--r--": "0100644", "-rw-------": "0100600", "drwxr-xr-x": "040755"}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(run(t, "rpm", "-qlp", "--dump", rpm)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 {
			t.Fatalf("rpm --dump: %q", sc.Text())
		}
		path := f[0]
		seen[path] = true
		w, ok := files[path]
		if !ok {
			t.Errorf("rpm: unexpected %s", path)
			continue
		}
		if f[4] != modes[w.mode] || f[5]+"/"+f[6] != w.owner {
			t.Errorf("rpm: %s is %s %s/%s, want %s %s", path, f[4], f[5], f[6], modes[w.mode], w.owner)
		}
		isConfig := f[7] == "1"
		if isConfig != (path == configFiles[0] || path == configFiles[1]) {
			t.Errorf("rpm: %s config=%v", path, isConfig)
		}
	}
	for p := range files {
		if !seen[p] {
			t.Errorf("rpm: %s missing", p)
		}
	}
	// %config(noreplace): the flags c (config) and n (noreplace).
	flags := run(t, "rpm", "-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]", rpm)
	for _, c := range configFiles {
		if !strings.Contains(flags, "cn "+c+"\n") {
			t.Errorf("rpm: %s is not %%config(noreplace):\n%s", c, flags)
		}
	}
	if !strings.Contains(flags, "l /usr/share/licenses/afmc/LICENSE\n") {
		t.Errorf("rpm: the licence is not %%license:\n%s", flags)
	}
	meta := run(t, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{OS} %{LICENSE}\n", rpm)
	if meta != "afmc 1.2.3 1 x86_64 linux MIT\n" {
		t.Errorf("rpm: %q, want afmc 1.2.3 1 x86_64 linux MIT", meta)
	}
	if packager := run(t, "rpm", "-qp", "--qf", "%{PACKAGER}\n", rpm); "Maintainer: "+packager != maintainer {
		t.Errorf("rpm: Packager %q, want the project and where to report problems", packager)
	}
	checkScripts(t, "rpm", run(t, "rpm", "-qp", "--scripts", rpm))
	post := run(t, "rpm", "-qp", "--qf", "%{POSTIN}", rpm)
	checkFirstInstallMessage(t, "rpm", post, []string{"1"}, []string{"2"})
	// The files as in the repository, by the SHA-256 digests rpm keeps.
	digests := map[string]string{}
	sc = bufio.NewScanner(strings.NewReader(run(t, "rpm", "-qlp", "--dump", rpm)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 3 {
			digests[f[0]] = f[3]
		}
	}
	for dst, src := range map[string]string{
		"/usr/share/licenses/afmc/LICENSE":           "../LICENSE",
		"/usr/lib/systemd/system/afmc.service":       "../examples/systemd/afmc.service",
		"/usr/lib/systemd/system/afmc-check.service": "../examples/systemd/afmc-check.service",
	} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); digests[dst] != hex.EncodeToString(sum[:]) {
			t.Errorf("rpm: %s is not %s", dst, src)
		}
	}
}

// maintainer names the project and where to report a problem: the DEB's
// Maintainer, the RPM's Packager.
const maintainer = "Maintainer: afmc maintainers <https://github.com/atlas-af/afmc/issues>\n"

// checkCopyright: afmc's MIT licence, and the licence of every Go module
// the binary holds, as `go version -m` lists them, and of the Go library.
func checkCopyright(t *testing.T, path, bin string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	license, err := os.ReadFile("../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "License: MIT") || !strings.Contains(text, string(license)) || !strings.Contains(text, "Copyright (c) 2026 The afmc authors") {
		t.Errorf("%s lacks afmc's MIT licence:\n%.600s", path, text)
	}
	if !strings.Contains(text, "https://github.com/atlas-af/afmc/issues") {
		t.Errorf("%s does not say where to report problems", path)
	}
	mods := 0
	for _, line := range strings.Split(run(t, "go", "version", "-m", bin), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "dep" {
			mods++
			if !strings.Contains(text, "-- "+f[1]+" "+f[2]+": ") {
				t.Errorf("%s lacks the licence of %s %s, which the binary holds", path, f[1], f[2])
			}
		}
	}
	if mods < 3 {
		t.Errorf("go version -m lists %d modules in %s", mods, bin)
	}
	if !strings.Contains(text, "-- the Go standard library") || !strings.Contains(text, "Copyright 2009 The Go Authors") {
		t.Errorf("%s lacks the Go standard library's licence", path)
	}
}

// checkFirstInstallMessage runs the package's postinstall script: on a
// first install it says how to check and enable afmc, on an upgrade it
// says nothing.
func checkFirstInstallMessage(t *testing.T, pkg, script string, first, upgrade []string) {
	t.Helper()
	runScript := func(args []string) string {
		cmd := exec.Command("sh", append([]string{"-c", script, "postinstall"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s postinstall %q: %v\n%s", pkg, args, err, out)
		}
		return string(out)
	}
	msg := runScript(first)
	for _, want := range []string{"/etc/afmc/afmc.yaml", "/etc/afmc/token", "systemctl start afmc-check", "journalctl -u afmc-check", "systemctl enable --now afmc.timer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%s: the first install's message does not say %q:\n%s", pkg, want, msg)
		}
	}
	if out := runScript(upgrade); out != "" {
		t.Errorf("%s: an upgrade prints %q", pkg, out)
	}
}

// checkScripts: systemd is told of the units; the timer is never enabled
// or started by the package (what its message tells a person to run is
// not run).
func checkScripts(t *testing.T, pkg, scripts string) {
	if !strings.Contains(scripts, "systemctl daemon-reload") {
		t.Errorf("%s: no systemctl daemon-reload in the scripts:\n%s", pkg, scripts)
	}
	if !strings.Contains(scripts, "systemctl disable --now afmc.timer") {
		t.Errorf("%s: the timer is not stopped on removal:\n%s", pkg, scripts)
	}
	inMessage := false
	for _, line := range strings.Split(scripts, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case inMessage:
			inMessage = l != "MSG"
			continue
		case strings.HasSuffix(l, "<<'MSG'"):
			inMessage = true
			continue
		case strings.HasPrefix(l, "#"):
			continue
		}
		if strings.Contains(l, "systemctl enable") || strings.Contains(l, "systemctl start") || strings.Contains(l, "systemctl restart") {
			t.Errorf("%s: a script enables or starts afmc: %q (the site sets cluster and the token first)", pkg, l)
		}
	}
}

// build.sh fails with a clear message, and builds nothing, when the binary
// cannot make the man page, when nfpm is missing, or for a version a
// package cannot sort.
func TestBuildScriptFailsClearly(t *testing.T) {
	findNfpm(t)
	dir := t.TempDir()
	stub := filepath.Join(dir, "afmc")
	// An afmc without the man command, answering as kong does.
	if err := os.WriteFile(stub, []byte("#!/bin/sh\necho \"afmc: unexpected argument $1\" >&2\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	b, err := exec.Command("bash", "build.sh", stub, "1.2.3", out).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "'afmc man' failed") {
		t.Errorf("build.sh with an afmc without man: %v\n%s", err, b)
	}
	if pkgs, _ := filepath.Glob(filepath.Join(out, "*")); len(pkgs) != 0 {
		t.Errorf("build.sh left %v", pkgs)
	}

	// No nfpm: a PATH with only what build.sh runs before looking, and an
	// empty GOPATH.
	pathDir := filepath.Join(dir, "path")
	if err := os.MkdirAll(pathDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"bash", "go", "dirname", "mktemp", "rm"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(pathDir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(pathDir, "bash"), "build.sh", stub, "1.2.3", out)
	cmd.Env = append(os.Environ(), "PATH="+pathDir, "GOPATH="+filepath.Join(dir, "gopath"))
	b, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), nfpmInstall) {
		t.Errorf("build.sh without nfpm: %v\n%s (want the install command named)", err, b)
	}

	b, err = exec.Command("bash", "build.sh", stub, "abc1234", out).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "MAJOR.MINOR.PATCH") {
		t.Errorf("build.sh with version abc1234: %v\n%s", err, b)
	}
}

// `make tools` (and so `make test` and `make package`) installs nfpm from
// the module proxy only when the pinned version is not there already.
func TestMakeToolsInstallsOnlyWhatIsMissing(t *testing.T) {
	findNfpm(t)
	makeBin := testtool.Need(t, "make")
	if out, err := exec.Command("bash", "find-nfpm.sh").Output(); err != nil || len(out) == 0 {
		t.Skipf("the nfpm installed is not the pinned version (find-nfpm.sh: %v): make tools would rightly install it", err)
	}
	// A go that only records what it is asked: make's $(GO).
	dir := t.TempDir()
	log := filepath.Join(dir, "go.log")
	fake := filepath.Join(dir, "go")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	makeTools := func(args ...string) string {
		cmd := exec.Command(makeBin, append([]string{"-s", "-C", "..", "tools", "GO=" + fake}, args...)...)
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make tools %v: %v\n%s", args, err, out)
		}
		b, _ := os.ReadFile(log)
		os.Remove(log)
		return string(b)
	}
	if got := makeTools(); got != "" {
		t.Errorf("make tools with nfpm v2.45.2 installed ran go %q", got)
	}
	if got := makeTools("NFPM_VERSION=v0.0.1-afmc-test"); got != "install github.com/goreleaser/nfpm/v2/cmd/nfpm@v0.0.1-afmc-test\n" {
		t.Errorf("make tools without the pinned nfpm ran go %q, want one go install", got)
	}
}
