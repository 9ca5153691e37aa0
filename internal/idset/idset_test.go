package idset

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestIDSetMatchesAMap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ids  func(r *rand.Rand) []uint64
	}{
		{"in order", func(*rand.Rand) []uint64 { return seqIDs(1, 500) }},
		{"reversed", func(*rand.Rand) []uint64 {
			ids := seqIDs(1, 500)
			for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
				ids[i], ids[j] = ids[j], ids[i]
			}
			return ids
		}},
		{"shuffled with repeats", func(r *rand.Rand) []uint64 {
			ids := append(seqIDs(100, 400), seqIDs(150, 200)...)
			r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			return ids
		}},
		{"sparse, at the ends of uint64", func(*rand.Rand) []uint64 {
			return []uint64{math.MaxUint64, 1, 0, math.MaxUint64 - 1, 3, 2, 1 << 63}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var s Set
			want := map[uint64]bool{}
			for _, id := range tc.ids(r) {
				if got := s.Add(id); got == want[id] {
					t.Fatalf("add(%d) = %v, but it was present: %v", id, got, want[id])
				}
				want[id] = true
			}
			for id := uint64(0); id < 1000; id++ {
				if s.Has(id) != want[id] {
					t.Errorf("has(%d) = %v, want %v", id, s.Has(id), want[id])
				}
			}
			for id := range want {
				if !s.Has(id) {
					t.Errorf("has(%d) = false after add", id)
				}
			}
			for i, rg := range s.r {
				if rg.lo > rg.hi || (i > 0 && s.r[i-1].hi+1 >= rg.lo) {
					t.Fatalf("ranges not sorted, disjoint and apart: %v", s.r)
				}
			}
		})
	}
}

// The point of Set: a run's settled ids stay a few ranges.
func TestIDSetStaysSmallForARun(t *testing.T) {
	t.Parallel()
	var s Set
	// Four workers settling batches of 500 out of order.
	for b := uint64(0); b < 400; b += 4 {
		for _, k := range []uint64{2, 0, 3, 1} {
			for id := (b + k) * 500; id < (b+k+1)*500; id++ {
				s.Add(1_000_000 + id)
			}
		}
	}
	if len(s.r) != 1 {
		t.Errorf("%d ranges for 200,000 consecutive ids, want 1", len(s.r))
	}
}

func seqIDs(lo, hi uint64) []uint64 {
	var out []uint64
	for id := lo; id < hi; id++ {
		out = append(out, id)
	}
	return out
}
