// Package shop is the demo shop: a login page that embeds the scanin widget
// with one script tag and shows who is signed in. It stands for an
// integrator's website, in two modes the sign-in page switches between:
//
//   - token (the default): client-side session extension. The phone sends
//     the token it holds; embed.js keeps it where the visitor chose
//     (cookie, localStorage or sessionStorage); the whole login happens in
//     the browser and the shop's server does nothing.
//   - backend: server-side mode (docs/server-side.md). The demo phone page
//     registers its device key with the shop, then signs an assertion;
//     embed.js posts it to the shop's exchange endpoint, which verifies it
//     with package verify and sets the shop's own HttpOnly cookie. The
//     account page lists the user's phones and the browsers each signed
//     in, and signs out one browser or revokes one phone.
package shop

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
)

//go:embed static
var static embed.FS

//go:embed index.html
var indexHTML string

//go:embed account.html
var accountHTML string

// storageTypes are token mode's choices, the default first.
func storageTypes() []string { return []string{"localStorage", "sessionStorage", "cookie"} }

// Config is where the shop runs and whom it talks to.
type Config struct {
	// Relay is the relay's base URL, where the shop's page loads embed.js
	// from.
	Relay string
	// Origin is the shop's own origin as browsers reach it
	// ("http://localhost:8081"): backend mode accepts assertions addressed
	// to it only.
	Origin string
	// PhoneOrigin is the demo phone page's origin, the only other origin
	// the phone API answers (CORS).
	PhoneOrigin string
	// App is the app id the shop's widget uses on the relay.
	App string
}

// Handler serves the shop.
func Handler(cfg Config, logger *slog.Logger) (http.Handler, error) {
	if _, err := url.Parse(cfg.Relay); err != nil || cfg.Relay == "" {
		return nil, fmt.Errorf("the shop's relay URL %q: want the relay's base URL", cfg.Relay)
	}
	b, err := newBackend(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("the shop's backend mode: %w", err)
	}
	page := template.Must(template.New("index").Parse(indexHTML))
	account := template.Must(template.New("account").Parse(accountHTML))
	assets, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		storage := q.Get("storage")
		if !validStorage(storage) {
			storage = storageTypes()[0]
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		err := page.Execute(w, map[string]any{
			"Relay":        cfg.Relay,
			"App":          cfg.App,
			"Storage":      storage,
			"StorageTypes": storageTypes(),
			"Backend":      q.Get("mode") == "backend",
		})
		if err != nil {
			logger.Error("failed to render the shop page", "err", err)
		}
	})
	b.routes(mux, func(w http.ResponseWriter, _ *http.Request, data accountPage) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := account.Execute(w, data); err != nil {
			logger.Error("failed to render the account page", "err", err)
		}
	})
	return mux, nil
}

func validStorage(s string) bool {
	for _, t := range storageTypes() {
		if s == t {
			return true
		}
	}
	return false
}
