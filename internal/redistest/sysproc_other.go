//go:build !linux

package redistest

import "syscall"

// sysProcAttr is the default elsewhere: Stop, Kill and the test's cleanup
// end the server.
func sysProcAttr() *syscall.SysProcAttr { return nil }
