// Package prom writes the Prometheus text exposition format (version
// 0.0.4), the format node_exporter's textfile collector reads, and the
// textfile itself, atomically. It is written by hand: the format is small
// and specified, and prometheus/client_golang would add its registry, its
// protobuf model and their package initialisation to every run of a
// one-shot command that needs none of them.
package prom

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Type is a metric family's type, as its # TYPE line says.
type Type string

// The types afmc writes.
const (
	Gauge   Type = "gauge"
	Counter Type = "counter"
)

// Label is one label of a sample.
type Label struct{ Name, Value string }

// Sample is one value of a family, with its labels.
type Sample struct {
	Labels []Label
	Value  float64
}

// Family is a metric family: its name, help, type and samples. A family
// without samples is not written.
type Family struct {
	Name    string
	Help    string
	Type    Type
	Samples []Sample
}

// Add appends a sample; labels are name, value pairs.
func (f *Family) Add(v float64, labels ...string) {
	if len(labels)%2 != 0 {
		panic("prom: labels must come in name, value pairs")
	}
	s := Sample{Value: v}
	for i := 0; i < len(labels); i += 2 {
		s.Labels = append(s.Labels, Label{labels[i], labels[i+1]})
	}
	f.Samples = append(f.Samples, s)
}

// Write writes the families in the text format. Samples are written
// sorted by their label values, so the same figures make the same bytes.
func Write(w io.Writer, fams []Family) error {
	b, err := Append(nil, fams)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Append is Write to a byte slice. It refuses what a reader would refuse
// (node_exporter fails the whole file then): a bad metric or label name,
// a family named twice, two samples with the same labels.
func Append(b []byte, fams []Family) ([]byte, error) {
	seen := make(map[string]bool, len(fams))
	for _, f := range fams {
		if !validMetricName(f.Name) {
			return nil, fmt.Errorf("prom: %q is not a metric name", f.Name)
		}
		if seen[f.Name] {
			return nil, fmt.Errorf("prom: metric family %s given twice", f.Name)
		}
		seen[f.Name] = true
		switch f.Type {
		case Gauge, Counter:
		default:
			return nil, fmt.Errorf("prom: %s: unknown type %q", f.Name, f.Type)
		}
		if len(f.Samples) == 0 {
			continue
		}
		samples := slices.Clone(f.Samples)
		for i := range samples {
			samples[i].Labels = slices.Clone(samples[i].Labels)
			slices.SortFunc(samples[i].Labels, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
			for j, l := range samples[i].Labels {
				if !validLabelName(l.Name) {
					return nil, fmt.Errorf("prom: %s: %q is not a label name", f.Name, l.Name)
				}
				if j > 0 && samples[i].Labels[j-1].Name == l.Name {
					return nil, fmt.Errorf("prom: %s: label %s given twice", f.Name, l.Name)
				}
			}
		}
		slices.SortStableFunc(samples, compareLabels)
		for i := 1; i < len(samples); i++ {
			if compareLabels(samples[i-1], samples[i]) == 0 {
				return nil, fmt.Errorf("prom: %s: two samples with the labels {%s}", f.Name, labelText(samples[i].Labels))
			}
		}
		b = append(b, "# HELP "...)
		b = append(b, f.Name...)
		b = append(b, ' ')
		b = appendEscaped(b, f.Help, false)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.Name...)
		b = append(b, ' ')
		b = append(b, f.Type...)
		b = append(b, '\n')
		for _, s := range samples {
			b = append(b, f.Name...)
			if len(s.Labels) > 0 {
				b = append(b, '{')
				b = appendLabels(b, s.Labels)
				b = append(b, '}')
			}
			b = append(b, ' ')
			b = AppendValue(b, s.Value)
			b = append(b, '\n')
		}
	}
	return b, nil
}

func compareLabels(a, b Sample) int {
	for i := range min(len(a.Labels), len(b.Labels)) {
		if c := cmp.Compare(a.Labels[i].Name, b.Labels[i].Name); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Labels[i].Value, b.Labels[i].Value); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a.Labels), len(b.Labels))
}

func appendLabels(b []byte, labels []Label) []byte {
	for i, l := range labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, l.Name...)
		b = append(b, `="`...)
		b = appendEscaped(b, l.Value, true)
		b = append(b, '"')
	}
	return b
}

func labelText(labels []Label) string { return string(appendLabels(nil, labels)) }

// AppendValue writes v as the text format has it: the shortest decimal
// that reads back as v, as Prometheus's own encoder writes it, and +Inf,
// -Inf, NaN.
func AppendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendEscaped escapes a HELP text (backslash, line feed) or a label
// value (also the double quote). Invalid UTF-8 becomes U+FFFD: the format
// is UTF-8, and a reader refuses anything else.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size == 1:
			b = utf8.AppendRune(b, utf8.RuneError)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, s[:size]...)
		}
		s = s[size:]
	}
	return b
}

// validMetricName is [a-zA-Z_:][a-zA-Z0-9_:]*.
func validMetricName(s string) bool {
	return validName(s, true)
}

// validLabelName is [a-zA-Z_][a-zA-Z0-9_]*, not starting with __ (reserved).
func validLabelName(s string) bool {
	return validName(s, false) && !strings.HasPrefix(s, "__")
}

func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', colon && c == ':':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Value finds the value of the sample of metric without labels in text,
// as written by Append: for reading a figure back from the previous
// textfile. A line that does not parse is skipped.
func Value(text []byte, metric string) (float64, bool) {
	for len(text) > 0 {
		line, rest, _ := bytes.Cut(text, []byte("\n"))
		text = rest
		v, ok := bytes.CutPrefix(line, []byte(metric))
		if !ok || len(v) < 2 || v[0] != ' ' {
			continue
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(v[1:])), 64)
		if err != nil {
			continue
		}
		return f, true
	}
	return 0, false
}
