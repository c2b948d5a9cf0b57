package session

import (
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
)

var (
	t0    = time.Unix(1763750000, 0)
	rules = Rules{AckWait: 10 * time.Second}
)

func newTestSession() *Session {
	s := New("sid", "demo", "Demo Shop", protocol.Requester{IP: "203.0.113.5"}, time.Minute, "resume-secret", t0)
	s.Start("l1", t0)
	return s
}

func frameTypes(fs []protocol.Frame) []protocol.FrameType {
	var out []protocol.FrameType
	for _, f := range fs {
		out = append(out, f.Type)
	}
	return out
}

func wantFrames(t *testing.T, what string, o Outcome, want ...protocol.FrameType) {
	t.Helper()
	got := frameTypes(o.Frames)
	if len(got) != len(want) {
		t.Fatalf("%s: frames %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: frames %v, want %v", what, got, want)
		}
	}
}

func wantCode(t *testing.T, what string, r Reply, code protocol.Code) {
	t.Helper()
	if r.Err == nil || r.Err.Code != code {
		t.Fatalf("%s: reply %+v, want %s", what, r, code)
	}
}

func TestStartGreetsWithReady(t *testing.T) {
	s := New("sid", "demo", "Demo Shop", protocol.Requester{}, 30*time.Second, "r", t0)
	o := s.Start("l1", t0)
	wantFrames(t, "start", o, protocol.FrameReady)
	if f := o.Frames[0]; f.ExpiresAt != t0.Add(30*time.Second).UnixMilli() || f.Resume != "r" {
		t.Errorf("ready %+v", f)
	}
}

func TestReadMarksScannedOnce(t *testing.T) {
	s := newTestSession()
	state, o := s.Read(t0.Add(time.Second))
	if state != protocol.StateWaiting || s.State != protocol.StateScanned {
		t.Fatalf("first read: state %v, then %v", state, s.State)
	}
	wantFrames(t, "first read", o, protocol.FrameScanned)
	state, o = s.Read(t0.Add(2 * time.Second))
	if state != protocol.StateScanned {
		t.Fatalf("second read: state %v", state)
	}
	wantFrames(t, "second read", o)
}

func TestDeliverAckDelivers(t *testing.T) {
	s := newTestSession()
	msg := []byte("sealed")
	o := s.Deliver(msg, SumOf(msg), rules, t0.Add(time.Second))
	if !o.Reply.Wait {
		t.Fatalf("deliver to a listener: %+v, want wait", o.Reply)
	}
	wantFrames(t, "deliver", o, protocol.FrameSealed)
	o = s.Ack("l1", t0.Add(1500*time.Millisecond))
	if !o.Ended || o.Settle == nil || o.Settle.State != protocol.StateDelivered || o.Latency != 500*time.Millisecond {
		t.Fatalf("ack: %+v", o)
	}
	if s.Held != nil || s.Resume != "" || s.Requester.IP != "" {
		t.Errorf("an ended session keeps more than its outcome: %+v", s)
	}
	if o := s.Deliver(msg, SumOf(msg), rules, t0.Add(2*time.Second)); o.Reply.State != protocol.StateDelivered {
		t.Errorf("retry with the same bytes: %+v, want delivered", o.Reply)
	}
	other := []byte("other")
	wantCode(t, "other bytes", s.Deliver(other, SumOf(other), rules, t0.Add(2*time.Second)).Reply, protocol.CodeAlreadyUsed)
	wantCode(t, "deny", s.Deny(rules, t0.Add(2*time.Second)).Reply, protocol.CodeAlreadyUsed)
	wantCode(t, "listen", s.Listen("", "l2", t0.Add(2*time.Second)).Reply, protocol.CodeAlreadyUsed)
	if !s.Forgettable(10*time.Minute, t0.Add(12*time.Minute)) || s.Forgettable(10*time.Minute, t0.Add(5*time.Minute)) {
		t.Error("tombstone kept for the wrong time")
	}
}

