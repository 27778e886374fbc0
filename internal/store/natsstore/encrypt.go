package natsstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// Store ciphers for Config.StoreCipher.
const (
	CipherAES    = "aes"
	CipherChaCha = "chacha"
)

// streamsDir is where the embedded server keeps the global account's
// streams, one directory each.
func streamsDir(storeDir string) string {
	return filepath.Join(storeDir, server.JetStreamStoreDir, server.DEFAULT_GLOBAL_ACCOUNT, "streams")
}

// storeEncryption sets JetStream's store encryption from cfg, and refuses
// a key-less start on a directory written with one: nats-server would
// skip every stream it cannot read and Rivulet would begin anew beside
// them.
func storeEncryption(cfg Config, dir string, opts *server.Options) error {
	if cfg.StoreKey == "" {
		if cfg.InMemory {
			return nil
		}
		keyed, err := hasStoreKey(dir)
		if err != nil {
			return err
		}
		if keyed {
			return errors.New("natsstore: the data directory is encrypted (JetStream store encryption); start with its key (--nats-store-key)")
		}
		return nil
	}
	if cfg.InMemory {
		return errors.New("natsstore: a store key encrypts files; there are none in memory")
	}
	opts.JetStreamKey = cfg.StoreKey
	switch cfg.StoreCipher {
	case "", CipherAES:
		opts.JetStreamCipher = server.AES
	case CipherChaCha:
		opts.JetStreamCipher = server.ChaCha
	default:
		return fmt.Errorf("natsstore: store cipher %q is not one of aes, chacha", cfg.StoreCipher)
	}
	return nil
}

// hasStoreKey reports whether any stream in the directory was written
// encrypted: such a stream has a key file beside its metadata.
func hasStoreKey(dir string) (bool, error) {
	ents, err := os.ReadDir(streamsDir(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("natsstore: %w", err)
	}
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(streamsDir(dir), e.Name(), server.JetStreamMetaFileKey)); err == nil {
			return true, nil
		}
	}
	return false, nil
}

// checkLoaded fails when the metadata bucket is on disk but the server did
// not load it: it could not decrypt it, so the key is not the one the
// directory was written with.
func (s *Store) checkLoaded(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(streamsDir(dir), metaStreamName)); err != nil {
		return nil // a new directory
	}
	_, err := s.js.Stream(ctx, metaStreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return errors.New("natsstore: the data directory holds streams the server could not read: is --nats-store-key the key it was written with?")
	}
	if err != nil {
		return fmt.Errorf("natsstore: meta bucket: %w", err)
	}
	return nil
}
