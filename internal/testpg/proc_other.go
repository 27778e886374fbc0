//go:build !linux

package testpg

import "os/exec"

func prepare(*exec.Cmd, *account, bool) {}
