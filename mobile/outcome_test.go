package mobile

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
)

// answer is one canned relay answer: docs/protocol.md's exact bodies. These
// tests check only the mapping from answers to outcomes; relay_test.go
// provokes each answer from the real relay.
type answer struct {
	status int
	body   string
	header map[string]string
}

// cannedRelay answers GET with a session of app "demo" and every POST
// with post, and records the POST bodies.
type cannedRelay struct {
	*httptest.Server
	mu      sync.Mutex
	get     answer
	post    answer
	posts   [][]byte
	headers http.Header // of the last request
}

func newCannedRelay(t *testing.T) *cannedRelay {
	r := &cannedRelay{}
	r.get = answer{200, `{"app":"demo","app_name":"Demo Shop","state":"waiting","expires_at":` +
		fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()) +
		`,"requester":{"ip":"203.0.113.5","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0","origin":"https://shop.example"},"sender":{"ip":"203.0.113.77"}}`, nil}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.headers = req.Header.Clone()
		a := r.get
		if req.Method == http.MethodPost {
			body, _ := io.ReadAll(req.Body)
			r.posts = append(r.posts, body)
			a = r.post
		}
		r.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if strings.HasPrefix(a.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *cannedRelay) set(get, post answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.get, r.post = get, post
}

func (r *cannedRelay) bodies() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.posts...)
}

func errBody(code string) string {
	return `{"error":"` + code + `","message":"` + code + ` said the relay"}`
}

func TestOutcomeMapping(t *testing.T) {
	relay := newCannedRelay(t)
	c, err := NewClient("demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	link, _ := testLink(t, "demo", relay.URL)
	s, err := c.Inspect(link)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if s.AppName() != "Demo Shop" || s.Origin() != "https://shop.example" || s.Browser() != "Firefox on Linux" ||
		s.RequesterIP() != "203.0.113.5" || s.SenderIP() != "203.0.113.77" || !s.SameNetwork() || s.State() != "waiting" {
		t.Errorf("session: %q %q %q %q %q %v %q", s.AppName(), s.Origin(), s.Browser(), s.RequesterIP(), s.SenderIP(), s.SameNetwork(), s.State())
	}
	if left := s.SecondsLeft(); left < 55 || left > 61 {
		t.Errorf("SecondsLeft() = %d, want about 60", left)
	}
	// Reading tells the relay nothing about the person or the phone.
	relay.mu.Lock()
	for name, v := range relay.headers {
		switch name {
		case "Accept", "Accept-Encoding":
		case "User-Agent":
			if v[0] != userAgent {
				t.Errorf("User-Agent %q, want the fixed %q", v[0], userAgent)
			}
		default:
			t.Errorf("Inspect sent header %s: %q", name, v)
		}
	}
	relay.mu.Unlock()

	get := relay.get
	for _, tc := range []struct {
		name       string
		post       answer
		code       string
		retryAfter int
	}{
		{"delivered", answer{200, `{"state":"delivered"}`, nil}, CodeDelivered, 0},
		{"pending", answer{202, `{"state":"pending"}`, nil}, CodePending, 0},
		{"expired", answer{410, errBody("expired"), nil}, CodeExpired, 0},
		{"already used", answer{410, errBody("already_used"), nil}, CodeAlreadyUsed, 0},
		{"not found", answer{404, errBody("not_found"), nil}, CodeNotFound, 0},
		{"rejected", answer{422, errBody("rejected"), nil}, CodeRejected, 0},
		{"too large", answer{413, errBody("too_large"), nil}, CodeTooLarge, 0},
		{"bad request", answer{400, errBody("bad_request"), nil}, CodeBadRequest, 0},
		{"unavailable", answer{503, errBody("unavailable"), nil}, CodeUnavailable, 0},
		{"rate limited", answer{429, errBody("rate_limited"), map[string]string{"Retry-After": "17"}}, CodeRateLimited, 17},
		{"rate limited, no header", answer{429, errBody("rate_limited"), nil}, CodeRateLimited, 1},
		{"conflict", answer{409, `{"error":"conflict","message":"delivery in flight","retry_after":2500}`, nil}, CodeConflict, 3},
		{"proxy error page", answer{502, "<html>Bad Gateway</html>", nil}, CodeUnavailable, 0},
		{"proxy 429", answer{429, "slow down", map[string]string{"Retry-After": "5"}}, CodeRateLimited, 5},
		{"code against status", answer{404, errBody("expired"), nil}, CodeUnexpected, 0},
		{"unknown code", answer{418, errBody("teapot"), nil}, CodeUnexpected, 0},
		{"origin denied", answer{403, errBody("origin_denied"), nil}, CodeOriginDenied, 0},
		{"200 without state", answer{200, `{}`, nil}, CodeUnexpected, 0},
		{"200 pending", answer{200, `{"state":"pending"}`, nil}, CodeUnexpected, 0},
		{"204", answer{204, ``, nil}, CodeUnexpected, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relay.set(get, tc.post)
			o := s.Approve("token", "tok", "Pixel 9", "android")
			if o.Code != tc.code || o.RetryAfterSeconds != tc.retryAfter {
				t.Errorf("Approve: %+v, want code %s retry after %d", o, tc.code, tc.retryAfter)
			}
			if o.Message == "" || len(o.CheckCode) != 2 {
				t.Errorf("Approve: %+v: want a message and a check code", o)
			}
			if want := tc.code == CodeDelivered || tc.code == CodePending; o.OK() != want {
				t.Errorf("OK() = %v for %s", o.OK(), o.Code)
			}
		})
	}

	// Every Approve above resent the same sealed bytes.
	bodies := relay.bodies()
	for i, b := range bodies {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatalf("POST %d sent other bytes than the first", i)
		}
	}
	relay.set(get, answer{200, `{"state":"delivered"}`, nil})
	if o := s.Approve("token", "other", "Pixel 9", "android"); o.Code != CodeBadRequest {
		t.Errorf("Approve with another payload: %+v, want %s", o, CodeBadRequest)
	}
	if len(relay.bodies()) != len(bodies) {
		t.Errorf("Approve with another payload made a request")
	}

	relay.set(get, answer{200, `{"state":"denied"}`, nil})
	if o := s.Deny(); o.Code != CodeDenied || !o.OK() {
		t.Errorf("Deny: %+v", o)
	}
	relay.set(get, answer{410, errBody("already_used"), nil})
	if o := s.Deny(); o.Code != CodeAlreadyUsed || o.OK() {
		t.Errorf("Deny: %+v", o)
	}
}

