package consumer

import (
	"os/exec"
	"syscall"
)

// killWithParent ends dynalite with the test binary, even when a test
// exits the process early.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
