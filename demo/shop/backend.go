package shop

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/mobile"
	"github.com/scanin/scanin/verify"
)

// The demo's one user: the demo phone page is signed in as her.
const (
	demoUserID   = "ada"
	demoUserName = "Ada Lovelace"
)

// userName is the name of the shop's user with this id.
func userName(id string) string {
	if id == demoUserID {
		return demoUserName
	}
	return id
}

// cookieName is the shop's own session cookie in backend mode.
const cookieName = "shop_session"

// sessionTTL is how long a browser stays signed in.
const sessionTTL = 12 * time.Hour

// backend is the shop's server side in backend mode: the devices its
// users registered, the browser sessions their assertions started, and the
// demo phone's own API. Everything is in memory: restarting the demo
// forgets it.
type backend struct {
	origin      string // the shop's origin, every assertion's aud
	phoneOrigin string // the demo phone page's origin (CORS)
	logger      *slog.Logger

	devices  *verify.MemoryDevices
	sessions *verify.MemorySessions
	exchange *verify.ExchangeHandler

	mu     sync.Mutex
	phones map[string]string // the phone app's API token -> device id
}

func newBackend(cfg Config, logger *slog.Logger) (*backend, error) {
	devices := verify.NewMemoryDevices()
	v, err := verify.New(verify.Config{Origin: cfg.Origin, App: cfg.App, Devices: devices})
	if err != nil {
		return nil, err
	}
	sessions := verify.NewMemorySessions(sessionTTL, nil)
	return &backend{
		origin:      cfg.Origin,
		phoneOrigin: cfg.PhoneOrigin,
		logger:      logger,
		devices:     devices,
		sessions:    sessions,
		exchange:    &verify.ExchangeHandler{Verifier: v, Sessions: sessions, CookieName: cookieName, MaxAge: sessionTTL, Logger: logger},
		phones:      map[string]string{},
	}, nil
}

// routes adds backend mode's endpoints to mux.
func (b *backend) routes(mux *http.ServeMux, account func(w http.ResponseWriter, r *http.Request, data accountPage)) {
	// The page's side.
	mux.HandleFunc("POST /api/exchange", b.serveExchange)
	mux.HandleFunc("GET /api/me", b.serveMe)
	mux.HandleFunc("POST /api/sign-out", b.serveSignOut)
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) { b.serveAccount(w, r, account) })
	mux.HandleFunc("POST /account/browsers/{handle}/sign-out", b.serveAccountSignOut)
	mux.HandleFunc("POST /account/phones/{id}/revoke", b.serveRevoke)
	// The phone app's side (the demo phone page, on the relay's origin).
	mux.HandleFunc("OPTIONS /phone-api/", b.servePreflight)
	mux.HandleFunc("POST /phone-api/register", b.serveRegister)
	mux.HandleFunc("GET /phone-api/browsers", b.servePhoneBrowsers)
	mux.HandleFunc("POST /phone-api/browsers/{handle}/sign-out", b.servePhoneSignOut)
}