func TestInspectMapping(t *testing.T) {
	relay := newCannedRelay(t)
	c, err := NewClient("demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	link, _ := testLink(t, "demo", relay.URL)
	other := strings.Replace(relay.get.body, `"app":"demo"`, `"app":"bank"`, 1)
	for _, tc := range []struct {
		name       string
		get        answer
		code       string
		retryAfter int
	}{
		{"expired", answer{410, errBody("expired"), nil}, CodeExpired, 0},
		{"already used", answer{410, errBody("already_used"), nil}, CodeAlreadyUsed, 0},
		{"not found", answer{404, errBody("not_found"), nil}, CodeNotFound, 0},
		{"rate limited", answer{429, errBody("rate_limited"), map[string]string{"Retry-After": "30"}}, CodeRateLimited, 30},
		{"unavailable", answer{503, errBody("unavailable"), map[string]string{"Retry-After": "2"}}, CodeUnavailable, 2},
		{"not json", answer{200, `<html>`, nil}, CodeUnexpected, 0},
		{"another app's session", answer{200, other, nil}, CodeUnexpected, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relay.set(tc.get, answer{})
			_, err := c.Inspect(link)
			if ErrorCode(err) != tc.code || ErrorRetryAfterSeconds(err) != tc.retryAfter {
				t.Errorf("Inspect: %v (retry after %d), want %s (%d)", err, ErrorRetryAfterSeconds(err), tc.code, tc.retryAfter)
			}
		})
	}
}

