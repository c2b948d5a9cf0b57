package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func exchange(t *testing.T, h http.Handler, method, contentType, origin, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "https://shop.example/exchange", strings.NewReader(body))
	r.RemoteAddr = "203.0.113.5:4711"
	r.Header.Set("User-Agent", "Mozilla/5.0 test")
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func exchangeBody(t *testing.T, assertion, sid string) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"assertion": assertion, "sid": sid})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExchangeHandler: a good assertion sets an HttpOnly, Secure,
// SameSite=Lax cookie naming a session the site can list and revoke; a
// refusal is a JSON error with the refusal's code; revoking the device
// ends its browsers' sessions.
func TestExchangeHandler(t *testing.T) {
	f := newFixture(t)
	sessions := NewMemorySessions(time.Hour, f.clock.now)
	h := &ExchangeHandler{Verifier: f.v, Sessions: sessions, CookieName: "shop_session", MaxAge: time.Hour}
	token := jws(t, goodHeader("phone"), f.claims(), f.keys["phone"])

	w := exchange(t, h, http.MethodPost, "application/json", testOrigin, exchangeBody(t, token, testSID))
	if w.Code != http.StatusOK {
		t.Fatalf("exchange: %d %s", w.Code, w.Body)
	}
	var answer ExchangeAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || !answer.OK || answer.Sub != "ada" || answer.Device.ID != "phone" {
		t.Errorf("answer %s", w.Body)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != "shop_session" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 3600 || len(c.Value) != 43 {
		t.Errorf("cookie %+v", c)
	}

	r := httptest.NewRequest(http.MethodGet, "https://shop.example/account", nil)
	r.AddCookie(c)
	s, err := h.Session(r)
	if err != nil || s.User != "ada" || s.Device != "phone" || s.Browser.IP != "203.0.113.5" || s.Browser.UserAgent != "Mozilla/5.0 test" {
		t.Fatalf("Session: %+v %v", s, err)
	}
	ctx := context.Background()
	if list, _ := sessions.ListByDevice(ctx, "phone"); len(list) != 1 || list[0].ID != c.Value {
		t.Errorf("ListByDevice: %+v", list)
	}
	if list, _ := sessions.ListByUser(ctx, "ada"); len(list) != 1 {
		t.Errorf("ListByUser: %+v", list)
	}

	// The same assertion again: replayed, and no cookie.
	w = exchange(t, h, http.MethodPost, "application/json", testOrigin, exchangeBody(t, token, testSID))
	wantExchangeError(t, w, http.StatusUnauthorized, "replayed")

	if err := RevokeDevice(ctx, f.v.Devices(), sessions, "phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Session(r); !errors.Is(err, ErrNoSession) {
		t.Errorf("the session after its device was revoked: %v", err)
	}
	fresh := jws(t, goodHeader("phone"), f.claims(), f.keys["phone"])
	w = exchange(t, h, http.MethodPost, "application/json", testOrigin, exchangeBody(t, fresh, testSID))
	wantExchangeError(t, w, http.StatusUnauthorized, "revoked")

	laptop := f.claims()
	laptop.Issuer = "laptop"
	other := jws(t, goodHeader("laptop"), laptop, f.keys["laptop"])
	for name, c := range map[string]struct {
		method, contentType, origin, body string
		status                            int
		code                              string
	}{
		"GET":               {http.MethodGet, "", "", "", http.StatusMethodNotAllowed, ExchangeMethod},
		"a form":            {http.MethodPost, "application/x-www-form-urlencoded", testOrigin, "assertion=x", http.StatusUnsupportedMediaType, ExchangeBadRequest},
		"text/plain":        {http.MethodPost, "text/plain", "", exchangeBody(t, other, testSID), http.StatusUnsupportedMediaType, ExchangeBadRequest},
		"another origin":    {http.MethodPost, "application/json", "https://evil.example", exchangeBody(t, other, testSID), http.StatusForbidden, ExchangeOriginDenied},
		"no sid":            {http.MethodPost, "application/json", testOrigin, exchangeBody(t, other, ""), http.StatusBadRequest, ExchangeBadRequest},
		"not JSON":          {http.MethodPost, "application/json", testOrigin, "{", http.StatusBadRequest, ExchangeBadRequest},
		"the wrong sid":     {http.MethodPost, "application/json", testOrigin, exchangeBody(t, other, "AAAAAAAAAAAAAAAAAAAAAA"), http.StatusUnauthorized, "bad_sid"},
		"a malformed token": {http.MethodPost, "application/json", testOrigin, exchangeBody(t, "a.b", testSID), http.StatusUnauthorized, "malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			wantExchangeError(t, exchange(t, h, c.method, c.contentType, c.origin, c.body), c.status, c.code)
		})
	}
	// The laptop's assertion was refused above for its sid only: its jti
	// is unused, and the device still signs in.
	w = exchange(t, h, http.MethodPost, "application/json; charset=utf-8", "", exchangeBody(t, other, testSID))
	if w.Code != http.StatusOK {
		t.Errorf("the other device: %d %s", w.Code, w.Body)
	}
}

func wantExchangeError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var e struct{ Error, Message string }
	if w.Code != status || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error != code || e.Message == "" {
		t.Errorf("answer %d %s, want %d with error %q", w.Code, w.Body, status, code)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Errorf("a refusal set a cookie: %v", w.Result().Cookies())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
