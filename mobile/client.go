package mobile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/scanin/scanin/protocol"
)

const (
	// requestTimeout bounds one request. A delivery may wait AckWait for
	// the browser's ack, so it gets that plus room for a slow network.
	requestTimeout = protocol.AckWait + 20*time.Second
	// maxAnswerSize caps how much of a relay's answer is read.
	maxAnswerSize = 64 << 10
	// userAgent is the same for every phone and every user, so a request
	// says nothing about who sends it.
	userAgent = "scanin-mobile/1"
)

// Client talks to scanin relays on behalf of an app built for a fixed set
// of app ids. It is safe for concurrent use. Close it when done.
type Client struct {
	apps   []string // nil accepts any app (ClientForAnyApp)
	http   *http.Client
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
}

// NewClient returns a client for an app built for the app ids in appIDs,
// separated by commas, spaces or newlines ("demo" or "shop,shop-staging").
// Links for any other app are refused with CodeLinkWrongApp.
func NewClient(appIDs string) (*Client, error) {
	apps := strings.FieldsFunc(appIDs, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})
	if len(apps) == 0 {
		return nil, &ScanError{Code: CodeBadRequest, Message: "no app id given: a client must be built for at least one app"}
	}
	for _, app := range apps {
		if err := protocol.CheckAppID(app); err != nil {
			return nil, &ScanError{Code: CodeBadRequest, Message: fmt.Sprintf("app id %q: %v", app, err), err: err}
		}
	}
	return newClient(apps), nil
}

// ClientForAnyApp returns a client that accepts links for any app. It is
// for developer tools such as `scanin send`; a phone app should use
// NewClient, so a code for another service cannot be approved with its
// user's session. (It is not called NewClient...: gobind would make it the
// bound class's no-argument constructor, the easiest one to reach for.)
func ClientForAnyApp() *Client {
	return newClient(nil)
}

func newClient(apps []string) *Client {
	// A transport of its own, so Close can drop its idle connections.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		apps:   apps,
		http:   &http.Client{Transport: transport, Timeout: requestTimeout},
		ctx:    ctx,
		cancel: cancel,
	}
}

// Close cancels every request in flight and releases the client's
// connections. Calls after Close end with CodeCancelled.
func (c *Client) Close() {
	if c.made() {
		c.cancel()
		c.http.CloseIdleConnections()
	}
}

// made reports whether the client came from NewClient or ClientForAnyApp.
// A binding can also make a zero Client (Objective-C's init), which must
// fail cleanly rather than crash the app.
func (c *Client) made() bool { return c != nil && c.http != nil }

// errNotMade is what a zero Client's calls return.
func errNotMade() *ScanError {
	return &ScanError{Code: CodeBadRequest, Message: "the Client was not made by NewClient or ClientForAnyApp"}
}

// Link is a scanned link that passed every rule.
type Link struct {
	link protocol.Link
}

// App returns the app id the link is for.
func (l *Link) App() string { return l.link.App }

// SessionID returns the link's session id.
func (l *Link) SessionID() string { return l.link.SessionID }

// Relay returns the relay's base URL.
func (l *Link) Relay() string { return l.link.Relay }

// ParseLink checks a scanned link against every rule of the protocol and
// the client's app ids, without any request. A scanner can use it to tell
// a scanin code from any other QR code. The error is a ScanError with one
// of the CodeLink* codes.
func (c *Client) ParseLink(link string) (*Link, error) {
	if !c.made() {
		return nil, errNotMade()
	}
	l, err := protocol.ParseLink(link, c.apps)
	if err != nil {
		return nil, linkError(err)
	}
	return &Link{link: l}, nil
}

