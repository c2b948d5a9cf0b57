package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
)

// RepoRoot is the directory holding go.mod, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// PinHarness keeps the last CPU for the relay under test and pins this
// process to the others, so the load generator does not take the relay's
// CPU time, and sets GOMAXPROCS to match. It returns the relay's pinning
// and the harness's taskset CPU list (for processes it starts).
func PinHarness() (relay Pinning, harnessCPUs string, err error) {
	n := runtime.NumCPU()
	if n < 2 {
		return Pinning{}, "", fmt.Errorf("-pin needs at least 2 CPUs, there are %d; run with -pin=false", n)
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return Pinning{}, "", fmt.Errorf("-pin needs taskset (util-linux): %w", err)
	}
	relay = Pinning{CPUs: strconv.Itoa(n - 1), Procs: 1}
	harnessCPUs = "0"
	if n > 2 {
		harnessCPUs = fmt.Sprintf("0-%d", n-2)
	}
	// --all-tasks: every thread of this process; threads made later
	// inherit it.
	out, err := exec.Command("taskset", "--all-tasks", "--pid", "--cpu-list", harnessCPUs, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return Pinning{}, "", fmt.Errorf("failed to pin the harness: %v: %s", err, out)
	}
	runtime.GOMAXPROCS(n - 1)
	return relay, harnessCPUs, nil
}

// ScaninBinary is the scanin binary to measure: bin made absolute, or,
// when bin is empty, cmd/scanin of the repository at root built into dir.
func ScaninBinary(root, bin, dir string) (string, error) {
	if bin != "" {
		return filepath.Abs(bin)
	}
	bin = filepath.Join(dir, "scanin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/scanin")
	build.Dir, build.Stderr = root, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("failed to build cmd/scanin: %w", err)
	}
	return bin, nil
}

// RaiseFileLimit lifts this process's open-files limit to its hard maximum,
// for the sockets of many concurrent handoffs or waiting receivers, here
// and in the relays it starts (which inherit the limit). It returns the new
// limit.
func RaiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("failed to raise the open-files limit: %w", err)
	}
	return l.Cur, nil
}
