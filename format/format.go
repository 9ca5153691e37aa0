// Package format prints documents on stdout: NDJSON as they come, or a
// table for a person (the one place that holds rows, to sort them).
package format

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/atlas-af/afmc/document"
)

// Printer writes documents to stdout as they come. encoded is the
// document's JSON, made once for printing and spooling alike.
type Printer interface {
	Print(d document.Document, encoded []byte) error
	// Close writes what is held back (a table's rows) and flushes.
	Close() error
}

// NDJSON prints one compact JSON document per line, for jq, as they come.
func NDJSON(w io.Writer) Printer { return ndjson{bufio.NewWriter(w)} }

type ndjson struct{ w *bufio.Writer }

func (p ndjson) Print(_ document.Document, b []byte) error {
	p.w.Write(b)
	return p.w.WriteByte('\n')
}

func (p ndjson) Close() error { return p.w.Flush() }

// Table prints a table for a person at a terminal. Its columns are
// aligned over blocks of rows, so a block is held until it is full or
// Close: memory stays bounded however many documents a source floods
// (2.6 GB for a condor_q gone wrong, when every row was held). Collectors'
// documents arrive interleaved: the table is the one place that holds
// rows, and puts each block's in the order of the collectors named in
// order, each collector's own order kept. The title names the clusters
// and login nodes of the first block.
func Table(w io.Writer, order []string) Printer { return TableFor(w, "", "", order) }

// TableFor is Table with the run's cluster and login node for its title
// when no document says them: a first NETWORK run prints no row, and its
// title must not claim "cluster unset" when the settings set it.
func TableFor(w io.Writer, cluster, loginNode string, order []string) Printer {
	rank := make(map[string]int, len(order))
	for i, name := range order {
		rank[name] = i
	}
	return &table{w: w, rank: rank, cluster: cluster, loginNode: loginNode}
}

// tableBlock is how many rows are aligned together.
const tableBlock = 4096

type table struct {
	w                  io.Writer
	rank               map[string]int // a collector's place in the table
	docs               []document.Document
	cluster, loginNode string // the title's when no document says
	started            bool   // the title is written
}

func (p *table) Print(d document.Document, _ []byte) error {
	p.docs = append(p.docs, d)
	if len(p.docs) >= tableBlock {
		return p.flush()
	}
	return nil
}

func (p *table) flush() error {
	if len(p.docs) == 0 && !p.started {
		p.started = true
		return writeTableTitle(p.w, p.cluster, p.loginNode)
	}
	sort.SliceStable(p.docs, func(i, j int) bool {
		return p.rankOf(p.docs[i]) < p.rankOf(p.docs[j])
	})
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	if !p.started {
		writeTitle(tw, p.docs)
		p.started = true
	}
	writeRows(tw, p.docs)
	clear(p.docs)
	p.docs = p.docs[:0]
	return tw.Flush()
}

func (p *table) rankOf(d document.Document) int {
	if r, ok := p.rank[d.Collector]; ok {
		return r
	}
	return len(p.rank)
}

func (p *table) Close() error {
	if len(p.docs) == 0 && p.started {
		return nil
	}
	return p.flush()
}

// writeTableTitle is the title of a table without rows.
func writeTableTitle(w io.Writer, cluster, loginNode string) error {
	var c, n []string
	if cluster != "" {
		c = []string{printable(cluster)}
	}
	if loginNode != "" {
		n = []string{printable(loginNode)}
	}
	_, err := fmt.Fprintf(w, "KIND  DETAILS  (cluster %s, login node %s)\n", orNone(c), orNone(n))
	return err
}

// commonKeys are shown once in the table's title instead of on every row.
var commonKeys = map[string]bool{"kind": true, "cluster": true, "login_node": true}

// WriteTable writes a compact table for a person at a terminal: one row a
// document, byte counts in binary units, ratios as percentages.
func WriteTable(w io.Writer, docs []document.Document) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	writeTitle(tw, docs)
	writeRows(tw, docs)
	return tw.Flush()
}

// writeTitle writes the column names and the clusters and login nodes of
// docs.
func writeTitle(tw io.Writer, docs []document.Document) {
	var cluster, node []string
	for _, d := range docs {
		if v, ok := d.Fields.Get("cluster"); ok {
			cluster = appendUnique(cluster, human("cluster", v))
		}
		if v, ok := d.Fields.Get("login_node"); ok {
			node = appendUnique(node, human("login_node", v))
		}
	}
	fmt.Fprintf(tw, "KIND\tDETAILS\t(cluster %s, login node %s)\n", orNone(cluster), orNone(node))
}

// writeRows writes one row a document.
func writeRows(tw io.Writer, docs []document.Document) {
	for _, d := range docs {
		var parts []string
		for _, f := range d.Fields {
			if commonKeys[f.Key] {
				continue
			}
			parts = append(parts, printable(f.Key)+"="+human(f.Key, f.Value))
		}
		fmt.Fprintf(tw, "%s\t%s\n", printable(d.Kind()), strings.Join(parts, "  "))
	}
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func orNone(s []string) string {
	sort.Strings(s)
	if len(s) == 0 || (len(s) == 1 && s[0] == "") {
		return "unset"
	}
	return strings.Join(s, ",")
}

// byteKeys hold byte counts.
var byteKeys = map[string]bool{
	"total": true, "used": true, "free": true, "available": true, "sent": true,
	"received": true, "read_bytes": true, "write_bytes": true,
}

func human(key string, v any) string {
	switch x := document.Plain(v).(type) {
	case document.Object:
		var parts []string
		for _, f := range x {
			parts = append(parts, printable(f.Key)+"="+human(f.Key, f.Value))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case uint64:
		if byteKeys[key] {
			return IBytes(x)
		}
		return strconv.FormatUint(x, 10)
	case document.Float:
		return human(key, float64(x))
	case float64:
		switch key {
		case "utilization":
			return strconv.FormatFloat(x*100, 'f', 1, 64) + "%"
		case "interval":
			return strconv.FormatFloat(x, 'f', -1, 64) + "s"
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return printable(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = printable(s)
		}
		return strings.Join(q, ",")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return printable(fmt.Sprint(v))
	}
	return printable(string(b))
}

// printable is how every string reaches the table: as it is when it is
// plain, else Go-quoted, as ls quotes names. Mount points, device names and
// user names are chosen by others; a control character, an escape sequence,
// invalid UTF-8 (which tabwriter could also take for its escape byte) or an
// invisible format character would reach the administrator's terminal and
// could forge rows. A space or one of the table's own separators is quoted
// too, so that no value can pass for another field, and a quote or backslash,
// so that a quoted value always reads back to exactly one string.
func printable(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) || strings.ContainsRune(tableSeparators, r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// tableSeparators are the characters the table itself uses between and
// around values, and the quote and backslash of a quoted one.
const tableSeparators = ` ,={}"\`

// IBytes formats n in binary units: 1.5GiB.
func IBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + "B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + string("KMGTPE"[exp]) + "iB"
}