// handle names a browser session in pages and URLs: the session id is the
// cookie's secret, so it is never shown.
func handle(s verify.BrowserSession) string {
	sum := sha256.Sum256([]byte(s.ID))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// friendly is what the page shows, in the shop's words, for a refusal a
// person can do something about; verify's own message stays in the log.
func friendly(code string) (string, bool) {
	switch verify.Code(code) {
	case verify.CodeRevoked:
		return "This phone was removed from your Demo Shop account, so it cannot sign you in any more. " +
			"Sign in with another phone, or register this one again in the Demo Shop app.", true
	case verify.CodeUnknownDevice:
		return "This phone is not registered with Demo Shop: in the Demo Shop app, tap " +
			"“Register this phone”, then scan a new code.", true
	case verify.CodeExpired:
		return "The phone's sign-in ran out before it arrived: scan a new code.", true
	case verify.CodeReplayed:
		return "This sign-in was used already: scan a new code.", true
	}
	return "", false
}

// recorder holds an answer so that serveExchange can reword it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// serveExchange is verify's ExchangeHandler, with its refusals reworded
// for the shop's visitors.
func (b *backend) serveExchange(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	b.exchange.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	if rec.status == http.StatusUnauthorized {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) == nil {
			if msg, ok := friendly(e.Error); ok {
				e.Message = msg
			} else {
				e.Message = "Demo Shop refused this sign-in (" + e.Error + "): " + e.Message
			}
			body, _ = json.Marshal(e)
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.status)
	w.Write(body)
}

// signedIn is who the request's cookie names, and the phone that signed
// the browser in. A session that was signed out, or whose phone was
// revoked, is gone: the cookie is cleared.
func (b *backend) signedIn(w http.ResponseWriter, r *http.Request) (verify.BrowserSession, verify.Device, bool) {
	s, err := b.exchange.Session(r)
	if err != nil {
		if _, cerr := r.Cookie(cookieName); cerr == nil {
			clearCookie(w)
		}
		return verify.BrowserSession{}, verify.Device{}, false
	}
	d, err := b.devices.Lookup(r.Context(), s.Device)
	if err != nil || d.Revoked {
		_ = b.sessions.Revoke(r.Context(), s.ID)
		clearCookie(w)
		return verify.BrowserSession{}, verify.Device{}, false
	}
	return s, d, true
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// meAnswer is GET /api/me's answer.
type meAnswer struct {
	User   string `json:"user"`
	Name   string `json:"name"`
	Device struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"device"`
}

func (b *backend) serveMe(w http.ResponseWriter, r *http.Request) {
	s, d, ok := b.signedIn(w, r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "signed_out", "message": "this browser is not signed in"})
		return
	}
	var a meAnswer
	a.User, a.Name = s.User, userName(s.User)
	a.Device.Name, a.Device.Type = d.Name, d.Type
	writeJSON(w, http.StatusOK, a)
}

func (b *backend) serveSignOut(w http.ResponseWriter, r *http.Request) {
	if !b.sameOrigin(w, r) {
		return
	}
	if s, err := b.exchange.Session(r); err == nil {
		_ = b.sessions.Revoke(r.Context(), s.ID)
	}
	clearCookie(w)
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// sameOrigin refuses a state-changing request that another site's page
// made (the cookie is SameSite=Lax, and this checks the Origin too).
func (b *backend) sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != b.origin {
		http.Error(w, "this request comes from "+o+", not "+b.origin, http.StatusForbidden)
		return false
	}
	return true
}

// accountPage is what the account page shows.
type accountPage struct {
	Name, Device string
	Phones       []accountPhone
}

type accountPhone struct {
	ID, Name, Type string
	Registered     string
	Revoked        bool
	ThisBrowser    bool // this browser was signed in by this phone
	Browsers       []accountBrowser
}

type accountBrowser struct {
	Handle, Browser, IP, Time string
	This                      bool
}

func (b *backend) serveAccount(w http.ResponseWriter, r *http.Request, render func(http.ResponseWriter, *http.Request, accountPage)) {
	s, d, ok := b.signedIn(w, r)
	if !ok {
		http.Redirect(w, r, "/?mode=backend", http.StatusSeeOther)
		return
	}
	page := accountPage{Name: userName(s.User), Device: d.Name}
	devices, err := b.devices.ListByUser(r.Context(), s.User)
	if err != nil {
		http.Error(w, "failed to list the phones", http.StatusInternalServerError)
		return
	}
	for _, dev := range devices {
		p := accountPhone{ID: dev.ID, Name: dev.Name, Type: dev.Type, Registered: when(dev.RegisteredAt), Revoked: dev.Revoked, ThisBrowser: dev.ID == s.Device}
		browsers, err := b.sessions.ListByDevice(r.Context(), dev.ID)
		if err != nil {
			http.Error(w, "failed to list the browsers", http.StatusInternalServerError)
			return
		}
		for _, bs := range browsers {
			p.Browsers = append(p.Browsers, accountBrowser{Handle: handle(bs), Browser: mobile.DescribeBrowser(bs.Browser.UserAgent),
				IP: bs.Browser.IP, Time: when(bs.Created), This: bs.ID == s.ID})
		}
		page.Phones = append(page.Phones, p)
	}
	render(w, r, page)
}

// when is a time as the pages show it.
func when(t time.Time) string { return t.Local().Format("2 Jan 15:04:05") }

// findSession returns the live session with this handle among list.
func findSession(list []verify.BrowserSession, h string) (verify.BrowserSession, bool) {
	for _, s := range list {
		if handle(s) == h {
			return s, true
		}
	}
	return verify.BrowserSession{}, false
}

// accountForm returns the session of the browser that posted a form of
// the account page, or answers the request itself: one from another
// site's page is refused, and a browser that is not signed in is sent to
// sign in.
func (b *backend) accountForm(w http.ResponseWriter, r *http.Request) (verify.BrowserSession, bool) {
	if !b.sameOrigin(w, r) {
		return verify.BrowserSession{}, false
	}
	s, _, ok := b.signedIn(w, r)
	if !ok {
		http.Redirect(w, r, "/?mode=backend", http.StatusSeeOther)
		return verify.BrowserSession{}, false
	}
	return s, true
}

func (b *backend) serveAccountSignOut(w http.ResponseWriter, r *http.Request) {
	s, ok := b.accountForm(w, r)
	if !ok {
		return
	}
	list, err := b.sessions.ListByUser(r.Context(), s.User)
	if err != nil {
		http.Error(w, "failed to list the browsers", http.StatusInternalServerError)
		return
	}
	if target, ok := findSession(list, r.PathValue("handle")); ok {
		_ = b.sessions.Revoke(r.Context(), target.ID)
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (b *backend) serveRevoke(w http.ResponseWriter, r *http.Request) {
	s, ok := b.accountForm(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, err := b.devices.Lookup(r.Context(), id)
	if err != nil || d.User != s.User {
		http.Error(w, "no such phone in your account", http.StatusNotFound)
		return
	}
	if err := verify.RevokeDevice(r.Context(), b.devices, b.sessions, id); err != nil {
		b.logger.Error("failed to revoke a phone", "device", id, "err", err)
		http.Error(w, "failed to revoke the phone", http.StatusInternalServerError)
		return
	}
	b.mu.Lock()
	for token, dev := range b.phones {
		if dev == id {
			delete(b.phones, token)
		}
	}
	b.mu.Unlock()
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// --- the phone app's API ----------------------------------------------------

// cors lets the demo phone page, and only it, call the phone API from its
// own origin. It reports whether the request may go on.
func (b *backend) cors(w http.ResponseWriter, r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == b.origin {
		return true
	}
	if o != b.phoneOrigin {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "origin_denied",
			"message": "the phone API answers only the demo phone page at " + b.phoneOrigin + ", not " + o})
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", o)
	w.Header().Add("Vary", "Origin")
	return true
}

func (b *backend) servePreflight(w http.ResponseWriter, r *http.Request) {
	if !b.cors(w, r) {
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// registerAnswer is POST /phone-api/register's answer.
type registerAnswer struct {
	User  string `json:"user"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// serveRegister registers the phone's device for the demo user. A real
// app's backend takes the user from the app's own signed-in session; the
// demo phone page is always signed in as Ada Lovelace, and so is this.
func (b *backend) serveRegister(w http.ResponseWriter, r *http.Request) {
	if !b.cors(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<10))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "bad_request", "message": "the registration is too large"})
		return
	}
	reg, _, err := assertion.ParseRegistration(body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "message": err.Error()})
		return
	}
	reg.Name = strings.TrimSpace(reg.Name)
	if reg.Name == "" || len(reg.Name) > 60 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "message": "give the phone a name of 1 to 60 characters"})
		return
	}
	d, err := verify.NewDevice(reg, demoUserID, time.Now())
	if err == nil {
		err = b.devices.Register(r.Context(), d)
	}
	switch {
	case errors.Is(err, verify.ErrDeviceExists):
		writeJSON(w, http.StatusConflict, map[string]string{"error": "exists", "message": "this device id is registered already: make a new key and id"})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_request", "message": err.Error()})
		return
	}
	token := newToken()
	b.mu.Lock()
	b.phones[token] = d.ID
	b.mu.Unlock()
	b.logger.Info("phone registered", "device", d.ID, "name", d.Name)
	writeJSON(w, http.StatusOK, registerAnswer{User: demoUserID, Name: userName(demoUserID), Token: token})
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// phone returns the device the request's bearer token belongs to, or
// answers 401 itself: a revoked phone is told so.
func (b *backend) phone(w http.ResponseWriter, r *http.Request) (verify.Device, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	b.mu.Lock()
	id, known := b.phones[token]
	b.mu.Unlock()
	if !ok || !known {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not_registered",
			"message": "This phone is not registered with Demo Shop (or was removed): register it again."})
		return verify.Device{}, false
	}
	d, err := b.devices.Lookup(r.Context(), id)
	if err != nil || d.Revoked {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "revoked",
			"message": "This phone was removed from your Demo Shop account: it cannot sign you in any more. Register it again to use it."})
		return verify.Device{}, false
	}
	return d, true
}

