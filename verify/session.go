package verify

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrNoSession is a SessionStore's answer for a session id it does not
// hold (never made, revoked, or expired).
var ErrNoSession = errors.New("no such session")

// Browser is what a site knows of a browser it signed in.
type Browser struct {
	// IP is the address the exchange request came from.
	IP string
	// UserAgent is the browser's User-Agent header.
	UserAgent string
}

// BrowserSession is one browser's session at the site, made by an
// assertion from one device.
type BrowserSession struct {
	// ID is the session id the site's cookie holds: 32 random bytes,
	// base64url. Treat it as a secret.
	ID string
	// Device is the id of the device that signed the browser in.
	Device string
	// User is the signed-in user (the assertion's sub).
	User string
	// Browser is the browser.
	Browser Browser
	// Created is when the session was made; Expires when it ends.
	Created, Expires time.Time
}

// SessionStore keeps the site's browser sessions, so that the site can
// list them per device or user and end one, or all of one device's.
// Implementations must be safe for concurrent use.
type SessionStore interface {
	// Create starts a session for user, signed in by device, in browser.
	Create(ctx context.Context, device, user string, b Browser) (BrowserSession, error)
	// Lookup returns a live session, or ErrNoSession.
	Lookup(ctx context.Context, id string) (BrowserSession, error)
	// ListByDevice returns the live sessions a device signed in.
	ListByDevice(ctx context.Context, device string) ([]BrowserSession, error)
	// ListByUser returns the live sessions of a user.
	ListByUser(ctx context.Context, user string) ([]BrowserSession, error)
	// Revoke ends one session; ending one that is gone is not an error.
	Revoke(ctx context.Context, id string) error
	// RevokeDevice ends every session a device signed in.
	RevokeDevice(ctx context.Context, device string) error
}

// MemorySessions is a SessionStore in memory. The zero value is not
// usable: call NewMemorySessions.
type MemorySessions struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]BrowserSession
}

var _ SessionStore = (*MemorySessions)(nil)

// NewMemorySessions returns an empty store whose sessions last ttl, on
// the clock now (nil means time.Now).
func NewMemorySessions(ttl time.Duration, now func() time.Time) *MemorySessions {
	if now == nil {
		now = time.Now
	}
	return &MemorySessions{ttl: ttl, now: now, sessions: map[string]BrowserSession{}}
}

// Create implements SessionStore.
func (m *MemorySessions) Create(_ context.Context, device, user string, b Browser) (BrowserSession, error) {
	id := make([]byte, 32)
	_, _ = rand.Read(id) // crypto/rand.Read never fails (Go 1.24+)
	now := m.now()
	s := BrowserSession{ID: base64.RawURLEncoding.EncodeToString(id), Device: device, User: user, Browser: b, Created: now, Expires: now.Add(m.ttl)}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	m.sessions[s.ID] = s
	return s, nil
}

// sweep drops expired sessions. m.mu is held.
func (m *MemorySessions) sweep(now time.Time) {
	for id, s := range m.sessions {
		if !now.Before(s.Expires) {
			delete(m.sessions, id)
		}
	}
}

// Lookup implements SessionStore.
func (m *MemorySessions) Lookup(_ context.Context, id string) (BrowserSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok || !m.now().Before(s.Expires) {
		return BrowserSession{}, ErrNoSession
	}
	return s, nil
}

// ListByDevice implements SessionStore.
func (m *MemorySessions) ListByDevice(_ context.Context, device string) ([]BrowserSession, error) {
	return m.list(func(s BrowserSession) bool { return s.Device == device }), nil
}

// ListByUser implements SessionStore.
func (m *MemorySessions) ListByUser(_ context.Context, user string) ([]BrowserSession, error) {
	return m.list(func(s BrowserSession) bool { return s.User == user }), nil
}

// list returns the live sessions that match, oldest first.
func (m *MemorySessions) list(match func(BrowserSession) bool) []BrowserSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(m.now())
	var out []BrowserSession
	for _, s := range m.sessions {
		if match(s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b BrowserSession) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Revoke implements SessionStore.
func (m *MemorySessions) Revoke(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

// RevokeDevice implements SessionStore.
func (m *MemorySessions) RevokeDevice(_ context.Context, device string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.sessions {
		if s.Device == device {
			delete(m.sessions, id)
		}
	}
	return nil
}

// RevokeDevice revokes a device for good and ends every browser session
// it signed in: what a site's "remove this phone" does.
func RevokeDevice(ctx context.Context, devices DeviceStore, sessions SessionStore, id string) error {
	if err := devices.Revoke(ctx, id); err != nil {
		return err
	}
	if err := sessions.RevokeDevice(ctx, id); err != nil {
		return fmt.Errorf("failed to end the sessions of device %q: %w", id, err)
	}
	return nil
}
