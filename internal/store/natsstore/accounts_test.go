package natsstore

import (
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestAccountsContractEmbeddedFile(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) store.Accounts { return mustOpen(t, Config{DataDir: t.TempDir()}) })
}
