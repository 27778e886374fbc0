package auth

import "sync/atomic"

// Live is a Keyring that can be replaced while requests are verified with
// it: every process on one NATS follows the credentials stored there.
type Live struct{ k atomic.Pointer[Keyring] }

// NewLive starts with k.
func NewLive(k *Keyring) *Live {
	l := &Live{}
	l.k.Store(k)
	return l
}

// Lookup implements sigv4.Keys with the current keyring.
func (l *Live) Lookup(accessKeyID string) (*Principal, bool) { return l.k.Load().Lookup(accessKeyID) }

// Store replaces the keyring.
func (l *Live) Store(k *Keyring) { l.k.Store(k) }

// Load is the current keyring.
func (l *Live) Load() *Keyring { return l.k.Load() }
