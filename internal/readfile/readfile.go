// Package readfile reads the small files settings name (credentials, fault
// rules, the config file), refusing one far larger than such a file can
// be, so a wrong path (a data file, a device) is not read whole.
package readfile

import (
	"fmt"
	"io"
	"os"
)

// Limited reads path if it holds at most max bytes.
func Limited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return data, nil
}
