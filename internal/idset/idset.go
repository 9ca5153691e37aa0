// Package idset is a set of spool ids kept as ranges, shared by the spool
// (what was settled) and the sender (what was refused).
package idset

import (
	"iter"
	"sort"
)

// Set is a set of spool ids kept as sorted, disjoint, non-adjacent
// ranges. Ids are handed out in increasing order and settle roughly in that
// order, so the ids a run settles are a handful of ranges however many
// documents it sent; its size grows only with the gaps between them.
type Set struct{ r []idRange }

type idRange struct{ lo, hi uint64 } // inclusive

// Add inserts id and reports whether it was new.
func (s *Set) Add(id uint64) bool {
	n := len(s.r)
	// The common case: the next id in order.
	if n == 0 || id > s.r[n-1].hi {
		if n > 0 && s.r[n-1].hi+1 == id {
			s.r[n-1].hi = id
		} else {
			s.r = append(s.r, idRange{id, id})
		}
		return true
	}
	i := sort.Search(n, func(i int) bool { return s.r[i].hi >= id })
	if s.r[i].lo <= id {
		return false
	}
	// r[i-1].hi < id < r[i].lo, so neither +1 nor -1 below overflows.
	left := i > 0 && s.r[i-1].hi+1 == id
	right := id+1 == s.r[i].lo
	switch {
	case left && right:
		s.r[i-1].hi = s.r[i].hi
		s.r = append(s.r[:i], s.r[i+1:]...)
	case left:
		s.r[i-1].hi = id
	case right:
		s.r[i].lo = id
	default:
		s.r = append(s.r, idRange{})
		copy(s.r[i+1:], s.r[i:])
		s.r[i] = idRange{id, id}
	}
	return true
}

func (s *Set) Has(id uint64) bool {
	i := sort.Search(len(s.r), func(i int) bool { return s.r[i].hi >= id })
	return i < len(s.r) && s.r[i].lo <= id
}

func (s *Set) Reset() { s.r = nil }

func (s *Set) Empty() bool { return len(s.r) == 0 }

// All yields the ids of s in increasing order.
func (s *Set) All() iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		for _, rg := range s.r {
			for id := rg.lo; ; id++ {
				if !yield(id) {
					return
				}
				if id == rg.hi {
					break
				}
			}
		}
	}
}

// Ranges is how many ranges s is kept as.
func (s *Set) Ranges() int { return len(s.r) }