// TestDeadlineUsesRelayClock: a phone whose clock is off by minutes still
// counts the seconds the relay gives.
func TestDeadlineUsesRelayClock(t *testing.T) {
	received := time.Now()
	relayNow := received.Add(-10 * time.Minute).Truncate(time.Second)
	expires := relayNow.Add(40 * time.Second).UnixMilli()
	got := deadline(received, relayNow.UTC().Format(http.TimeFormat), expires)
	if d := got.Sub(received); d != 40*time.Second {
		t.Errorf("deadline is %v after receipt, want 40s", d)
	}
	got = deadline(received, "", time.Now().Add(30*time.Second).UnixMilli())
	if d := got.Sub(received); d < 29*time.Second || d > 31*time.Second {
		t.Errorf("without Date: deadline is %v after receipt, want about 30s", d)
	}
}

func TestApproveRefusesBeforeSending(t *testing.T) {
	relay := newCannedRelay(t)
	relay.post = answer{200, `{"state":"delivered"}`, nil}
	c, err := NewClient("demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name, kind, data string
		code             string
	}{
		{"unknown kind", "password", "x", CodeBadRequest},
		{"too large", "data", strings.Repeat("x", protocol.MaxPlaintextSize), CodeTooLarge},
		{"invalid UTF-8", "data", "\xff", CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link, _ := testLink(t, "demo", relay.URL)
			s, err := c.Inspect(link)
			if err != nil {
				t.Fatal(err)
			}
			if o := s.Approve(tc.kind, tc.data, "", ""); o.Code != tc.code {
				t.Errorf("Approve: %+v, want %s", o, tc.code)
			}
		})
	}
	if n := len(relay.bodies()); n != 0 {
		t.Errorf("%d payloads were posted", n)
	}

	// The largest payload that fits is sealed and sent, and opens.
	link, key := testLink(t, "demo", relay.URL)
	s, err := c.Inspect(link)
	if err != nil {
		t.Fatal(err)
	}
	overhead := len(`{"v":1,"kind":"data","data":"","iat":1234567890}`)
	data := strings.Repeat("x", protocol.MaxPlaintextSize-overhead)
	if o := s.Approve("data", data, "", ""); o.Code != CodeDelivered {
		t.Fatalf("Approve(largest): %+v", o)
	}
	sealed := relay.bodies()[0]
	if len(sealed) != protocol.MaxSealedSize {
		t.Errorf("sealed %d bytes, want %d", len(sealed), protocol.MaxSealedSize)
	}
	l, _ := c.ParseLink(link)
	m, _, err := protocol.OpenMessage(key, "demo", l.SessionID(), sealed, time.Now())
	if err != nil || m.Data != data || m.Device != nil {
		t.Errorf("OpenMessage: %v (data intact: %v, device %v)", err, m.Data == data, m.Device)
	}
}

func TestNetworkAndCancel(t *testing.T) {
	relay := newCannedRelay(t)
	relay.post = answer{200, `{"state":"delivered"}`, nil}
	c, err := NewClient("demo")
	if err != nil {
		t.Fatal(err)
	}
	link, _ := testLink(t, "demo", relay.URL)
	s, err := c.Inspect(link)
	if err != nil {
		t.Fatal(err)
	}
	relay.Close() // the relay goes away between reading and approving
	if o := s.Approve("token", "t", "", ""); o.Code != CodeNetworkError || !o.Retryable() {
		t.Errorf("Approve to a closed relay: %+v", o)
	}
	if _, err := c.Inspect(link); ErrorCode(err) != CodeNetworkError {
		t.Errorf("Inspect of a closed relay: %v", err)
	}
	c.Close()
	if o := s.Approve("token", "t", "", ""); o.Code != CodeCancelled {
		t.Errorf("Approve after Close: %+v", o)
	}
	if _, err := c.Inspect(link); ErrorCode(err) != CodeCancelled {
		t.Errorf("Inspect after Close: %v", err)
	}
}

// TestCloseCancelsInFlight: Close ends a request the relay sits on.
func TestCloseCancelsInFlight(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := NewClient("demo")
	if err != nil {
		t.Fatal(err)
	}
	link, _ := testLink(t, "demo", srv.URL)
	done := make(chan error, 1)
	go func() {
		_, err := c.Inspect(link)
		done <- err
	}()
	<-arrived
	c.Close()
	select {
	case err := <-done:
		if ErrorCode(err) != CodeCancelled {
			t.Errorf("Inspect cancelled by Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel the request in flight")
	}
}
