package login

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode"
	"unicode/utf8"
)

// utmpRecordSize is glibc's struct utmp on Linux (x86_64, aarch64, ppc64le):
// the layout of /var/run/utmp and /var/log/wtmp.
const utmpRecordSize = 384

// utmp record types (utmp.h). Only USER_PROCESS records are sessions.
const (
	utRunLevel    = 1
	utBootTime    = 2
	utLoginProc   = 6
	utUserProcess = 7
	utDeadProcess = 8
)

// LoginRecord is one utmp or wtmp record.
type LoginRecord struct {
	Type int16
	PID  int32
	Line string // the terminal, "pts/3"
	User string
	Host string // "192.0.2.7", ":0", "tmux(25724).%2", or "" for a console
	Time time.Time
}

// ParseUtmpRecord decodes one record of utmpRecordSize bytes:
//
//	0 ut_type int16, 4 ut_pid int32, 8 ut_line[32], 40 ut_id[4],
//	44 ut_user[32], 76 ut_host[256], 332 ut_exit, 336 ut_session,
//	340 ut_tv {int32 sec, int32 usec}, 348 ut_addr_v6[4], 364 unused[20]
func ParseUtmpRecord(b []byte) LoginRecord {
	le := binary.LittleEndian
	return LoginRecord{
		Type: int16(le.Uint16(b[0:])),
		PID:  int32(le.Uint32(b[4:])),
		Line: cString(b[8:40]),
		User: cString(b[44:76]),
		Host: cString(b[76:332]),
		Time: time.Unix(int64(int32(le.Uint32(b[340:]))), int64(int32(le.Uint32(b[344:])))*1000),
	}
}

// cString is a fixed-size, NUL-padded field; a full field has no NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// errTruncatedRecord marks a file whose size is not a whole number of
// records: a record being written, or a damaged file.
var errTruncatedRecord = errors.New("truncated last record")

// ScanUtmp reads records from r, calling fn for each. It returns how many
// bytes of whole records it read; a trailing partial record is not passed
// to fn and is reported with errTruncatedRecord (the whole records before it
// still count).
func ScanUtmp(r io.Reader, fn func(LoginRecord) error) (int64, error) {
	br := bufio.NewReaderSize(r, 64*utmpRecordSize)
	var buf [utmpRecordSize]byte
	var n int64
	for {
		k, err := io.ReadFull(br, buf[:])
		switch {
		case err == io.EOF:
			return n, nil
		case err == io.ErrUnexpectedEOF:
			return n, fmt.Errorf("%w (%d of %d bytes)", errTruncatedRecord, k, utmpRecordSize)
		case err != nil:
			return n, err
		}
		n += utmpRecordSize
		if err := fn(ParseUtmpRecord(buf[:])); err != nil {
			return n, err
		}
	}
}

// validUserName tells whether a name from utmp or logind is fit to report:
// not empty, valid UTF-8, no control characters or spaces. A record with
// anything else is damaged or forged.
func validUserName(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// isRemoteHost tells a session from another machine from a local one: a
// console (no host), an X display (":0"), a screen window (":pts/1:S.0")
// or a tmux pane ("tmux(25724).%2"). mosh writes "10.1.2.3 via mosh [12345]",
// which is remote.
func isRemoteHost(host string) bool {
	switch {
	case host == "", host[0] == ':':
		return false
	case len(host) >= 5 && host[:5] == "tmux(":
		return false
	}
	return true
}
