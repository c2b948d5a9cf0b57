package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func TestFrameWireForm(t *testing.T) {
	for _, c := range []struct {
		f    Frame
		wire string
	}{
		{Frame{Type: FrameReady, ExpiresAt: 1763750060000, Resume: "r-1"}, `{"type":"ready","expires_at":1763750060000,"resume":"r-1"}`},
		{Frame{Type: FrameScanned}, `{"type":"scanned"}`},
		{Frame{Type: FrameSealed, Sealed: []byte{0xfb, 0xff, 0x00}}, `{"type":"sealed","data":"-_8A"}`},
		{Frame{Type: FrameDenied}, `{"type":"denied"}`},
		{Frame{Type: FrameExpired}, `{"type":"expired"}`},
		{Frame{Type: FrameAck}, `{"type":"ack"}`},
		{Frame{Type: FramePing}, PingJSON},
		{Frame{Type: FramePong}, PongJSON},
		{Frame{Type: FramePing}, `{"type":"ping"}`},
		{Frame{Type: FramePong}, `{"type":"pong"}`},
		// A keepalive carries nothing, whatever the struct holds.
		{Frame{Type: FramePing, ExpiresAt: 1, Resume: "x", Sealed: []byte{1}, Reason: RejectKind}, `{"type":"ping"}`},
		{Frame{Type: FrameReject, Reason: RejectDecrypt}, `{"type":"reject","reason":"decrypt"}`},
		{Frame{Type: FrameReject, Reason: RejectStale}, `{"type":"reject","reason":"stale"}`},
		{Frame{Type: FrameReject, Reason: RejectKind}, `{"type":"reject","reason":"kind"}`},
		// Fields of other types are not written: "scanned" is exactly this
		// object, telling the receiver nothing about the sender.
		{Frame{Type: FrameScanned, ExpiresAt: 1, Resume: "x", Sealed: []byte{1}, Reason: RejectKind}, `{"type":"scanned"}`},
	} {
		got := c.f.AppendJSON(nil)
		if string(got) != c.wire {
			t.Errorf("AppendJSON(%+v) = %s, want %s", c.f, got, c.wire)
		}
		if m, _ := c.f.MarshalJSON(); !bytes.Equal(m, got) {
			t.Errorf("MarshalJSON differs from AppendJSON: %s", m)
		}
		if !json.Valid(got) {
			t.Errorf("%s is not JSON", got)
		}
		back, err := ParseFrame(got)
		if err != nil {
			t.Fatalf("ParseFrame(%s): %v", got, err)
		}
		if !bytes.Equal(back.AppendJSON(nil), got) {
			t.Errorf("ParseFrame(%s) = %+v, which writes differently", got, back)
		}
	}
}

func TestParseFrame(t *testing.T) {
	sealed := bytes.Repeat([]byte{0xab}, 64)
	for in, want := range map[string]Frame{
		`{"type":"ready","expires_at":1,"resume":""}`:                  {Type: FrameReady, ExpiresAt: 1},
		`{"resume":"x","expires_at":-5,"type":"ready","extra":[1,{}]}`: {Type: FrameReady, ExpiresAt: -5, Resume: "x"},
		`{"type":"sealed","data":"` + EncodeBase64(sealed) + `"}`:      {Type: FrameSealed, Sealed: sealed},
		`{"type":"sealed","data":""}`:                                  {Type: FrameSealed, Sealed: []byte{}},
		` {"type" : "scanned", "user":"ignored"} `:                     {Type: FrameScanned},
		`{"type":"reject","reason":"stale","message":"clock"}`:         {Type: FrameReject, Reason: RejectStale},
		`{"type":"ack","reason":"ignored"}`:                            {Type: FrameAck},
		`{"type":"denied"}`:                                            {Type: FrameDenied},
		`{"type":"expired"}`:                                           {Type: FrameExpired},
		`{"type":"\u0061ck"}`:                                          {Type: FrameAck},
		`{"type":"ping"}`:                                              {Type: FramePing},
		`{"type":"pong"}`:                                              {Type: FramePong},
		` { "type" : "ping" } `:                                        {Type: FramePing},
		`{"type":"ping","seq":1}`:                                      {Type: FramePing},
	} {
		got, err := ParseFrame([]byte(in))
		if err != nil {
			t.Errorf("ParseFrame(%s): %v", in, err)
			continue
		}
		if got.Type != want.Type || got.ExpiresAt != want.ExpiresAt || got.Resume != want.Resume ||
			!bytes.Equal(got.Sealed, want.Sealed) || got.Reason != want.Reason {
			t.Errorf("ParseFrame(%s) = %+v, want %+v", in, got, want)
		}
	}
	for name, in := range map[string]string{
		"empty":                     ``,
		"not JSON":                  `ready`,
		"array":                     `["ready"]`,
		"string":                    `"ready"`,
		"null":                      `null`,
		"no type":                   `{}`,
		"type number":               `{"type":1}`,
		"type null":                 `{"type":null}`,
		"unknown type":              `{"type":"hello"}`,
		"ping upper case":           `{"type":"PING"}`,
		"ping not an object":        `"ping"`,
		"ping twice":                `{"type":"ping","type":"ping"}`,
		"type upper case":           `{"type":"READY","expires_at":1,"resume":""}`,
		"duplicate type":            `{"type":"ack","type":"ack"}`,
		"ready without expires_at":  `{"type":"ready","resume":"x"}`,
		"ready without resume":      `{"type":"ready","expires_at":1}`,
		"ready expires_at string":   `{"type":"ready","expires_at":"1","resume":"x"}`,
		"ready expires_at float":    `{"type":"ready","expires_at":1.5,"resume":"x"}`,
		"ready expires_at huge":     `{"type":"ready","expires_at":1e30,"resume":"x"}`,
		"ready resume number":       `{"type":"ready","expires_at":1,"resume":1}`,
		"sealed without data":       `{"type":"sealed"}`,
		"sealed data number":        `{"type":"sealed","data":1}`,
		"sealed data padded":        `{"type":"sealed","data":"-_8A=="}`,
		"sealed data std base64":    `{"type":"sealed","data":"+/8A"}`,
		"sealed data not base64":    `{"type":"sealed","data":"!!"}`,
		"sealed data non-canonical": `{"type":"sealed","data":"-_9"}`,
		"reject without reason":     `{"type":"reject"}`,
		"reject unknown reason":     `{"type":"reject","reason":"because"}`,
		"reject reason number":      `{"type":"reject","reason":1}`,
		"trailing garbage":          `{"type":"ack"}x`,
	} {
		if f, err := ParseFrame([]byte(in)); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: ParseFrame(%s) = %+v, %v; want ErrFrame", name, in, f, err)
		}
	}
}

