package wire

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"

	"github.com/google/uuid"
)

// HeaderID2 is AWS's second request id, spelt as AWS sends it.
const HeaderID2 = "x-amz-id-2"

// id2 bounds: AWS's x-amz-id-2 is standard base64 of 64 to 80 random bytes
// (for example the 96-character value in a Firehose capture quoted in
// sharethrough/flume-kinesis#11).
const (
	id2MinBytes = 64
	id2MaxBytes = 80
	id2MaxLen   = (id2MaxBytes + 2) / 3 * 4
)

// appendID2 appends a fresh x-amz-id-2 value to dst. The value is no
// secret, so it comes from math/rand/v2's global source: per-thread
// ChaCha8 in the runtime, with no lock and no allocation.
func appendID2(dst []byte) []byte {
	n := id2MinBytes + int(rand.Uint32N(id2MaxBytes-id2MinBytes+1))
	var raw [id2MaxBytes]byte
	for i := 0; i < id2MaxBytes; i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], rand.Uint64())
	}
	return base64.StdEncoding.AppendEncode(dst, raw[:n])
}

// AmzID2 returns a fresh x-amz-id-2 value.
func AmzID2() string {
	var buf [id2MaxLen]byte
	return string(appendID2(buf[:0]))
}

// SetAmzID2 sets a fresh x-amz-id-2 on a response's headers, for the
// APIs whose request ids are not UUIDs (DynamoDB's).
func SetAmzID2(hdr http.Header) {
	hdr[HeaderID2] = []string{AmzID2()}
}

// StampResponse sets x-amzn-RequestId, a random UUID, and x-amz-id-2 on a
// response's headers and returns the request id. Both values share one
// string and both header slices one array: two allocations per request.
func StampResponse(hdr http.Header) string {
	var buf [36 + id2MaxLen]byte
	u := uuid.New() // from the buffered crypto/rand pool
	b := buf[:36]
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	s := string(appendID2(b))
	vals := new([2]string)
	vals[0], vals[1] = s[:36], s[36:]
	hdr[headerRequestID] = vals[0:1:1]
	hdr[HeaderID2] = vals[1:2:2]
	return vals[0]
}
