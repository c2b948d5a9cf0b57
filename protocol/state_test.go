package protocol

import (
	"encoding/json"
	"testing"
)

// TestStates pins each state's wire name (docs/protocol.md's, which relays,
// phones and dashboards read) and whether it is final.
func TestStates(t *testing.T) {
	want := []struct {
		state State
		name  string
		ended bool
	}{
		{StateWaiting, "waiting", false},
		{StateScanned, "scanned", false},
		{StatePending, "pending", false},
		{StateDelivered, "delivered", true},
		{StateDenied, "denied", true},
		{StateExpired, "expired", true},
	}
	if len(States) != len(want) {
		t.Fatalf("States lists %d states, the table %d", len(States), len(want))
	}
	for i, w := range want {
		t.Run(w.name, func(t *testing.T) {
			if States[i] != w.state {
				t.Errorf("States[%d] = %q, want %q", i, States[i], w.state)
			}
			if w.state.String() != w.name || string(w.state) != w.name {
				t.Errorf("name %q, want %q", w.state.String(), w.name)
			}
			if !w.state.Known() || w.state.Ended() != w.ended {
				t.Errorf("known %v, ended %v; want true, %v", w.state.Known(), w.state.Ended(), w.ended)
			}
			b, err := json.Marshal(StateBody{State: w.state})
			if err != nil || string(b) != `{"state":"`+w.name+`"}` {
				t.Errorf("StateBody = %s, %v", b, err)
			}
			var back StateBody
			if err := json.Unmarshal(b, &back); err != nil || back.State != w.state {
				t.Errorf("StateBody round trip: %q, %v", back.State, err)
			}
		})
	}
	for _, s := range []State{"", "Waiting", "rejected", "unknown"} {
		if s.Known() || s.Ended() {
			t.Errorf("%q: known %v, ended %v; want neither", s, s.Known(), s.Ended())
		}
	}
}
