package memstore

import (
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestAccountsContract(t *testing.T) {
	storetest.RunAccounts(t, func(*testing.T) store.Accounts { return New(Config{}) })
}