func TestRejectGoesBackToWaiting(t *testing.T) {
	s := newTestSession()
	s.Read(t0)
	junk := []byte("junk")
	s.Deliver(junk, SumOf(junk), rules, t0)
	o := s.Reject("l1", t0)
	wantCode(t, "reject settles", *o.Settle, protocol.CodeRejected)
	if s.State != protocol.StateWaiting || s.Held != nil {
		t.Fatalf("after reject: state %v held %v", s.State, s.Held)
	}
	good := []byte("good")
	if o := s.Deliver(good, SumOf(good), rules, t0); !o.Reply.Wait {
		t.Fatalf("a new delivery after reject: %+v", o.Reply)
	}
}

func TestConflictWhileHeld(t *testing.T) {
	s := newTestSession()
	a, b := []byte("a"), []byte("b")
	s.Deliver(a, SumOf(a), rules, t0)
	o := s.Deliver(b, SumOf(b), rules, t0.Add(4*time.Second))
	wantCode(t, "other bytes in flight", o.Reply, protocol.CodeConflict)
	if o.Reply.Err.RetryAfterMS != 6000 {
		t.Errorf("retry_after %d, want 6000 (the rest of the ack wait)", o.Reply.Err.RetryAfterMS)
	}
	if o := s.Deliver(a, SumOf(a), rules, t0.Add(5*time.Second)); !o.Reply.Wait {
		t.Errorf("same bytes in flight: %+v, want to wait for the outcome", o.Reply)
	}
	wantCode(t, "deny in flight", s.Deny(rules, t0.Add(5*time.Second)).Reply, protocol.CodeConflict)
}

func TestPendingThenResume(t *testing.T) {
	s := newTestSession()
	s.Detach("l1")
	msg := []byte("m")
	if o := s.Deliver(msg, SumOf(msg), rules, t0); o.Reply.State != protocol.StatePending || len(o.Frames) != 0 {
		t.Fatalf("deliver with no listener: %+v", o)
	}
	wantCode(t, "listen without resume", s.Listen("", "l2", t0).Reply, protocol.CodeConflict)
	wantCode(t, "listen with a wrong resume", s.Listen("resume-secreT", "l2", t0).Reply, protocol.CodeConflict)
	if err := s.CheckListen("resume-secret", t0); err != nil {
		t.Fatalf("CheckListen: %v", err)
	}
	o := s.Listen("resume-secret", "l2", t0.Add(time.Second))
	wantFrames(t, "resume", o, protocol.FrameReady, protocol.FrameSealed)
	if o.Replace.Code != 0 {
		t.Errorf("resume with nobody attached replaces someone: %+v", o.Replace)
	}
	if o := s.Listen("resume-secret", "l3", t0.Add(time.Second)); o.Replace.Code != protocol.CodeConflict.CloseCode() || o.Replaced != "l2" {
		t.Errorf("resume while attached: replace %+v of %q, want l2's socket closed", o.Replace, o.Replaced)
	}
	if o := s.Ack("l3", t0.Add(2*time.Second)); !o.Ended || o.Listener != "l3" || o.Close.Code != 1000 {
		t.Errorf("ack after resume: %+v", o)
	}
}

