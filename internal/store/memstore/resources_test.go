package memstore

import (
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/storetest"
)

func TestResourcesContract(t *testing.T) {
	storetest.RunResources(t, func(*testing.T) store.Resources { return New(Config{}) })
}
