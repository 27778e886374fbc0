// Package encode turns a batch of records into an object's bytes: record
// format conversion (JSON to Parquet) and compression (GZIP, ZIP, Snappy,
// HADOOP_SNAPPY, and ZSTD for Kinesis channels).
package encode

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression formats.
const (
	Uncompressed = "UNCOMPRESSED"
	GZIP         = "GZIP"
	ZIP          = "ZIP"
	Snappy       = "Snappy"
	HadoopSnappy = "HADOOP_SNAPPY"
	// ZSTD is not a Firehose CompressionFormat: only Kinesis channels
	// (S3 CompressionType ZSTD) ask for it.
	ZSTD = "ZSTD"
)

// Level is the deflate level of GZIP and ZIP: the fastest. Firehose does
// not document its own; at level 1 compressing keeps up with ingest on
// one core, where the default level took most of the engine's CPU
// (docs/BENCHMARKS.md).
const Level = flate.BestSpeed

// zstdEncoder is shared: EncodeAll is safe for concurrent use, and with
// no writer attached the encoder starts no goroutines.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(1))
})

// Compress compresses data; name is the entry's name inside a ZIP.
func Compress(format string, data []byte, name string) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case "", Uncompressed:
		return data, nil
	case GZIP:
		buf.Grow(len(data) / 2)
		w, err := gzip.NewWriterLevel(&buf, Level)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case ZIP:
		if name == "" {
			name = "data"
		}
		zw := zip.NewWriter(&buf)
		// klauspost's deflate, as for GZIP: the standard library's was
		// the delivery engine's bottleneck (docs/BENCHMARKS.md).
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(w, Level)
		})
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Now().UTC()})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	case Snappy:
		// The Snappy framing format: stream identifier, then CRC'd chunks.
		if len(data) == 0 {
			// The writer emits the identifier only with the first chunk.
			return []byte(snappyStreamID), nil
		}
		w := snappy.NewBufferedWriter(&buf)
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case HadoopSnappy:
		hadoopSnappy(&buf, data)
	case ZSTD:
		// One frame with its content size and checksum, which the zstd
		// tool and every conforming decoder read.
		enc, err := zstdEncoder()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(data, make([]byte, 0, len(data)/4+64)), nil
	default:
		return nil, fmt.Errorf("encode: unknown compression format %q", format)
	}
	return buf.Bytes(), nil
}

const snappyStreamID = "\xff\x06\x00\x00sNaPpY"

// hadoopBlock is the input per block of Hadoop's SnappyCodec: its 256 KiB
// buffer less the compression overhead it reserves (size/6 + 32).
const hadoopBlock = 256<<10 - (256<<10/6 + 32)

// hadoopSnappy writes Hadoop's BlockCompressorStream layout: per block, the
// big-endian uncompressed length, then one big-endian length-prefixed raw
// snappy chunk.
func hadoopSnappy(buf *bytes.Buffer, data []byte) {
	var n [4]byte
	if len(data) == 0 {
		// Hadoop's finish() still writes an empty block's length.
		buf.Write(n[:])
		return
	}
	for len(data) > 0 {
		block := data[:min(len(data), hadoopBlock)]
		data = data[len(block):]
		binary.BigEndian.PutUint32(n[:], uint32(len(block)))
		buf.Write(n[:])
		c := snappy.Encode(nil, block)
		binary.BigEndian.PutUint32(n[:], uint32(len(c)))
		buf.Write(n[:])
		buf.Write(c)
	}
}

// Extension is the file extension AWS gives a compression format
// (".gz", ".zip", ".snappy", ...), "" for UNCOMPRESSED. ZSTD's ".zst" is
// the zstd tool's own suffix; AWS's docs name no other.
func Extension(format string) string {
	switch format {
	case GZIP:
		return ".gz"
	case ZIP:
		return ".zip"
	case Snappy:
		return ".snappy"
	case HadoopSnappy:
		return ".hsnappy"
	case ZSTD:
		return ".zst"
	}
	return ""
}
