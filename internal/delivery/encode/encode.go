// Package encode turns a batch of records into an object's bytes: record
// format conversion (JSON to Parquet) and compression (GZIP, ZIP, Snappy,
// HADOOP_SNAPPY).
package encode

import "errors"

// Compression formats.
const (
	Uncompressed = "UNCOMPRESSED"
	GZIP         = "GZIP"
	ZIP          = "ZIP"
	Snappy       = "Snappy"
	HadoopSnappy = "HADOOP_SNAPPY"
)

// Compress compresses data; name is the entry's name inside a ZIP.
func Compress(format string, data []byte, name string) ([]byte, error) {
	return nil, errors.New("encode: not implemented")
}

// Extension is the file extension AWS gives a compression format
// (".gz", ".zip", ".snappy", ...), "" for UNCOMPRESSED.
func Extension(format string) string { return "" }
