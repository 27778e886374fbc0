package testdynalite

import (
	"os/exec"
	"syscall"
)

// killWithParent ends dynalite with the test binary, even on a crash.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
