package delivery

import (
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/batch"
)

// tapLimit bounds the bytes a buffer's tap holds for a reader that falls
// behind; past it the tap drops what it holds and the reader reads from
// the log instead.
const tapLimit = 64 << 20

// tapQueue holds the messages this process appended to a DirectPut
// buffer log, handed over by the store as they were acknowledged
// (store.Tapper), so that the reader keeping up with the writers takes
// them from memory instead of reading the log back. Anything missing
// (appends by other processes, a dropped overflow, a restart) is read from
// the log: the reader takes from the tap only the message it needs next.
type tapQueue struct {
	mu    sync.Mutex
	msgs  []tapMsg
	bytes int
}

type tapMsg struct {
	seq  uint64
	at   time.Time
	data []byte
}

func (q *tapQueue) push(seq uint64, at time.Time, data []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.bytes+len(data) > tapLimit {
		q.msgs, q.bytes = nil, 0
	}
	q.msgs = append(q.msgs, tapMsg{seq, at, data})
	q.bytes += len(data)
}

// take returns the run of consecutive messages starting at seq, dropping
// older ones, or nil when the tap does not hold seq. A message that does
// not decode ends the run; the log has it too.
func (q *tapQueue) take(seq uint64, maxBytes int) []store.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := 0
	for i < len(q.msgs) && q.msgs[i].seq < seq {
		q.bytes -= len(q.msgs[i].data)
		i++
	}
	var out []store.Message
	n := 0
	for ; i < len(q.msgs) && q.msgs[i].seq == seq && n < maxBytes; i++ {
		m := q.msgs[i]
		entries, err := batch.Decode(m.data)
		if err != nil {
			break
		}
		out = append(out, store.Message{Seq: m.seq, Time: m.at, Entries: entries})
		q.bytes -= len(m.data)
		n += len(m.data)
		seq++
	}
	q.msgs = q.msgs[i:]
	if len(q.msgs) == 0 {
		q.msgs = nil // let the backing array go
	}
	return out
}