// Inspect parses a scanned link and reads its session from the relay: what
// the app must show the person before they approve. The error is a
// ScanError: a CodeLink* code, or CodeExpired, CodeAlreadyUsed,
// CodeNotFound, CodeRateLimited, CodeUnavailable, CodeNetworkError,
// CodeCancelled, CodeUnexpected.
func (c *Client) Inspect(link string) (*Session, error) {
	if !c.made() {
		return nil, errNotMade()
	}
	l, err := protocol.ParseLink(link, c.apps)
	if err != nil {
		return nil, linkError(err)
	}
	resp, body, serr := c.do(http.MethodGet, l.Relay+protocol.SessionPath(l.SessionID), "", nil)
	if serr != nil {
		return nil, serr
	}
	received := time.Now()
	if resp.StatusCode != http.StatusOK {
		return nil, relayError(resp, body)
	}
	var info protocol.SessionInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, &ScanError{Code: CodeUnexpected, Message: "unreadable session from the relay: " + err.Error(), err: err}
	}
	if info.App != l.App {
		// The relay describes another app's session than the code says:
		// whatever is going on, the person must not be asked to approve.
		return nil, &ScanError{Code: CodeUnexpected, Message: fmt.Sprintf("the relay describes a session of app %q, the code is for %q", info.App, l.App)}
	}
	return newSession(c, l, info, deadline(received, resp.Header.Get("Date"), info.ExpiresAt)), nil
}

// deadline converts the relay's expires_at (its clock) to this phone's
// clock, through the relay's Date header, so a phone whose clock is off
// still counts the right seconds. The Date header has whole seconds, so
// the count may run up to a second long; without a header the phone's
// clock is trusted.
func deadline(received time.Time, date string, expiresAtMS int64) time.Time {
	relayNow := received
	if t, err := http.ParseTime(date); err == nil {
		relayNow = t
	}
	return received.Add(time.UnixMilli(expiresAtMS).Sub(relayNow))
}

// do sends one request to the relay and reads the answer. A ScanError
// means there is no answer to read.
func (c *Client) do(method, url, contentType string, body []byte) (*http.Response, []byte, *ScanError) {
	if c.ctx.Err() != nil {
		return nil, nil, &ScanError{Code: CodeCancelled, Message: "the client is closed", err: c.ctx.Err()}
	}
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, url, reader)
	if err != nil {
		return nil, nil, &ScanError{Code: CodeUnexpected, Message: "failed to build the request: " + err.Error(), err: err}
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.networkError(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerSize))
	if err != nil {
		return nil, nil, c.networkError(err)
	}
	return resp, answer, nil
}

func (c *Client) networkError(err error) *ScanError {
	if c.ctx.Err() != nil {
		return &ScanError{Code: CodeCancelled, Message: "the client was closed", err: err}
	}
	return &ScanError{Code: CodeNetworkError, Message: "failed to reach the relay: " + err.Error(), err: err}
}

// relayError maps a relay's refusal to a ScanError. The error body's code
// decides; a body that is not the protocol's (a proxy's error page) falls
// back on the status.
func relayError(resp *http.Response, body []byte) *ScanError {
	perr := protocol.ParseError(body)
	se := &ScanError{Message: perr.Message, err: perr}
	// Every protocol code is a mobile code of the same name; one that does
	// not match its status is not the relay's answer (a proxy's page, a
	// confused server).
	if perr.Code.Known() && perr.Code.HTTPStatus() == resp.StatusCode {
		se.Code = string(perr.Code)
	}
	if se.Code == "" {
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			se.Code = CodeRateLimited
		case resp.StatusCode == http.StatusRequestEntityTooLarge:
			se.Code = CodeTooLarge
		case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable,
			resp.StatusCode == http.StatusGatewayTimeout:
			se.Code = CodeUnavailable
		default:
			se.Code = CodeUnexpected
		}
		se.Message = fmt.Sprintf("the relay answered %s: %s", resp.Status, strings.TrimSpace(string(firstLine(body))))
	}
	switch se.Code {
	case CodeRateLimited, CodeUnavailable:
		se.RetryAfterSeconds = retryAfterHeader(resp.Header.Get("Retry-After"))
	case CodeConflict:
		se.RetryAfterSeconds = int(math.Ceil(float64(perr.RetryAfterMS) / 1000))
	}
	if se.Code == CodeRateLimited && se.RetryAfterSeconds <= 0 {
		se.RetryAfterSeconds = 1 // the header is required; never say "retry now"
	}
	if se.Message == "" {
		se.Message = "the relay answered " + resp.Status
	}
	return se
}

// retryAfterHeader reads Retry-After as seconds or as an HTTP date.
func retryAfterHeader(v string) int {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return n
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return int(math.Ceil(d.Seconds()))
		}
	}
	return 0
}

// firstLine keeps an unexpected body readable in a one-line message.
func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return b
}
