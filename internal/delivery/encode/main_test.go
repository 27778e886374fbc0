package encode

import (
	"testing"

	"go.uber.org/goleak"
)

// The Parquet writer and the Arrow reader must leave no goroutines behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
