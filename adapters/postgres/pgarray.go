package postgres

// The array parameters of the commit statement, in PostgreSQL's binary
// format.

import (
	"encoding/binary"
	"sync"
)

// PostgreSQL type oids of array elements.
const (
	oidBool  = 16
	oidBytea = 17
	oidInt8  = 20
	oidInt4  = 23
	oidText  = 25
)

// commitArrays are the array parameters of commitSQL.
type commitArrays [21]pgArray

var arrayPool = sync.Pool{New: func() any { return new(commitArrays) }}

// pgArray builds a one-dimensional array in PostgreSQL's binary format (as
// array_recv reads it). The store's connections send []byte parameters in
// binary (lib/pq's binary_parameters), so arrays of encoded rows reach
// PostgreSQL without the text format's quoting and hex escaping, and
// PostgreSQL copies their elements as they are.
type pgArray struct {
	b []byte
	n uint32
}

const pgArrayHeader = 20 // ndim, flags, element oid, length, lower bound

// start empties the array, keeping its buffer if it has room for size
// bytes of elements.
func (a *pgArray) start(oid uint32, size int) {
	if cap(a.b) < pgArrayHeader+size || cap(a.b) > 4*(pgArrayHeader+size)+1<<16 {
		a.b = make([]byte, pgArrayHeader, pgArrayHeader+size)
	}
	a.b = a.b[:pgArrayHeader]
	clear(a.b)
	binary.BigEndian.PutUint32(a.b[8:], oid)
	a.n = 0
}

func (a *pgArray) elem(p []byte) {
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(len(p)))
	a.b = append(a.b, p...)
	a.n++
}

func (a *pgArray) str(s string) {
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(len(s)))
	a.b = append(a.b, s...)
	a.n++
}

func (a *pgArray) int8(v int64) {
	a.b = binary.BigEndian.AppendUint32(a.b, 8)
	a.b = binary.BigEndian.AppendUint64(a.b, uint64(v))
	a.n++
}

func (a *pgArray) int4(v int32) {
	a.b = binary.BigEndian.AppendUint32(a.b, 4)
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(v))
	a.n++
}

func (a *pgArray) bool(v bool) {
	a.b = binary.BigEndian.AppendUint32(a.b, 1)
	if v {
		a.b = append(a.b, 1)
	} else {
		a.b = append(a.b, 0)
	}
	a.n++
}

// bytes returns the array; an empty one has no dimension.
func (a *pgArray) bytes() []byte {
	if a.n == 0 {
		return a.b[:12]
	}
	binary.BigEndian.PutUint32(a.b[0:], 1)
	binary.BigEndian.PutUint32(a.b[12:], a.n)
	binary.BigEndian.PutUint32(a.b[16:], 1)
	return a.b
}
