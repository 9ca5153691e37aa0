// Package promtest is test support for the Prometheus textfile: the real
// node_exporter serving a textfile directory on loopback, promtool's lint,
// and a reader of the text format to compare what was written with what
// was served.
package promtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/testtool"
)

// Tool is the path of an optional tool: internal/testtool's rule (a skip
// naming the tool, a failure under AFMC_TEST_REQUIRE_TOOLS=1).
func Tool(t testing.TB, name string) string {
	t.Helper()
	return testtool.Need(t, name)
}

// CheckMetrics runs `promtool check metrics` on text and returns what it
// said and whether it passed: it lints names, units, types and help as
// Prometheus's naming guide says.
func CheckMetrics(t testing.TB, text []byte) (string, bool) {
	t.Helper()
	promtool := Tool(t, "promtool")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running promtool: %v", err)
	}
	return string(out), err == nil
}

// NodeExporter is the real node_exporter with only its textfile collector,
// reading a directory and serving on a loopback port.
type NodeExporter struct {
	URL string
}

// StartNodeExporter starts prometheus-node-exporter on a free loopback
// port, reading dir, and stops it when the test ends.
func StartNodeExporter(t testing.TB, dir string) *NodeExporter {
	t.Helper()
	return StartNodeExporterArgs(t, "--collector.textfile.directory="+dir)
}

// StartNodeExporterArgs is StartNodeExporter with node_exporter's textfile
// settings given as arguments (those of a site's example, say).
func StartNodeExporterArgs(t testing.TB, args ...string) *NodeExporter {
	t.Helper()
	bin := Tool(t, "prometheus-node-exporter")
	var lastErr error
	for range 5 { // a free port may be taken before node_exporter binds it
		addr, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		ne, err := startNodeExporter(t, bin, addr, args)
		if err == nil {
			return ne
		}
		lastErr = err
	}
	t.Fatalf("node_exporter did not start: %v", lastErr)
	return nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startNodeExporter(t testing.TB, bin, addr string, args []string) (*NodeExporter, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"--web.listen-address=" + addr,
		"--collector.disable-defaults", "--collector.textfile",
		"--web.disable-exporter-metrics"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, err
	}
	// node_exporter logs "Listening on" once it has bound the port; it
	// exits with an error if it cannot.
	listening := make(chan struct{})
	var log bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if !said && strings.Contains(sc.Text(), `msg="Listening on"`) {
				said = true
				close(listening)
			}
		}
		if !said {
			close(listening)
		}
	}()
	<-listening
	select {
	case <-done: // stderr closed before it listened: it exited
		cancel()
		werr := cmd.Wait()
		return nil, fmt.Errorf("%v: %s", werr, log.String())
	default:
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	return &NodeExporter{URL: "http://" + addr + "/metrics"}, nil
}

// Scrape gets the metrics node_exporter serves now.
func (n *NodeExporter) Scrape(t testing.TB) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(n.URL)
	if err != nil {
		t.Fatalf("scraping node_exporter: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping node_exporter: %s %v\n%s", resp.Status, err, b)
	}
	return string(b)
}

// Samples reads the samples of the text format: "name{a="x",b="y"}" with
// the labels sorted and their values unescaped, to their value. Comments
// and blank lines are skipped; a line that does not parse is an error.
func Samples(text string) (map[string]float64, error) {
	out := map[string]float64{}
	for n, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, v, err := sample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: %s twice", n+1, key)
		}
		out[key] = v
	}
	return out, nil
}

func sample(line string) (string, float64, error) {
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", 0, errors.New("no metric name")
	}
	name, rest := line[:i], line[i:]
	var labels []string
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return "", 0, errors.New("bad label")
			}
			lname := rest[:eq]
			rest = rest[eq+2:]
			var val strings.Builder
			for {
				if rest == "" {
					return "", 0, errors.New("unterminated label value")
				}
				c := rest[0]
				rest = rest[1:]
				if c == '"' {
					break
				}
				if c == '\\' && rest != "" {
					switch rest[0] {
					case 'n':
						val.WriteByte('\n')
					case '\\', '"':
						val.WriteByte(rest[0])
					default:
						return "", 0, fmt.Errorf("bad escape \\%c", rest[0])
					}
					rest = rest[1:]
					continue
				}
				val.WriteByte(c)
			}
			labels = append(labels, lname+"="+strconv.Quote(val.String()))
			rest = strings.TrimPrefix(rest, ",")
		}
	}
	fields := strings.Fields(rest)
	if len(fields) != 1 {
		return "", 0, fmt.Errorf("want one value (no timestamp), got %q", rest)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", 0, err
	}
	slices.Sort(labels)
	return name + "{" + strings.Join(labels, ",") + "}", v, nil
}
