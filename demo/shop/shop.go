// Package shop is the demo shop: a login page that embeds the scanin widget
// with one script tag, keeps the token where the visitor chose (cookie,
// localStorage or sessionStorage) and shows who is signed in. It stands for
// an integrator's website and has no backend logic of its own: the whole
// login happens in the browser, which is the point of the demo.
package shop

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
)

//go:embed static
var static embed.FS

//go:embed index.html
var indexHTML string

var storageTypes = []string{"localStorage", "sessionStorage", "cookie"}

// Handler serves the shop. relayURL is the relay's base URL, where the
// shop's page loads embed.js from.
func Handler(relayURL string, logger *slog.Logger) http.Handler {
	page := template.Must(template.New("index").Parse(indexHTML))
	assets, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		storage := r.URL.Query().Get("storage")
		if !validStorage(storage) {
			storage = storageTypes[0]
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		err := page.Execute(w, map[string]any{
			"Relay":        relayURL,
			"Storage":      storage,
			"StorageTypes": storageTypes,
		})
		if err != nil {
			logger.Error("failed to render the shop page", "err", err)
		}
	})
	return mux
}

func validStorage(s string) bool {
	for _, t := range storageTypes {
		if s == t {
			return true
		}
	}
	return false
}
