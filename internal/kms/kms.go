// Package kms is Rivulet's local stand-in for AWS KMS: a ring of 256-bit
// master keys that wrap and unwrap data keys with AES-256-GCM. Keys come
// from a JSON file (--kms-keys), plus alias/aws/kinesis, whose material is
// made once and kept in the metadata store, so every process on one
// storage, and every restart, has the same one. docs/SECURITY.md describes
// the file and the design.
package kms

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/rivulet/rivulet/internal/store"
)

// DefaultAlias names the key AWS manages for Kinesis in every account.
const DefaultAlias = "alias/aws/kinesis"

// defaultValue is the metadata value that holds the default key.
const defaultValue = "kms.default"

// KeySize is the size of master and data keys: AES-256.
const KeySize = 32

// Error kinds; *Error carries the message.
var (
	// ErrNotFound: no such key or alias, or a key id of no known form.
	ErrNotFound = errors.New("kms: not found")
	// ErrDisabled: the key exists but is disabled.
	ErrDisabled = errors.New("kms: disabled")
	// ErrInvalidCiphertext: a wrapped key does not open with its master
	// key (the key's material changed, or the bytes were damaged).
	ErrInvalidCiphertext = errors.New("kms: invalid ciphertext")
)

// Error is a lookup or unwrap failure with a message for the client.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Kind.Error() + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Kind }

// Key is one master key.
type Key struct {
	ID      string
	Aliases []string
	Enabled bool
	aead    cipher.AEAD
}

// FileKey is one key as the key ring file states it.
type FileKey struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases,omitempty"`
	Material string   `json:"material"`          // base64 of 32 bytes
	Enabled  *bool    `json:"enabled,omitempty"` // absent means true
}

// File is the key ring file.
type File struct {
	Keys []FileKey `json:"keys"`
}

var (
	// A key id is a GUID (AWS's form) or a multi-Region key id.
	keyIDPattern = regexp.MustCompile(`^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$`)
	// AWS's alias name pattern, with its 256-character limit.
	aliasPattern = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)
)

