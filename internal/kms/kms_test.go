package kms

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

var ctx = context.Background()

func material(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, KeySize))
}

const id1 = "1234abcd-12ab-34cd-56ef-1234567890ab"

func TestParse(t *testing.T) {
	good := `{"keys":[
		{"id":"` + id1 + `","aliases":["alias/orders","alias/a/b_c-d"],"material":"` + material(1) + `","enabled":true},
		{"id":"mrk-1234abcd12ab34cd56ef1234567890ab","material":"` + material(2) + `","enabled":false},
		{"id":"00000000-0000-0000-0000-000000000000","material":"` + material(3) + `"}]}`
	keys, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := New(keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	for id, enabled := range map[string]bool{id1: true, "mrk-1234abcd12ab34cd56ef1234567890ab": false, "00000000-0000-0000-0000-000000000000": true} {
		if k := ring.byID[id]; k == nil || k.Enabled != enabled {
			t.Fatalf("%s: %+v", id, k)
		}
	}

	bad := map[string]string{
		"not json":        `{`,
		"unknown field":   `{"keys":[{"id":"` + id1 + `","material":"` + material(1) + `","enabeld":false}]}`,
		"trailing":        `{"keys":[]} {}`,
		"bad id":          `{"keys":[{"id":"orders","material":"` + material(1) + `"}]}`,
		"duplicate id":    `{"keys":[{"id":"` + id1 + `","material":"` + material(1) + `"},{"id":"` + id1 + `","material":"` + material(2) + `"}]}`,
		"short material":  `{"keys":[{"id":"` + id1 + `","material":"` + base64.StdEncoding.EncodeToString([]byte("short")) + `"}]}`,
		"not base64":      `{"keys":[{"id":"` + id1 + `","material":"!!!"}]}`,
		"alias form":      `{"keys":[{"id":"` + id1 + `","aliases":["orders"],"material":"` + material(1) + `"}]}`,
		"alias reserved":  `{"keys":[{"id":"` + id1 + `","aliases":["alias/aws/kinesis"],"material":"` + material(1) + `"}]}`,
		"alias twice":     `{"keys":[{"id":"` + id1 + `","aliases":["alias/x","alias/x"],"material":"` + material(1) + `"}]}`,
		"alias too long":  `{"keys":[{"id":"` + id1 + `","aliases":["alias/` + strings.Repeat("a", 251) + `"],"material":"` + material(1) + `"}]}`,
		"alias bad chars": `{"keys":[{"id":"` + id1 + `","aliases":["alias/a b"],"material":"` + material(1) + `"}]}`,
	}
	for name, in := range bad {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLoad(t *testing.T) {
	if keys, err := Load(""); err != nil || keys != nil {
		t.Fatalf("no file: %v %v", keys, err)
	}
	p := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(p, []byte(`{"keys":[{"id":"`+id1+`","material":"`+material(1)+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := Load(p)
	if err != nil || len(keys) != 1 {
		t.Fatalf("%v %v", keys, err)
	}
	if _, err := Load(p + ".missing"); err == nil {
		t.Fatal("missing file accepted")
	}
	if err := os.WriteFile(p, []byte(`{"keys":[{"id":"x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("error does not name the file: %v", err)
	}
}

func newMeta(t *testing.T) store.Backend {
	t.Helper()
	be := memstore.New(memstore.Config{})
	t.Cleanup(func() { be.Close() })
	return be
}

func TestResolve(t *testing.T) {
	off := false
	ring, err := New([]FileKey{
		{ID: id1, Aliases: []string{"alias/orders"}, Material: material(1)},
		{ID: "mrk-1234abcd12ab34cd56ef1234567890ab", Aliases: []string{"alias/off"}, Material: material(2), Enabled: &off},
	}, newMeta(t))
	if err != nil {
		t.Fatal(err)
	}
	def, err := ring.Resolve(ctx, DefaultAlias, "us-east-1", "000000000000")
	if err != nil || !keyIDPattern.MatchString(def.ID) || !def.Enabled {
		t.Fatalf("default: %+v %v", def, err)
	}
	for _, id := range []string{id1, "alias/orders", "arn:aws:kms:us-east-1:111122223333:key/" + id1,
		"arn:aws-cn:kms:cn-north-1:111122223333:alias/orders"} {
		k, err := ring.Resolve(ctx, id, "r", "a")
		if err != nil || k.ID != id1 {
			t.Errorf("%s: %+v %v", id, k, err)
		}
	}
	for _, id := range []string{def.ID, "arn:aws:kms:eu-west-1:111122223333:alias/aws/kinesis", "arn:aws:kms:eu-west-1:111122223333:key/" + def.ID} {
		if k, err := ring.Resolve(ctx, id, "r", "a"); err != nil || k != def {
			t.Errorf("%s: %+v %v", id, k, err)
		}
	}
	k, err := ring.Resolve(ctx, "alias/off", "r", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Usable("eu-west-1", "111122223333"); !errors.Is(err, ErrDisabled) || err.(*Error).Message != "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab is disabled." {
		t.Fatalf("disabled key: %v", err)
	}
	for id, msg := range map[string]string{
		"alias/none":                           "Alias arn:aws:kms:r:a:alias/none is not found.",
		"alias/aws/other":                      "Alias arn:aws:kms:r:a:alias/aws/other is not found.",
		"99999999-2222-4333-8444-555555555555": "Key 'arn:aws:kms:r:a:key/99999999-2222-4333-8444-555555555555' does not exist",
		"arn:aws:kms:x:y:key/nope":             "Invalid keyId arn:aws:kms:x:y:key/nope",
		"arn:aws:kms:x:y:thing/" + id1:         "Invalid keyId arn:aws:kms:x:y:thing/" + id1,
		"arn:aws:kms:x:y":                      "Invalid keyId arn:aws:kms:x:y",
		"arn:aws:sqs:x:y:key/" + id1:           "Invalid keyId arn:aws:sqs:x:y:key/" + id1,
		"":                                     "Invalid keyId ",
		"arn:aws:kms:x:y:key/99999999-2222-4333-8444-555555555555": "Key 'arn:aws:kms:x:y:key/99999999-2222-4333-8444-555555555555' does not exist",
	} {
		_, err := ring.Resolve(ctx, id, "r", "a")
		var ke *Error
		if !errors.As(err, &ke) || !errors.Is(err, ErrNotFound) || ke.Message != msg {
			t.Errorf("%q: %v, want %q", id, err, msg)
		}
	}
}

// The default key is made once per storage: every ring on it, in any
// order and at once, gets the same one.
func TestDefaultKeyShared(t *testing.T) {
	meta := newMeta(t)
	var wg sync.WaitGroup
	keys := make([]*Key, 8)
	for i := range keys {
		wg.Go(func() {
			r, _ := New(nil, meta)
			k, err := r.Resolve(ctx, DefaultAlias, "r", "a")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k
		})
	}
	wg.Wait()
	plain, wrapped := keys[0].GenerateDataKey([]byte("stream/1"))
	for i, k := range keys {
		if k == nil || k.ID != keys[0].ID {
			t.Fatalf("ring %d: %+v", i, k)
		}
		got, err := k.Decrypt(wrapped, []byte("stream/1"))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("ring %d cannot unwrap: %v", i, err)
		}
	}
	// A damaged stored value is an error, not a new key.
	if _, err := meta.PutValue(ctx, defaultValue, []byte("{}"), 0); err == nil {
		t.Fatal("overwrote the default key")
	}
	other := newMeta(t)
	if _, err := other.PutValue(ctx, defaultValue, []byte(`{"id":"x"}`), 0); err != nil {
		t.Fatal(err)
	}
	r, _ := New(nil, other)
	if _, err := r.Resolve(ctx, DefaultAlias, "r", "a"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("damaged default key: %v", err)
	}
}

func TestWrap(t *testing.T) {
	ring, err := New([]FileKey{{ID: id1, Material: material(1)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := ring.byID[id1]
	plain, wrapped := k.GenerateDataKey([]byte("s/1"))
	if len(plain) != KeySize || len(wrapped) != 12+KeySize+16 || bytes.Contains(wrapped, plain) {
		t.Fatalf("plain %d bytes, wrapped %d bytes", len(plain), len(wrapped))
	}
	if got, err := k.Decrypt(wrapped, []byte("s/1")); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("unwrap: %v", err)
	}
	// Bound to the stream and index, and to the master key's material.
	if _, err := k.Decrypt(wrapped, []byte("s/2")); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatalf("other bind: %v", err)
	}
	other, _ := New([]FileKey{{ID: id1, Material: material(9)}}, nil)
	if _, err := other.byID[id1].Decrypt(wrapped, []byte("s/1")); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatalf("changed material: %v", err)
	}
	for _, w := range [][]byte{nil, wrapped[:20], append(bytes.Clone(wrapped[:len(wrapped)-1]), wrapped[len(wrapped)-1]^1)} {
		if _, err := k.Decrypt(w, []byte("s/1")); !errors.Is(err, ErrInvalidCiphertext) {
			t.Fatalf("damaged %x: %v", w, err)
		}
	}
	// Without a store there is no default key, and lookups say so.
	if _, err := ring.Resolve(ctx, DefaultAlias, "r", "a"); err == nil {
		t.Fatal("default key without a store")
	}
}
