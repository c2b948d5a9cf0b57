//go:build !js

package edge_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestWasmDeps keeps encoding/json out of rules.wasm: it alone added about
// 0.5 MB (raw) to the Worker's upload and its start-up; the relay's bodies
// are written by protocol's AppendJSON methods and the apps read by
// JavaScript's JSON.parse instead.
func TestWasmDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./wasm: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps ./wasm listed only %d packages: %q", len(deps), deps)
	}
	for _, p := range deps {
		if p == "encoding/json" {
			t.Errorf("rules.wasm links encoding/json")
		}
	}
}
