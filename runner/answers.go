package runner

import "github.com/atlas-af/afmc/document"

// answers remembers, for one destination, where its documents that belong
// to an answer (document.Answer) went, so that the documents of an answer
// voided by the end of collection are not sent: the spool settles them
// before its commit, the inbox drops their lines before its commit, memory
// leaves them out. Positions are the spool's ids, the inbox's lines, the
// index of what memory holds. Documents without an answer cost nothing
// until one has one; then each costs 4 bytes, not a copy.
type answers struct {
	list  []*document.Answer // index+1 is an answer's number
	index map[*document.Answer]uint32

	base uint64   // the position of at[0]
	at   []uint32 // by position from base: the answer's number, 0 for none
}

// number returns a's number, 0 for none.
func (as *answers) number(a *document.Answer) uint32 {
	if a == nil {
		return 0
	}
	n, ok := as.index[a]
	if !ok {
		if as.index == nil {
			as.index = map[*document.Answer]uint32{}
		}
		as.list = append(as.list, a)
		n = uint32(len(as.list))
		as.index[a] = n
	}
	return n
}

// record notes that the document at pos (positions grow within a run)
// belongs to a, which may be nil.
func (as *answers) record(pos uint64, a *document.Answer) {
	n := as.number(a)
	if n == 0 && as.at == nil {
		return
	}
	if as.at == nil {
		as.base = pos
	}
	if pos < as.base { // positions grow within a run: cannot happen
		return
	}
	for uint64(len(as.at)) < pos-as.base {
		as.at = append(as.at, 0)
	}
	as.at = append(as.at, n)
}

// voidedAt tells whether the document at pos belongs to a voided answer.
func (as *answers) voidedAt(pos uint64) bool {
	if pos < as.base || pos-as.base >= uint64(len(as.at)) {
		return false
	}
	n := as.at[pos-as.base]
	return n > 0 && as.list[n-1].Voided()
}

// anyVoided tells whether some answer recorded was voided.
func (as *answers) anyVoided() bool {
	for _, a := range as.list {
		if a.Voided() {
			return true
		}
	}
	return false
}

// voided calls f with the position of each document of a voided answer,
// in order.
func (as *answers) voided(f func(pos uint64)) {
	if !as.anyVoided() {
		return
	}
	for i, n := range as.at {
		if n > 0 && as.list[n-1].Voided() {
			f(as.base + uint64(i))
		}
	}
}
