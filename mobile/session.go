package mobile

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/scanin/scanin/protocol"
)

// Session is an inspected session: what the app shows the person before
// they choose Log in or Deny. Only Client.Inspect makes one, and only a
// Session can Approve, so nothing is delivered without this step.
type Session struct {
	client   *Client
	link     protocol.Link
	info     protocol.SessionInfo
	browser  string
	deadline time.Time // on this phone's clock

	mu       sync.Mutex
	approved *approval // what was sealed, once Approve ran
}

// approval is a sealed payload and what it was sealed from, so a retry
// resends the same bytes and a different payload is refused.
type approval struct {
	kind, data, deviceName, deviceType string
	sealed                             []byte
	checkCode                          string
}

func newSession(c *Client, l protocol.Link, info protocol.SessionInfo, deadline time.Time) *Session {
	return &Session{
		client:   c,
		link:     l,
		info:     info,
		browser:  DescribeBrowser(info.Requester.UserAgent),
		deadline: deadline,
	}
}

// inspected reports whether the session came from Client.Inspect. A
// binding can make a zero Session (gobind gives every bound struct a
// no-argument constructor); it must not approve anything.
func (s *Session) inspected() bool { return s != nil && s.client != nil }

func notInspected() *Outcome {
	return &Outcome{Code: CodeBadRequest, Message: "the Session was not made by Client.Inspect: inspect the scanned link first"}
}

// AppID returns the app id the session is for.
func (s *Session) AppID() string { return s.info.App }

// AppName returns the app's name as the relay's operator configured it
// ("Demo Shop").
func (s *Session) AppName() string { return s.info.AppName }

// Origin returns the origin of the page that asks to be signed in
// ("https://shop.example"), which the relay checked against the app's
// allowed origins. It is empty for a native or terminal receiver.
func (s *Session) Origin() string { return s.info.Requester.Origin }

// Browser returns the requesting browser in words ("Chrome on Windows").
func (s *Session) Browser() string { return s.browser }

// UserAgent returns the requesting browser's raw User-Agent header. Show
// Browser instead: the raw header is whatever the requester chose to send.
func (s *Session) UserAgent() string { return s.info.Requester.UserAgent }

// RequesterIP returns the IP address the relay saw the browser connect
// from.
func (s *Session) RequesterIP() string { return s.info.Requester.IP }

// SenderIP returns the IP address the relay sees this phone connect from.
func (s *Session) SenderIP() string { return s.info.Sender.IP }

// SameNetwork reports whether the browser and this phone look like the
// same network (see the package documentation for the rule). When false,
// warn the person: someone elsewhere may have sent them this code.
func (s *Session) SameNetwork() bool {
	return SameNetwork(s.info.Requester.IP, s.info.Sender.IP)
}

// SecondsLeft returns the whole seconds until the session expires, counted
// now, or 0 once it has.
func (s *Session) SecondsLeft() int {
	left := time.Until(s.deadline)
	if left <= 0 {
		return 0
	}
	return int(left / time.Second)
}

// ExpiresAtMillis returns when the session expires, in Unix milliseconds
// on the relay's clock.
func (s *Session) ExpiresAtMillis() int64 { return s.info.ExpiresAt }

// State returns the state the relay reported: "waiting", or "scanned" when
// the session had been read before (by this phone on a retry, or by
// someone else who has the code).
func (s *Session) State() string { return string(s.info.State) }

// Relay returns the relay's base URL.
func (s *Session) Relay() string { return s.link.Relay }

// Approve seals a payload to the browser's key and delivers it. kind is
// "token" or "data" (for "assertion", which the SDK signs, call
// ApproveAssertion); deviceName and deviceType ("Pixel 9",
// "android") tell the browser which phone signed it in, and may be empty.
//
// The payload is sealed once, with iat set to now. Calling Approve again
// with the same arguments resends the same bytes, which is safe: the relay
// answers with the delivery's current state. Different arguments are
// refused with CodeBadRequest.
func (s *Session) Approve(kind, data, deviceName, deviceType string) *Outcome {
	if !s.inspected() {
		return notInspected()
	}
	if kind == string(protocol.KindAssertion) {
		return &Outcome{Code: CodeBadRequest, Message: `the SDK signs assertions itself: use ApproveAssertion for kind "assertion"`}
	}
	return s.deliver(kind, data, deviceName, deviceType, func() (string, *Outcome) { return data, nil })
}

