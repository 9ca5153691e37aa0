package host

import (
	"context"
	"testing"
	"time"

	"github.com/atlas-af/afmc/collect"
	"github.com/atlas-af/afmc/document"
)

func BenchmarkParsers(b *testing.B) {
	for _, bm := range []struct {
		name  string
		file  string
		parse func([]byte) error
	}{
		{"mountinfo", "host/proc/1/mountinfo", func(d []byte) error { _, err := ParseMountinfo(d); return err }},
		{"diskstats", "host/proc/diskstats", func(d []byte) error { _, err := ParseDiskstats(d); return err }},
		{"meminfo", "host/proc/meminfo", func(d []byte) error { _, err := ParseMeminfo(d); return err }},
		{"loadavg", "host/proc/loadavg", func(d []byte) error { _, err := ParseLoadAvg(d); return err }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			data := readFixture(b, bm.file)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bm.parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCollectHost is the in-process cost of `afmc collect host` on the
// live /proc: the four collectors run concurrently, as in a real run.
func BenchmarkCollectHost(b *testing.B) {
	env := discardEnv()
	env.Roots = collect.RootsFromEnv(func(string) string { return "" })
	cs := []collect.Collector{CPU{}, Mem{}, Disk{}, Network{}}
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range collect.Run(context.Background(), env, cs, nil, time.Minute, false, func(document.Document) error { return nil }) {
			if o.Err != nil {
				b.Fatal(o.Err)
			}
		}
	}
}
