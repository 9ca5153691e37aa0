package runner

import (
	"github.com/atlas-af/afmc/document"
	"github.com/atlas-af/afmc/output"
)

// answers remembers where this run's documents that belong to an answer
// (document.Answer) went, so that the documents of an answer voided by
// the end of collection are not sent: those in the spool are settled
// before it is committed, the lines of an inbox dropped before it is, the
// documents held in memory left out. Documents without an answer cost
// nothing; those with one cost 4 bytes each, not a copy.
type answers struct {
	list  []*document.Answer // index+1 is an answer's number
	index map[*document.Answer]uint32

	spoolBase uint64   // the spool id of spool[0]
	spool     []uint32 // by spool id from spoolBase: the answer's number, 0 for none
	inbox     []uint32 // by inbox line
	held      []uint32 // by p.held index
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

// spooled records that spool id holds a document of a.
func (as *answers) spooled(id uint64, a *document.Answer) {
	n := as.number(a)
	if n == 0 {
		return
	}
	if as.spool == nil {
		as.spoolBase = id
	}
	if id < as.spoolBase { // ids grow within a run: cannot happen
		return
	}
	for uint64(len(as.spool)) < id-as.spoolBase {
		as.spool = append(as.spool, 0)
	}
	as.spool = append(as.spool, n)
}

// track appends a's number to a list kept by position (inbox lines, held
// documents), once some document had an answer.
func (as *answers) track(list *[]uint32, pos int, a *document.Answer) {
	n := as.number(a)
	if n == 0 && *list == nil {
		return
	}
	for len(*list) < pos {
		*list = append(*list, 0)
	}
	*list = append(*list, n)
}

func (as *answers) voided(n uint32) bool { return n > 0 && as.list[n-1].Voided() }

func (as *answers) anyVoided() bool {
	for _, a := range as.list {
		if a.Voided() {
			return true
		}
	}
	return false
}

// settleSpool settles in the spool the documents of voided answers, so
// that they are never sent; it returns how many. It runs before the
// spool's commit: a run killed after it repeats none of them.
func (as *answers) settleSpool(spool *output.Spool) int {
	if spool == nil || !as.anyVoided() {
		return 0
	}
	n := 0
	ids := make([]uint64, 0, 512)
	for i, num := range as.spool {
		if !as.voided(num) {
			continue
		}
		n++
		if ids = append(ids, as.spoolBase+uint64(i)); len(ids) == cap(ids) {
			spool.Ack(ids, output.Rejected)
			ids = ids[:0]
		}
	}
	spool.Ack(ids, output.Rejected)
	return n
}

// dropFromInbox drops from the inbox the documents of voided answers.
func (as *answers) dropFromInbox(inbox *output.Inbox) (int, error) {
	if inbox == nil || !as.anyVoided() {
		return 0, nil
	}
	return inbox.Drop(func(line int) bool { return line < len(as.inbox) && as.voided(as.inbox[line]) })
}

// keepHeld returns the held items whose answers hold.
func (as *answers) keepHeld(items []output.Item) []output.Item {
	if !as.anyVoided() {
		return items
	}
	kept := items[:0]
	for i, it := range items {
		if i < len(as.held) && as.voided(as.held[i]) {
			continue
		}
		kept = append(kept, it)
	}
	return kept
}
