package prom

import (
	"math"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	g := Family{Name: "afmc_test_jobs", Help: "Jobs \\ by\nstate.", Type: Gauge}
	g.Add(3, "state", "running", "queue", "b")
	g.Add(1.5, "queue", "a", "state", "idle")
	g.Add(0, "queue", "q\"uote\\back\nline", "state", "held")
	g.Add(2, "queue", "bad\xffutf8", "state", "idle")
	plain := Family{Name: "afmc_test_up", Help: "Up.", Type: Gauge}
	plain.Add(1)
	empty := Family{Name: "afmc_test_none", Help: "Never written.", Type: Counter}
	b, err := Append(nil, []Family{g, empty, plain})
	if err != nil {
		t.Fatal(err)
	}
	want := `# HELP afmc_test_jobs Jobs \\ by\nstate.
# TYPE afmc_test_jobs gauge
afmc_test_jobs{queue="a",state="idle"} 1.5
afmc_test_jobs{queue="b",state="running"} 3
afmc_test_jobs{queue="bad` + "\uFFFD" + `utf8",state="idle"} 2
afmc_test_jobs{queue="q\"uote\\back\nline",state="held"} 0
# HELP afmc_test_up Up.
# TYPE afmc_test_up gauge
afmc_test_up 1
`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	// The caller's samples are left as they were.
	if g.Samples[0].Labels[0].Name != "state" {
		t.Errorf("Append reordered the caller's labels: %v", g.Samples[0].Labels)
	}
}

func TestAppendRefuses(t *testing.T) {
	ok := func() Family { f := Family{Name: "afmc_x", Help: "x", Type: Gauge}; f.Add(1); return f }
	for _, tt := range []struct {
		name string
		fams []Family
		want string
	}{
		{"metric name", []Family{{Name: "afmc-x", Type: Gauge, Samples: []Sample{{}}}}, `"afmc-x" is not a metric name`},
		{"leading digit", []Family{{Name: "1afmc", Type: Gauge, Samples: []Sample{{}}}}, "not a metric name"},
		{"twice", []Family{ok(), ok()}, "afmc_x given twice"},
		{"type", []Family{{Name: "afmc_x", Type: "summary", Samples: []Sample{{}}}}, `unknown type "summary"`},
		{"label name", []Family{{Name: "afmc_x", Type: Gauge, Samples: []Sample{{Labels: []Label{{"a-b", "v"}}}}}}, `"a-b" is not a label name`},
		{"reserved label", []Family{{Name: "afmc_x", Type: Gauge, Samples: []Sample{{Labels: []Label{{"__name__", "v"}}}}}}, "not a label name"},
		{"label twice", []Family{{Name: "afmc_x", Type: Gauge, Samples: []Sample{{Labels: []Label{{"a", "1"}, {"a", "2"}}}}}}, "label a given twice"},
		{"same labels", []Family{{Name: "afmc_x", Type: Gauge, Samples: []Sample{{Labels: []Label{{"a", "1"}}}, {Labels: []Label{{"a", "1"}}, Value: 2}}}}, `two samples with the labels {a="1"}`},
		{"no labels twice", []Family{{Name: "afmc_x", Type: Gauge, Samples: []Sample{{}, {}}}}, "two samples with the labels {}"},
	} {
		_, err := Append(nil, tt.fams)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestAppendValue(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1: "1", -2: "-2", 0.25: "0.25", 1733112345.123: "1.733112345123e+09",
		1 << 40: "1.099511627776e+12", math.Inf(1): "+Inf", math.Inf(-1): "-Inf",
	} {
		if got := string(AppendValue(nil, v)); got != want {
			t.Errorf("%v: %q, want %q", v, got, want)
		}
	}
	if got := string(AppendValue(nil, math.NaN())); got != "NaN" {
		t.Errorf("NaN: %q", got)
	}
}

func TestValue(t *testing.T) {
	text := []byte("# HELP afmc_last_success_timestamp_seconds x\n" +
		"afmc_last_success_timestamp_seconds_other 5\n" +
		"afmc_last_success_timestamp_seconds{a=\"b\"} 6\n" +
		"afmc_last_success_timestamp_seconds garbage\n" +
		"afmc_last_success_timestamp_seconds 1.7331e+09\n")
	if v, ok := Value(text, LastSuccess); !ok || v != 1.7331e9 {
		t.Errorf("got %v %v", v, ok)
	}
	if _, ok := Value([]byte("afmc_other 1\n"), LastSuccess); ok {
		t.Error("found a metric that is not there")
	}
}
