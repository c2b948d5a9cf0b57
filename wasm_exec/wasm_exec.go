// Package wasmexec embeds the Go toolchain's wasm_exec.js, the JavaScript
// glue that starts a Go WebAssembly module. build.sh copies it from
// $(go env GOROOT)/lib/wasm on every build, so it always matches the
// toolchain that compiled widget.wasm.
package wasmexec

import _ "embed"

//go:embed wasm_exec.js
var wasmExecJS []byte

// JS returns the contents of wasm_exec.js. The slice is shared: do not modify it.
func JS() []byte { return wasmExecJS }
