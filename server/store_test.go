package server

import (
	"errors"
	"testing"

	"github.com/scanin/scanin/server/session"
)

// peek returns a copy of the session sid as the relay's store holds it, or
// nil.
func peek(t testing.TB, rl *Relay, sid string) *session.Session {
	t.Helper()
	var c session.Session
	_, err := rl.store.update(t.Context(), sid, func(s *session.Session) session.Outcome {
		c = *s
		return session.Outcome{}
	})
	if errors.Is(err, errNoSession) {
		return nil
	}
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	return &c
}