// deliver seals the payload that makePayload returns (called once: a
// retry with the same kind, request and device resends the same bytes)
// and posts it to the relay.
func (s *Session) deliver(kind, request, deviceName, deviceType string, makePayload func() (string, *Outcome)) *Outcome {
	a, failure := s.seal(kind, request, deviceName, deviceType, makePayload)
	if failure != nil {
		return failure
	}
	url := s.link.Relay + protocol.SessionPath(s.link.SessionID)
	resp, body, serr := s.client.do(http.MethodPost, url, "application/octet-stream", a.sealed)
	if serr != nil {
		o := outcomeOf(serr)
		o.CheckCode = a.checkCode
		return o
	}
	o := answerOutcome(resp, body, map[int]protocol.State{
		http.StatusOK:       protocol.StateDelivered,
		http.StatusAccepted: protocol.StatePending,
	})
	o.CheckCode = a.checkCode
	return o
}

// seal seals the payload the first time, and afterwards returns what was
// sealed, provided the arguments are the same. data is what the caller
// asked for (the payload, or what an assertion is made from), compared on
// a retry; makePayload makes the payload, the first time only.
func (s *Session) seal(kind, data, deviceName, deviceType string, makePayload func() (string, *Outcome)) (*approval, *Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.approved; a != nil {
		if a.kind != kind || a.data != data || a.deviceName != deviceName || a.deviceType != deviceType {
			return nil, &Outcome{Code: CodeBadRequest, Message: "this session was approved with another payload: retry with the same arguments"}
		}
		return a, nil
	}
	payload, failure := makePayload()
	if failure != nil {
		return nil, failure
	}
	m := protocol.Message{Kind: protocol.Kind(kind), Data: payload, IssuedAt: time.Now().Unix()}
	if deviceName != "" || deviceType != "" {
		m.Device = &protocol.Device{Name: deviceName, Type: deviceType}
	}
	sealed, checkCode, err := protocol.SealMessage(s.link.PublicKey, s.link.App, s.link.SessionID, m)
	switch {
	case errors.Is(err, protocol.ErrMessageTooLarge):
		return nil, &Outcome{Code: CodeTooLarge, Message: "the payload does not fit in a sealed message of " + strconv.Itoa(protocol.MaxSealedSize) + " bytes"}
	case errors.Is(err, protocol.ErrMessageKind):
		return nil, &Outcome{Code: CodeBadRequest, Message: `unknown kind "` + kind + `": use "token", "data" or "assertion"`}
	case errors.Is(err, protocol.ErrMessageNotObject):
		return nil, &Outcome{Code: CodeBadRequest, Message: "the payload and device must be valid UTF-8"}
	case err != nil:
		return nil, &Outcome{Code: CodeUnexpected, Message: "failed to seal the payload: " + err.Error()}
	}
	s.approved = &approval{kind: kind, data: data, deviceName: deviceName, deviceType: deviceType, sealed: sealed, checkCode: checkCode}
	return s.approved, nil
}

// Deny ends the session: the browser is told "denied" and nothing can be
// delivered to it any more. The outcome is CodeDenied when it worked.
func (s *Session) Deny() *Outcome {
	if !s.inspected() {
		return notInspected()
	}
	url := s.link.Relay + protocol.DenyPath(s.link.SessionID)
	resp, body, serr := s.client.do(http.MethodPost, url, "", nil)
	if serr != nil {
		return outcomeOf(serr)
	}
	return answerOutcome(resp, body, map[int]protocol.State{http.StatusOK: protocol.StateDenied})
}

// answerOutcome maps a relay's answer to an Outcome: a success status with
// the state expected for it, or the relay's error.
func answerOutcome(resp *http.Response, body []byte, want map[int]protocol.State) *Outcome {
	state, ok := want[resp.StatusCode]
	if !ok {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return &Outcome{Code: CodeUnexpected, Message: "the relay answered " + resp.Status}
		}
		return outcomeOf(relayError(resp, body))
	}
	var got protocol.StateBody
	if err := json.Unmarshal(body, &got); err != nil || got.State != state {
		return &Outcome{Code: CodeUnexpected, Message: "the relay answered " + resp.Status + " without the state " + string(state)}
	}
	switch state {
	case protocol.StateDelivered:
		return &Outcome{Code: CodeDelivered, Message: "the browser received it"}
	case protocol.StatePending:
		return &Outcome{Code: CodePending, Message: "waiting for the browser: in verify mode it waits for its user to check the number; offline, it gets the message when it reconnects"}
	default:
		return &Outcome{Code: CodeDenied, Message: "sign-in declined: the browser shows it was declined"}
	}
}
