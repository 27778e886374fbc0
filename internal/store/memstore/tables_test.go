package memstore

import (
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestTablesContract(t *testing.T) {
	storetest.RunTables(t, func(*testing.T) store.Tables { return NewTables() })
}
