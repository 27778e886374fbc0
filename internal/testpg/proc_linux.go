package testpg

import (
	"os/exec"
	"syscall"
)

// prepare runs cmd as uid/gid when they are set (PostgreSQL refuses to run
// as root) and ends it with the test binary, even on a crash: SIGQUIT is
// the postmaster's immediate shutdown, which also ends its children.
func prepare(cmd *exec.Cmd, owner *account, server bool) {
	attr := &syscall.SysProcAttr{}
	if owner != nil {
		attr.Credential = &syscall.Credential{Uid: owner.uid, Gid: owner.gid}
	}
	if server {
		attr.Pdeathsig = syscall.SIGQUIT
	}
	cmd.SysProcAttr = attr
}
