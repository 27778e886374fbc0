//go:build !linux

package bench

import (
	"testing"
	"time"
)

// dirWatch is inotify's, on Linux only; elsewhere the tally scans.
type dirWatch struct{}

func newDirWatch(*testing.B, string) *dirWatch { return nil }

func (*dirWatch) drain() error { return nil }

func (*dirWatch) apply(*tally, time.Duration) error { return nil }