// TestOnlyTheCurrentListener: a listener that was replaced (its socket
// may still be closing, perhaps on another node) can neither detach the
// one that replaced it nor ack or reject for it.
func TestOnlyTheCurrentListener(t *testing.T) {
	s := newTestSession()
	msg := []byte("m")
	if o := s.Listen("resume-secret", "l2", t0); o.Replaced != "l1" || o.Listener != "l2" {
		t.Fatalf("resume: replaced %q, frames for %q; want l1, l2", o.Replaced, o.Listener)
	}
	if s.Detach("l1") || s.Listener != "l2" {
		t.Fatalf("the replaced listener detached the current one: listener %q", s.Listener)
	}
	if s.Detach("") {
		t.Fatal("an empty listener detached")
	}
	if o := s.Deliver(msg, SumOf(msg), rules, t0); !o.Reply.Wait || o.Listener != "l2" {
		t.Fatalf("deliver: %+v, want the sealed frame for l2", o)
	}
	if o := s.Ack("l1", t0); o.Ended || o.Settle != nil {
		t.Errorf("an ack from the replaced listener counted: %+v", o)
	}
	if o := s.Reject("l1", t0); o.Settle != nil || s.Held == nil {
		t.Errorf("a reject from the replaced listener counted: %+v", o)
	}
	if !s.Detach("l2") || s.Listener != "" || s.Sent {
		t.Fatalf("the current listener did not detach: listener %q, sent %v", s.Listener, s.Sent)
	}
	if o := s.Ack("l2", t0); o.Ended {
		t.Errorf("an ack after its listener detached counted: %+v", o)
	}
}

func TestExpiry(t *testing.T) {
	s := newTestSession()
	msg := []byte("m")
	s.Deliver(msg, SumOf(msg), rules, t0)
	if o := s.Expire(t0.Add(59 * time.Second)); o.Ended {
		t.Fatal("expired early")
	}
	o := s.Expire(t0.Add(time.Minute))
	if !o.Ended || o.Close.Code != 1000 {
		t.Fatalf("expire: %+v", o)
	}
	wantFrames(t, "expire", o, protocol.FrameExpired)
	wantCode(t, "expire settles", *o.Settle, protocol.CodeExpired)
	wantCode(t, "read", s.Listen("resume-secret", "l2", t0.Add(2*time.Minute)).Reply, protocol.CodeExpired)
	if o := s.Ack("l1", t0.Add(2*time.Minute)); o.Ended || o.Settle != nil {
		t.Errorf("a late ack changed an expired session: %+v", o)
	}
}

func TestEveryEventExpiresFirst(t *testing.T) {
	late := t0.Add(2 * time.Minute)
	for name, event := range map[string]func(s *Session) Reply{
		"read":    func(s *Session) Reply { _, o := s.Read(late); return o.Reply },
		"deliver": func(s *Session) Reply { return s.Deliver([]byte("m"), SumOf([]byte("m")), rules, late).Reply },
		"deny":    func(s *Session) Reply { return s.Deny(rules, late).Reply },
		"listen":  func(s *Session) Reply { return s.Listen("resume-secret", "l2", late).Reply },
	} {
		s := newTestSession()
		wantCode(t, name, event(s), protocol.CodeExpired)
		if s.State != protocol.StateExpired {
			t.Errorf("%s: state %v", name, s.State)
		}
	}
}

func TestDeny(t *testing.T) {
	s := newTestSession()
	o := s.Deny(rules, t0)
	if o.Reply.State != protocol.StateDenied || !o.Ended || o.Close.Code != 1000 {
		t.Fatalf("deny: %+v", o)
	}
	wantFrames(t, "deny", o, protocol.FrameDenied)
	wantCode(t, "deny again", s.Deny(rules, t0).Reply, protocol.CodeAlreadyUsed)

	// A message held for an absent receiver does not stop a deny.
	s = newTestSession()
	s.Detach("l1")
	s.Deliver([]byte("m"), SumOf([]byte("m")), rules, t0)
	o = s.Deny(rules, t0)
	if o.Reply.State != protocol.StateDenied || o.Settle == nil {
		t.Fatalf("deny with a held message: %+v", o)
	}
}

func TestAckOrRejectWithNothingHeldIsIgnored(t *testing.T) {
	s := newTestSession()
	if o := s.Ack("l1", t0); o.Ended || o.Settle != nil {
		t.Errorf("ack: %+v", o)
	}
	if o := s.Reject("l1", t0); o.Settle != nil || s.State != protocol.StateWaiting {
		t.Errorf("reject: %+v", o)
	}
}