// phoneSessions returns the device of the request's bearer token and the
// browsers it has signed in, or answers the request itself: a page of
// another origin, a phone that is not (or no longer) registered, or a
// failure to list them.
func (b *backend) phoneSessions(w http.ResponseWriter, r *http.Request) (verify.Device, []verify.BrowserSession, bool) {
	if !b.cors(w, r) {
		return verify.Device{}, nil, false
	}
	d, ok := b.phone(w, r)
	if !ok {
		return verify.Device{}, nil, false
	}
	list, err := b.sessions.ListByDevice(r.Context(), d.ID)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal", "message": "failed to list the browsers"})
		return verify.Device{}, nil, false
	}
	return d, list, true
}

// phoneBrowser is one browser in the phone's list.
type phoneBrowser struct {
	Handle  string `json:"handle"`
	Browser string `json:"browser"`
	IP      string `json:"ip"`
	Time    string `json:"time"`
}

func (b *backend) servePhoneBrowsers(w http.ResponseWriter, r *http.Request) {
	d, list, ok := b.phoneSessions(w, r)
	if !ok {
		return
	}
	out := []phoneBrowser{}
	for _, s := range list {
		out = append(out, phoneBrowser{Handle: handle(s), Browser: mobile.DescribeBrowser(s.Browser.UserAgent), IP: s.Browser.IP, Time: when(s.Created)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"device": map[string]string{"id": d.ID, "name": d.Name}, "browsers": out})
}

func (b *backend) servePhoneSignOut(w http.ResponseWriter, r *http.Request) {
	_, list, ok := b.phoneSessions(w, r)
	if !ok {
		return
	}
	s, found := findSession(list, r.PathValue("handle"))
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "message": "that browser is signed out already"})
		return
	}
	if err := b.sessions.Revoke(r.Context(), s.ID); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal", "message": fmt.Sprint("failed to sign the browser out: ", err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "failed to encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
