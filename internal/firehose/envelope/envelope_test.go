package envelope

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/rivulet/rivulet/internal/firehose/model"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/store"
)

const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

func ring(t testing.TB, enabled bool) *kms.Ring {
	r, err := kms.New([]kms.FileKey{{ID: keyID, Material: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, kms.KeySize)), Enabled: &enabled}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func stream(t testing.TB, r *kms.Ring) (*model.DeliveryStream, uint32) {
	ds := &model.DeliveryStream{Account: "123456789012", Region: "us-east-1", Name: "s", ID: "abc"}
	master, err := r.Get(context.Background(), keyID, ds.Region, ds.Account)
	if err != nil {
		t.Fatal(err)
	}
	return ds, NewDataKey(ds, master, time.Now())
}

func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	r := ring(t, true)
	ds, idx := stream(t, r)
	if idx != 1 || len(ds.DataKeys) != 1 || bytes.Contains(ds.DataKeys[0].Wrapped, []byte("secret")) {
		t.Fatalf("index %d, keys %+v", idx, ds.DataKeys)
	}
	entries := []store.Entry{{Data: []byte("secret-a")}, {Data: []byte{}}, {Data: []byte("secret-c")}}
	keys := New(r)
	if err := keys.Seal(ctx, ds, idx, entries); err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if e.Key != idx || bytes.Contains(e.Data, []byte("secret")) || len(e.Data) < kms.SealOverhead {
			t.Fatalf("entry %d not sealed: %+v", i, e)
		}
	}
	if err := keys.Seal(ctx, ds, idx, entries[:1]); err == nil {
		t.Fatal("sealed an entry twice")
	}

	// A new process, whose copy of the stream predates the key, reloads.
	stale := *ds
	stale.DataKeys = nil
	fresh := New(r)
	reloads := 0
	reload := func(context.Context) (*model.DeliveryStream, error) { reloads++; return ds, nil }
	var got []string
	for _, e := range entries {
		if err := fresh.Open(ctx, &stale, &e, reload); err != nil {
			t.Fatal(err)
		}
		got = append(got, string(e.Data))
	}
	if got[0] != "secret-a" || got[1] != "" || got[2] != "secret-c" || reloads != 1 {
		t.Fatalf("opened %q with %d reloads", got, reloads)
	}
	clear := store.Entry{Data: []byte("clear")}
	if err := fresh.Open(ctx, &stale, &clear, nil); err != nil || string(clear.Data) != "clear" {
		t.Fatalf("entry in the clear: %q %v", clear.Data, err)
	}

	// No data key, no ring, a disabled master key, another stream.
	e := entries[0]
	if err := New(r).Open(ctx, &stale, &e, nil); !errors.Is(err, kms.ErrNotFound) {
		t.Fatalf("missing data key: %v", err)
	}
	if err := New(nil).Open(ctx, ds, &e, nil); !errors.Is(err, ErrNoRing) {
		t.Fatalf("no ring: %v", err)
	}
	if err := New(ring(t, false)).Open(ctx, ds, &e, nil); !errors.Is(err, kms.ErrDisabled) {
		t.Fatalf("disabled key: %v", err)
	}
	if err := New(ring(t, false)).Seal(ctx, ds, idx, []store.Entry{{Data: []byte("x")}}); !errors.Is(err, kms.ErrDisabled) {
		t.Fatalf("seal with a disabled key: %v", err)
	}
	moved := *ds
	moved.ID = "other"
	if err := New(r).Open(ctx, &moved, &e, nil); !errors.Is(err, kms.ErrInvalidCiphertext) {
		t.Fatalf("data key moved to another stream: %v", err)
	}
	if e.Key != idx || bytes.Contains(e.Data, []byte("secret")) {
		t.Fatal("a failed open changed the entry")
	}
}

// FuzzOpen: Open reads stored bytes; it must refuse what was not sealed
// for it, never panic.
func FuzzOpen(f *testing.F) {
	r := ring(f, true)
	ds, idx := stream(f, r)
	keys := New(r)
	sealed := []store.Entry{{Data: []byte("hello")}}
	if err := keys.Seal(context.Background(), ds, idx, sealed); err != nil {
		f.Fatal(err)
	}
	f.Add(sealed[0].Data, uint32(1))
	f.Add([]byte{}, uint32(1))
	f.Add([]byte("x"), uint32(2))
	f.Fuzz(func(t *testing.T, data []byte, key uint32) {
		e := store.Entry{Data: data, Key: key}
		err := keys.Open(context.Background(), ds, &e, nil)
		switch {
		case key == 0:
			if err != nil || !bytes.Equal(e.Data, data) {
				t.Fatalf("entry in the clear: %v", err)
			}
		case key != idx:
			if !errors.Is(err, kms.ErrNotFound) {
				t.Fatalf("unknown data key %d: %v", key, err)
			}
		case err != nil && !errors.Is(err, ErrDamaged):
			t.Fatalf("error kind: %v", err)
		case err == nil && !bytes.Equal(data, sealed[0].Data):
			t.Fatalf("opened bytes it did not seal: %x", data)
		}
	})
}
