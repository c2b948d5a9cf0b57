package verify

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"

	"github.com/scanin/scanin/protocol"
)

// Exchange error codes besides the refusal codes: {"error":CODE,...}.
const (
	// ExchangeBadRequest: the body is not {"assertion":"...","sid":"..."}
	// as JSON, or the sid is not a session id.
	ExchangeBadRequest = "bad_request"
	// ExchangeOriginDenied: the request's Origin header is not the site's.
	ExchangeOriginDenied = "origin_denied"
	// ExchangeMethod: not a POST.
	ExchangeMethod = "method_not_allowed"
	// ExchangeInternal: a store failed.
	ExchangeInternal = "internal"
)

// DefaultCookieName is ExchangeHandler's cookie name when it has none.
const DefaultCookieName = "session"

// maxExchangeBody bounds the exchange request: an assertion is at most
// assertion.MaxSize.
const maxExchangeBody = 16 << 10

// ExchangeHandler is an example of the exchange endpoint a site serves for
// embed.js's exchange mode: it takes {"assertion":"...","sid":"..."} as
// JSON from the site's own page, verifies the assertion against the sid,
// starts a session in Sessions, and sets the site's own cookie with the
// session id: HttpOnly (no script reads it), Secure, SameSite=Lax. It
// answers {"ok":true,"sub":...,"device":{"id","name","type"}}, or
// {"error":CODE,"message":"..."} with CODE a refusal Code (401) or one of
// the Exchange* codes.
//
// Cross-site requests cannot use it: it takes only application/json
// (which a cross-site form cannot send, and fetch cannot without a CORS
// preflight the handler does not answer), and refuses an Origin header
// other than the verifier's origin.
type ExchangeHandler struct {
	// Verifier checks the assertions.
	Verifier *Verifier
	// Sessions keeps the sessions the handler starts.
	Sessions SessionStore
	// CookieName is the cookie's name; empty means DefaultCookieName.
	CookieName string
	// MaxAge is the cookie's lifetime; 0 means a browser-session cookie.
	MaxAge time.Duration
	// Logger, when set, logs each refusal at Info.
	Logger *slog.Logger
}

// exchangeRequest is what the page posts.
type exchangeRequest struct {
	Assertion string `json:"assertion"`
	SID       string `json:"sid"`
}

// ExchangeDevice is the device in a successful exchange's answer.
type ExchangeDevice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// ExchangeAnswer is a successful exchange's answer.
type ExchangeAnswer struct {
	OK     bool           `json:"ok"`
	Sub    string         `json:"sub"`
	Device ExchangeDevice `json:"device"`
}

// ServeHTTP implements http.Handler.
func (h *ExchangeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, ExchangeMethod, "use POST")
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && origin != h.Verifier.Origin() {
		h.fail(w, http.StatusForbidden, ExchangeOriginDenied, "the request comes from "+origin+", not "+h.Verifier.Origin())
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.fail(w, http.StatusUnsupportedMediaType, ExchangeBadRequest, "the body must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxExchangeBody))
	if err != nil {
		h.fail(w, http.StatusRequestEntityTooLarge, ExchangeBadRequest, "the body is too large or unreadable")
		return
	}
	var req exchangeRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Assertion == "" {
		h.fail(w, http.StatusBadRequest, ExchangeBadRequest, `the body must be {"assertion":"...","sid":"..."}`)
		return
	}
	if err := protocol.CheckSessionID(req.SID); err != nil {
		h.fail(w, http.StatusBadRequest, ExchangeBadRequest, "sid: "+err.Error())
		return
	}
	res, err := h.Verifier.Verify(r.Context(), req.Assertion, Options{SessionID: req.SID})
	if err != nil {
		var refusal *Error
		if errors.As(err, &refusal) {
			h.fail(w, http.StatusUnauthorized, string(refusal.Code), refusal.Message)
			return
		}
		h.internal(w, err)
		return
	}
	s, err := h.Sessions.Create(r.Context(), res.Device.ID, res.Claims.Subject, Browser{IP: clientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		h.internal(w, err)
		return
	}
	cookie := &http.Cookie{
		Name: h.cookieName(), Value: s.ID, Path: "/",
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}
	if h.MaxAge > 0 {
		cookie.MaxAge = int(h.MaxAge / time.Second)
	}
	http.SetCookie(w, cookie)
	writeJSON(w, http.StatusOK, ExchangeAnswer{OK: true, Sub: res.Claims.Subject,
		Device: ExchangeDevice{ID: res.Device.ID, Name: res.Device.Name, Type: res.Device.Type}})
}

// Session returns the live session the request's cookie names, or
// ErrNoSession: what the site's other handlers call to know who is signed
// in. A session whose device was revoked with RevokeDevice is gone.
func (h *ExchangeHandler) Session(r *http.Request) (BrowserSession, error) {
	c, err := r.Cookie(h.cookieName())
	if err != nil || c.Value == "" {
		return BrowserSession{}, ErrNoSession
	}
	return h.Sessions.Lookup(r.Context(), c.Value)
}

func (h *ExchangeHandler) cookieName() string {
	if h.CookieName == "" {
		return DefaultCookieName
	}
	return h.CookieName
}

func (h *ExchangeHandler) fail(w http.ResponseWriter, status int, code, msg string) {
	if h.Logger != nil {
		h.Logger.Info("exchange refused", "code", code, "message", msg)
	}
	writeJSON(w, status, map[string]string{"error": code, "message": msg})
}

func (h *ExchangeHandler) internal(w http.ResponseWriter, err error) {
	if h.Logger != nil {
		h.Logger.Error("exchange failed", "err", err)
	}
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": ExchangeInternal, "message": "the site could not complete the sign-in"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"internal","message":"failed to encode the answer"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// clientIP is the request's remote address without the port. A site
// behind a proxy should take the address its proxy reports instead.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
