// Package receiver is scanin's native receiver: what the browser widget
// does, for a terminal or a native app. It makes a session id and a key
// pair for each code, listens on the relay's WebSocket, opens the sealed
// message, and acknowledges or rejects it.
//
//	r, err := receiver.New(ctx, receiver.Config{Relay: "https://relay.example", App: "demo"})
//	s, err := r.Listen(ctx)          // one code: show s.Link() as a QR code
//	defer s.Close()                  // destroys the key
//	for {
//		ev, err := s.Next(ctx)   // scanned, rejected, result, denied, expired
//		...
//	}
//
// A native receiver sends no Origin header, which the relay allows, and
// leaves the listen request's origin parameter out: there is no embedding
// page. A dropped connection is resumed with the relay's resume value, so a
// message delivered meanwhile is not lost.
//
// While Next waits, a connection on which the relay sent nothing for 25 s,
// not even a WebSocket ping, gets a {"type":"ping"} frame, which every relay
// answers with {"type":"pong"}; one that then stays silent for another 25 s
// is taken for dead and resumed (policy.Keepalive, Config.PingInterval).
package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/receiver/policy"
)

// Config says which relay and app a Receiver works for.
type Config struct {
	// Relay is the relay's base URL: https, or http to a loopback host.
	Relay string
	// App is the app id the codes are for.
	App string
	// TTL is each code's lifetime (15 s to 300 s); 0 means the app's.
	TTL time.Duration
	// HTTPClient makes the requests and the WebSocket connections; nil
	// means http.DefaultClient.
	HTTPClient *http.Client
	// UserAgent is what the relay shows a phone about this receiver; empty
	// means DefaultUserAgent(), which phones name "scanin terminal".
	UserAgent string
	// PingInterval is how long a connection may stay silent before the
	// receiver pings the relay, and then how long it waits for any frame
	// before it takes the connection for dead and resumes
	// (policy.Keepalive). 0 means policy.PingAfter, the protocol's 25 s;
	// it may be shorter (tests), not longer.
	PingInterval time.Duration
}

// DefaultUserAgent is "scanin-receive/1 (Linux)" and the like, which the
// mobile SDK describes as "scanin terminal on Linux".
func DefaultUserAgent() string {
	system := map[string]string{"linux": "Linux", "darwin": "macOS", "windows": "Windows", "freebsd": "FreeBSD"}[runtime.GOOS]
	if system == "" {
		system = runtime.GOOS
	}
	return "scanin-receive/1 (" + system + ")"
}

// Receiver makes codes for one app on one relay.
type Receiver struct {
	cfg    Config
	relay  string // checked, without a trailing slash
	app    protocol.AppConfig
	client *http.Client
}

// New checks cfg and reads the app's configuration from the relay, which
// gives the link base the codes use and proves the app exists there.
func New(ctx context.Context, cfg Config) (*Receiver, error) {
	relay, err := protocol.CheckRelayURL(cfg.Relay)
	if err != nil {
		return nil, fmt.Errorf("relay %q: %w", cfg.Relay, err)
	}
	if err := protocol.CheckAppID(cfg.App); err != nil {
		return nil, fmt.Errorf("app %q: %w", cfg.App, err)
	}
	if cfg.TTL != 0 {
		if err := protocol.CheckTTL(cfg.TTL); err != nil {
			return nil, err
		}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent()
	}
	switch {
	case cfg.PingInterval == 0:
		cfg.PingInterval = policy.PingAfter
	case cfg.PingInterval < 0 || cfg.PingInterval > policy.PingAfter:
		return nil, fmt.Errorf("ping interval %v: must be above 0 and at most %v", cfg.PingInterval, policy.PingAfter)
	}
	r := &Receiver{cfg: cfg, relay: relay, client: cfg.HTTPClient}
	if r.client == nil {
		r.client = http.DefaultClient
	}
	if r.app, err = r.fetchApp(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// App returns the app's configuration as the relay publishes it.
func (r *Receiver) App() protocol.AppConfig { return r.app }

// TTL returns each code's lifetime: Config.TTL, or the app's when that is
// 0. Pass it to policy.StopRotating.
func (r *Receiver) TTL() time.Duration {
	if r.cfg.TTL != 0 {
		return r.cfg.TTL
	}
	return time.Duration(r.app.TTL) * time.Second
}

func (r *Receiver) fetchApp(ctx context.Context) (protocol.AppConfig, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.relay+protocol.AppPath(r.cfg.App), nil)
	if err != nil {
		return protocol.AppConfig{}, fmt.Errorf("failed to read app %q: %w", r.cfg.App, err)
	}
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	resp, err := r.client.Do(req)
	if err != nil {
		return protocol.AppConfig{}, fmt.Errorf("failed to read app %q: %w", r.cfg.App, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return protocol.AppConfig{}, fmt.Errorf("failed to read app %q: %w", r.cfg.App, err)
	}
	if resp.StatusCode != http.StatusOK {
		return protocol.AppConfig{}, fmt.Errorf("failed to read app %q: %w", r.cfg.App, statusError(resp, body))
	}
	app, err := protocol.ParseAppConfig(body)
	if err != nil {
		return protocol.AppConfig{}, fmt.Errorf("failed to read app %q: %w", r.cfg.App, err)
	}
	if app.ID != r.cfg.App {
		return protocol.AppConfig{}, fmt.Errorf("failed to read app %q: the relay answered for app %q", r.cfg.App, app.ID)
	}
	return app, nil
}

// statusError is the relay's error for a non-success answer, or one made
// from the status when the body is not the protocol's. A proxy's 502 or
// 504, while the relay behind it restarts, counts as unavailable, as the
// mobile SDK counts it, so that policy retries.
func statusError(resp *http.Response, body []byte) *protocol.Error {
	perr := protocol.ParseError(body)
	if perr.Code == "" {
		perr.Message = "the relay answered " + resp.Status
		for _, c := range protocol.Codes {
			if c.HTTPStatus() == resp.StatusCode {
				perr.Code = c
				break
			}
		}
		if resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout {
			perr.Code = protocol.CodeUnavailable
		}
	}
	return perr
}

// Listen makes a new code: a fresh session id and key pair, registered with
// the relay. It returns once the relay confirmed the session (its ready
// frame), so the code can be shown.
func (r *Receiver) Listen(ctx context.Context) (*Session, error) {
	key, err := protocol.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("failed to make a key: %w", err)
	}
	s := &Session{r: r, sid: protocol.NewSessionID(), key: key, epoch: time.Now()}
	s.link = protocol.Link{Base: r.app.LinkBase, App: r.cfg.App, SessionID: s.sid, PublicKey: key.PublicKey(), Relay: r.relay}
	if err := s.connect(ctx, ""); err != nil {
		key.Destroy()
		return nil, err
	}
	return s, nil
}

// ErrEnded reports use of a session after it ended or was closed.
var ErrEnded = errors.New("receiver: session ended")