// Load reads a key ring file; an empty path is a ring of no file keys.
func Load(path string) ([]FileKey, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// Parse reads a key ring file's contents and checks every key.
func Parse(b []byte) ([]FileKey, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt "enabled" must not pass silently
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	if dec.More() {
		return nil, errors.New("key ring: trailing data after the JSON object")
	}
	if _, err := build(f.Keys); err != nil {
		return nil, err
	}
	return f.Keys, nil
}

// build checks file keys and makes Keys of them.
func build(fks []FileKey) ([]*Key, error) {
	ids := map[string]bool{}
	aliases := map[string]bool{}
	out := make([]*Key, 0, len(fks))
	for i, fk := range fks {
		where := fmt.Sprintf("key ring: key %d", i+1)
		if !keyIDPattern.MatchString(fk.ID) {
			return nil, fmt.Errorf("%s: id %q is not a key id (a GUID such as 1234abcd-12ab-34cd-56ef-1234567890ab)", where, fk.ID)
		}
		if ids[fk.ID] {
			return nil, fmt.Errorf("%s: id %s appears twice", where, fk.ID)
		}
		ids[fk.ID] = true
		for _, a := range fk.Aliases {
			switch {
			case !aliasPattern.MatchString(a):
				return nil, fmt.Errorf("%s (%s): alias %q must be alias/ followed by 1-250 of [a-zA-Z0-9/_-]", where, fk.ID, a)
			case strings.HasPrefix(a, "alias/aws/"):
				return nil, fmt.Errorf("%s (%s): alias %q: names under alias/aws/ are reserved for AWS", where, fk.ID, a)
			case aliases[a]:
				return nil, fmt.Errorf("%s (%s): alias %q is taken", where, fk.ID, a)
			}
			aliases[a] = true
		}
		material, err := base64.StdEncoding.DecodeString(fk.Material)
		if err != nil || len(material) != KeySize {
			return nil, fmt.Errorf("%s (%s): material must be %d bytes in base64 (e.g. openssl rand -base64 32)", where, fk.ID, KeySize)
		}
		aead, err := newAEAD(material)
		if err != nil {
			return nil, err
		}
		out = append(out, &Key{ID: fk.ID, Aliases: fk.Aliases, Enabled: fk.Enabled == nil || *fk.Enabled, aead: aead})
	}
	return out, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Ring resolves key ids to master keys. It is safe for concurrent use.
type Ring struct {
	byID    map[string]*Key
	byAlias map[string]*Key
	meta    store.Meta

	mu  sync.Mutex
	def *Key // alias/aws/kinesis, once read or made
}

// New makes a ring of the file keys; meta keeps the default key.
func New(keys []FileKey, meta store.Meta) (*Ring, error) {
	built, err := build(keys)
	if err != nil {
		return nil, err
	}
	r := &Ring{byID: map[string]*Key{}, byAlias: map[string]*Key{}, meta: meta}
	for _, k := range built {
		r.byID[k.ID] = k
		for _, a := range k.Aliases {
			r.byAlias[a] = k
		}
	}
	return r, nil
}

// Resolve finds the master key a KeyId names: a key id, a key ARN
// (arn:aws:kms:REGION:ACCOUNT:key/ID), an alias ARN
// (arn:aws:kms:REGION:ACCOUNT:alias/NAME) or alias/NAME. The ARN's region
// and account are not checked: the ring is not scoped to either. region
// and account only shape messages.
func (r *Ring) Resolve(ctx context.Context, keyID, region, account string) (*Key, error) {
	name := keyID
	if strings.HasPrefix(keyID, "arn:") {
		parts := strings.SplitN(keyID, ":", 6)
		if len(parts) != 6 || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kms" {
			return nil, invalidID(keyID)
		}
		region, account, name = parts[3], parts[4], parts[5]
		if id, ok := strings.CutPrefix(name, "key/"); ok {
			name = id
		} else if !strings.HasPrefix(name, "alias/") {
			return nil, invalidID(keyID)
		}
	}
	if strings.HasPrefix(name, "alias/") {
		if name == DefaultAlias {
			return r.defaultKey(ctx)
		}
		if k := r.byAlias[name]; k != nil {
			return k, nil
		}
		// KMS's NotFoundException wording for an alias; how Kinesis
		// relays it is not documented.
		return nil, &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Alias arn:aws:kms:%s:%s:%s is not found.", region, account, name)}
	}
	if !keyIDPattern.MatchString(name) {
		return nil, invalidID(keyID)
	}
	return r.Get(ctx, name, region, account)
}

// Get finds a master key by its id, the default key's included.
func (r *Ring) Get(ctx context.Context, id, region, account string) (*Key, error) {
	if k := r.byID[id]; k != nil {
		return k, nil
	}
	def, err := r.defaultKey(ctx)
	if err != nil {
		return nil, err
	}
	if def.ID == id {
		return def, nil
	}
	// KMS's NotFoundException wording for a key; as above, Kinesis's own
	// is not documented.
	return nil, &Error{Kind: ErrNotFound, Message: fmt.Sprintf("Key 'arn:aws:kms:%s:%s:key/%s' does not exist", region, account, id)}
}

func invalidID(keyID string) error {
	// KMS answers a malformed key id with NotFoundException "Invalid keyId".
	return &Error{Kind: ErrNotFound, Message: "Invalid keyId " + keyID}
}

// Usable reports a disabled key as KMS does (DisabledException); region
// and account shape the message.
func (k *Key) Usable(region, account string) error {
	if k.Enabled {
		return nil
	}
	// KMS's wording; Kinesis's KMSDisabledException text is not documented.
	return &Error{Kind: ErrDisabled, Message: fmt.Sprintf("arn:aws:kms:%s:%s:key/%s is disabled.", region, account, k.ID)}
}

// storedKey is the default key as kept in the metadata store.
type storedKey struct {
	ID       string `json:"id"`
	Material []byte `json:"material"`
}

// defaultKey reads alias/aws/kinesis from the store, making it on first
// use; two processes racing here agree on the winner's.
func (r *Ring) defaultKey(ctx context.Context) (*Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.def != nil {
		return r.def, nil
	}
	if r.meta == nil {
		return nil, errors.New("kms: no store for the default key")
	}
	for attempt := 0; ; attempt++ {
		val, _, err := r.meta.GetValue(ctx, defaultValue)
		if errors.Is(err, store.ErrNotFound) && attempt < 3 {
			fresh := storedKey{ID: newGUID(), Material: make([]byte, KeySize)}
			_, _ = rand.Read(fresh.Material)
			b, _ := json.Marshal(fresh)
			if _, err = r.meta.PutValue(ctx, defaultValue, b, 0); err == nil || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
				continue // read back whichever process won
			}
		}
		if err != nil {
			return nil, fmt.Errorf("kms: default key: %w", err)
		}
		var sk storedKey
		if err := json.Unmarshal(val, &sk); err != nil || len(sk.Material) != KeySize || !keyIDPattern.MatchString(sk.ID) {
			return nil, fmt.Errorf("kms: stored default key %q is damaged", defaultValue)
		}
		aead, err := newAEAD(sk.Material)
		if err != nil {
			return nil, err
		}
		r.def = &Key{ID: sk.ID, Aliases: []string{DefaultAlias}, Enabled: true, aead: aead}
		return r.def, nil
	}
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// wrapContext binds a wrapped data key to its master key and to what the
// caller names (the stream), so it cannot be moved to another stream.
func wrapContext(keyID string, bind []byte) []byte {
	ad := make([]byte, 0, len("rivulet-data-key\x00")+len(keyID)+1+len(bind))
	ad = append(ad, "rivulet-data-key\x00"...)
	ad = append(ad, keyID...)
	ad = append(ad, 0)
	return append(ad, bind...)
}

// GenerateDataKey makes a random 256-bit data key and returns it with its
// wrapped form: a random 96-bit nonce followed by its AES-256-GCM sealing
// under the master key, with bind (the stream) as additional data.
func (k *Key) GenerateDataKey(bind []byte) (plain, wrapped []byte) {
	plain = make([]byte, KeySize)
	_, _ = rand.Read(plain)
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+KeySize+k.aead.Overhead())
	_, _ = rand.Read(nonce)
	return plain, k.aead.Seal(nonce, nonce, plain, wrapContext(k.ID, bind))
}

// Decrypt unwraps a data key made by GenerateDataKey with the same bind.
func (k *Key) Decrypt(wrapped, bind []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(wrapped) < ns+k.aead.Overhead() {
		return nil, &Error{Kind: ErrInvalidCiphertext, Message: "The wrapped data key is too short."}
	}
	plain, err := k.aead.Open(nil, wrapped[:ns], wrapped[ns:], wrapContext(k.ID, bind))
	if err != nil || len(plain) != KeySize {
		return nil, &Error{Kind: ErrInvalidCiphertext, Message: fmt.Sprintf("The data key does not open with master key %s: its material changed, or the stored key is damaged.", k.ID)}
	}
	return plain, nil
}
