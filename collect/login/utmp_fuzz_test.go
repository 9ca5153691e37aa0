package login

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atlas-af/afmc/internal/fixture"
)

// glibcUtmp is struct utmp of glibc on Linux (64-bit, with the 32-bit
// time fields of __WORDSIZE_TIME64_COMPAT32), as encoding/binary lays it
// out: the reference ParseUtmpRecord's hand-written offsets are checked
// against.
type glibcUtmp struct {
	Type    int16
	_       [2]byte
	PID     int32
	Line    [32]byte
	ID      [4]byte
	User    [32]byte
	Host    [256]byte
	Exit    [2]int16
	Session int32
	Sec     int32
	Usec    int32
	Addr    [4]int32
	Unused  [20]byte
}

func (u glibcUtmp) record() LoginRecord {
	str := func(b []byte) string { s, _, _ := strings.Cut(string(b), "\x00"); return s }
	return LoginRecord{Type: u.Type, PID: u.PID, Line: str(u.Line[:]), User: str(u.User[:]), Host: str(u.Host[:]),
		Time: time.Unix(int64(u.Sec), int64(u.Usec)*1000)}
}

// FuzzScanUtmp reads utmp and wtmp files: each whole record as
// encoding/binary decodes glibc's struct, a partial last record reported
// with errTruncatedRecord and not passed on, and the bytes read exactly
// those of the whole records.
func FuzzScanUtmp(f *testing.F) {
	utmp := filepath.Join(f.TempDir(), "utmp")
	fixture.Utmp(f, filepath.Join("..", "..", "testdata", "ssh", "utmp.txt"), utmp)
	b, err := os.ReadFile(utmp)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-100])
	f.Add(b[:utmpRecordSize])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []LoginRecord
		n, err := ScanUtmp(bytes.NewReader(b), func(r LoginRecord) error {
			got = append(got, r)
			return nil
		})
		whole := len(b) / utmpRecordSize
		if n != int64(whole*utmpRecordSize) {
			t.Fatalf("read %d bytes of %d, want %d", n, len(b), whole*utmpRecordSize)
		}
		if (len(b)%utmpRecordSize != 0) != errors.Is(err, errTruncatedRecord) || err != nil && !errors.Is(err, errTruncatedRecord) {
			t.Fatalf("%d bytes: error %v", len(b), err)
		}
		if len(got) != whole {
			t.Fatalf("%d records, want %d", len(got), whole)
		}
		for i := range whole {
			var u glibcUtmp
			if err := binary.Read(bytes.NewReader(b[i*utmpRecordSize:]), binary.LittleEndian, &u); err != nil {
				t.Fatal(err)
			}
			if want := u.record(); got[i] != want {
				t.Fatalf("record %d: got %+v, want %+v", i, got[i], want)
			}
		}
	})
}

// FuzzUtmpRoundTrip writes a record as glibc does and reads it back: a
// name that fills its field has no NUL and must come back whole.
func FuzzUtmpRoundTrip(f *testing.F) {
	f.Add(int16(utUserProcess), int32(4242), "pts/0", "brosser", "192.0.2.7", int32(1764061800), int32(123456))
	f.Add(int16(utUserProcess), int32(1), strings.Repeat("l", 32), strings.Repeat("u", 32), strings.Repeat("h", 256), int32(-1), int32(-1))
	f.Add(int16(utDeadProcess), int32(-5), "", "", "", int32(0), int32(0))
	f.Fuzz(func(t *testing.T, typ int16, pid int32, line, user, host string, sec, usec int32) {
		if len(line) > 32 || len(user) > 32 || len(host) > 256 || strings.Contains(line+user+host, "\x00") {
			return // not what a C string in the field can hold
		}
		u := glibcUtmp{Type: typ, PID: pid, Sec: sec, Usec: usec}
		copy(u.Line[:], line)
		copy(u.User[:], user)
		copy(u.Host[:], host)
		var buf bytes.Buffer
		if err := binary.Write(&buf, binary.LittleEndian, u); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != utmpRecordSize {
			t.Fatalf("struct utmp is %d bytes, want %d", buf.Len(), utmpRecordSize)
		}
		got := ParseUtmpRecord(buf.Bytes())
		want := LoginRecord{Type: typ, PID: pid, Line: line, User: user, Host: host, Time: time.Unix(int64(sec), int64(usec)*1000)}
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
}
