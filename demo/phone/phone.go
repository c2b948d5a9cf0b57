// Package phone is the demo phone page, served by the demo relay at /phone:
// it plays the integrator's mobile app (a demo user already signed in), with
// a scanner, the mandatory confirmation screen, and Sign in / Decline. Its logic
// is the mobile SDK compiled to WebAssembly (see ./wasm), built by build.sh
// into dist/phone.wasm.gz.
package phone

import (
	"bytes"
	"compress/gzip"
	"embed"
	"html"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	wasmexec "github.com/scanin/scanin/wasm_exec"
)

//go:embed static all:dist
var files embed.FS

// Handler serves the phone page at prefix (e.g. "/phone") and its files
// below it.
func Handler(prefix string) http.Handler { return HandlerWithShop(prefix, "") }

// HandlerWithShop is Handler for a phone page that also plays the app's
// side of the shop's backend mode: it registers its device key with the
// shop at shopURL (its backend in the demo) and lists the browsers it
// signed in there. An empty shopURL leaves that part out.
func HandlerWithShop(prefix, shopURL string) http.Handler {
	staticFS, _ := fs.Sub(files, "static")
	distFS, _ := fs.Sub(files, "dist")
	mux := http.NewServeMux()
	serveFile := func(pattern string, fsys fs.FS, name, contentType string) {
		mux.HandleFunc("GET "+prefix+pattern, func(w http.ResponseWriter, r *http.Request) {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				http.Error(w, name+" is not built: run ./build.sh", http.StatusNotFound)
				return
			}
			if name == "phone.html" {
				b = bytes.ReplaceAll(b, []byte("{{shop}}"), []byte(html.EscapeString(shopURL)))
			}
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
		})
	}
	serveFile("", staticFS, "phone.html", "text/html; charset=utf-8")
	serveFile("/phone.js", staticFS, "phone.js", "text/javascript; charset=utf-8")
	serveFile("/phone.css", staticFS, "phone.css", "text/css; charset=utf-8")
	mux.HandleFunc("GET "+prefix+"/phone.wasm", func(w http.ResponseWriter, r *http.Request) {
		// The SDK with net/http and a QR decoder is about 12 MB, 3 MB
		// gzipped; only the gzip copy is embedded, so that every scanin
		// binary does not carry the demo twice.
		gz, err := distFS.Open("phone.wasm.gz")
		if err != nil {
			http.Error(w, "phone.wasm is not built: run ./build.sh", http.StatusNotFound)
			return
		}
		defer gz.Close()
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			io.Copy(w, gz)
			return
		}
		raw, err := gzip.NewReader(gz)
		if err != nil {
			http.Error(w, "phone.wasm.gz is damaged: run ./build.sh", http.StatusInternalServerError)
			return
		}
		io.Copy(w, raw)
	})
	mux.HandleFunc("GET "+prefix+"/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeContent(w, r, "wasm_exec.js", time.Time{}, bytes.NewReader(wasmexec.JS()))
	})
	return mux
}