func TestCodes(t *testing.T) {
	want := map[Code]int{
		"bad_request": 400, "origin_denied": 403, "not_found": 404, "conflict": 409, "already_used": 410,
		"expired": 410, "too_large": 413, "rejected": 422, "rate_limited": 429, "unavailable": 503,
	}
	if len(Codes) != len(want) {
		t.Errorf("Codes lists %d codes, docs/protocol.md %d", len(Codes), len(want))
	}
	for _, c := range Codes {
		if c.HTTPStatus() != want[c] || c.CloseCode() != 4000+want[c] || !c.Known() {
			t.Errorf("code %q: status %d, close %d, known %v; want %d", c, c.HTTPStatus(), c.CloseCode(), c.Known(), want[c])
		}
		delete(want, c)
	}
	if len(want) != 0 {
		t.Errorf("Codes misses %v", want)
	}
	for _, c := range []Code{"", "ok", "Conflict", "internal"} {
		if c.Known() || c.HTTPStatus() != 0 {
			t.Errorf("code %q is known", c)
		}
	}
}

func TestErrorBody(t *testing.T) {
	for _, c := range []struct {
		e    Error
		wire string
	}{
		{Error{Code: CodeNotFound, Message: "no such session"}, `{"error":"not_found","message":"no such session"}`},
		{Error{Code: CodeConflict, Message: "delivery in flight", RetryAfterMS: 250}, `{"error":"conflict","message":"delivery in flight","retry_after":250}`},
		{Error{Code: CodeBadRequest}, `{"error":"bad_request","message":""}`},
		{Error{Code: CodeTooLarge, Message: "<\"\n>"}, `{"error":"too_large","message":"\u003c\"\n\u003e"}`},
	} {
		got := c.e.AppendJSON(nil)
		if string(got) != c.wire {
			t.Errorf("AppendJSON = %s, want %s", got, c.wire)
		}
		if m, _ := json.Marshal(&c.e); !bytes.Equal(m, got) {
			t.Errorf("json.Marshal uses %s, want %s", m, got)
		}
		back := ParseError(got)
		if *back != c.e {
			t.Errorf("ParseError(%s) = %+v, want %+v", got, *back, c.e)
		}
	}
	for _, in := range []string{``, `not json`, `[]`, `"error"`, `{"error":"a","error":"b"}`} {
		e := ParseError([]byte(in))
		if e.Code != "" || e.Message != "unreadable error body" {
			t.Errorf("ParseError(%q) = %+v", in, *e)
		}
	}
	if e := ParseError([]byte(`{"error":7,"message":[],"retry_after":"x"}`)); *e != (Error{}) {
		t.Errorf("ParseError with wrong types = %+v", *e)
	}

	err := error(&Error{Code: CodeExpired, Message: "too late"})
	if err.Error() != "relay: expired: too late" || (&Error{Code: CodeExpired}).Error() != "relay: expired" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, &Error{Code: CodeExpired}) || errors.Is(err, &Error{Code: CodeAlreadyUsed}) {
		t.Error("errors.Is does not match on the code")
	}
	var e *Error
	if !errors.As(errors.Join(errors.New("x"), err), &e) || e.Code != CodeExpired {
		t.Error("errors.As does not find the *Error")
	}
}

func TestErrorFromClose(t *testing.T) {
	for _, c := range []struct {
		code   int
		reason string
		ok     bool
		want   Error
	}{
		{4409, "conflict", true, Error{Code: CodeConflict}},
		{4410, "expired", true, Error{Code: CodeExpired}},
		{4410, "already_used", true, Error{Code: CodeAlreadyUsed}},
		{4403, "origin_denied", true, Error{Code: CodeOriginDenied}},
		{4404, "conflict", true, Error{Code: CodeConflict, Message: "closed with 4404"}},
		{4999, "weird", true, Error{Code: "weird", Message: "closed with 4999"}},
		{4000, "", true, Error{Message: "closed with 4000"}},
		{1000, "", false, Error{}},
		{1011, "internal", false, Error{}},
		{3999, "conflict", false, Error{}},
		{5000, "conflict", false, Error{}},
	} {
		e, ok := ErrorFromClose(c.code, c.reason)
		if ok != c.ok || (ok && *e != c.want) || (!ok && e != nil) {
			t.Errorf("ErrorFromClose(%d, %q) = %+v, %v; want %+v, %v", c.code, c.reason, e, ok, c.want, c.ok)
		}
	}
	for _, c := range Codes {
		if e, ok := ErrorFromClose(c.CloseCode(), string(c)); !ok || e.Code != c || e.Message != "" {
			t.Errorf("code %q does not survive a close: %+v, %v", c, e, ok)
		}
	}
}
