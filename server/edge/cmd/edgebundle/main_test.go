package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun writes the bundle for a config file's apps and checks what the
// Worker reads from it; a config file scanin relay refuses is refused.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "relay.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(config, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"apps": [{"id": "shop", "name": "Shop", "origins": ["https://shop.example"]}], "limits": {"default_ttl": 90}}`)
	out := filepath.Join(dir, "dist")
	if err := run(config, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "static.js"))
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, want := range []string{
		`"shop": "default-src 'self';`, "frame-ancestors https://shop.example",
		`\"id\":\"shop\"`, `\"ttl\":90`, `"/embed.js": {`, `"/link": {`, `"noApp": {`,
		`"Cache-Control": "public, max-age=31536000, immutable"`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("static.js lacks %s", want)
		}
	}
	if strings.Contains(js, `"demo": "default-src`) {
		t.Errorf("static.js has the demo app besides the config file's")
	}
	assets, _ := filepath.Glob(filepath.Join(out, "public", "assets", "*.js"))
	if len(assets) == 0 {
		t.Errorf("no assets in public/assets")
	}

	stale := filepath.Join(out, "public", "assets", "old.12345678.js")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run("", out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a previous build's file is left: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "static.js")); !strings.Contains(string(b), `"demo": "default-src`) {
		t.Errorf("without a config file, static.js lacks the demo app")
	}

	write(`{"apps": [{"id": "shop", "name": "Shop", "origins": ["https://shop.example/path"]}]}`)
	if err := run(config, out); err == nil || !strings.Contains(err.Error(), "apps[0].origins[0]") {
		t.Errorf("a bad origin: %v, want the error naming apps[0].origins[0]", err)
	}
}
