package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testNow is the receiver's clock in the message tests.
var testNow = time.Unix(1763750000, 0)

func msgJSON(iat int64, rest string) string {
	return `{"v":1,"kind":"token","data":"tok","iat":` + strconv.FormatInt(iat, 10) + rest + `}`
}

func TestInfo(t *testing.T) {
	if got, want := Info("demo", testSID), "scanin/v1\x00demo\x00"+testSID; string(got) != want {
		t.Errorf("Info = %q, want %q", got, want)
	}
	// Valid ids hold no 0x00, so distinct sessions have distinct infos.
	if bytes.Equal(Info("demo", testSID), Info("demo2", testSID)) || bytes.Equal(Info("demo", testSID), Info("demo", NewSessionID())) {
		t.Error("Info does not separate sessions")
	}
}

func TestParseMessage(t *testing.T) {
	now := testNow.Unix()
	big := strings.Repeat("x", MaxPlaintextSize-len(msgJSON(now, "")))
	cases := []struct {
		name string
		in   string
		err  error
		want *Message // checked when err is nil
	}{
		{"minimal", msgJSON(now, ""), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now}},
		{"iat at now-300", msgJSON(now-300, ""), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now - 300}},
		{"iat at now+60", msgJSON(now+60, ""), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now + 60}},
		{"iat at now-301", msgJSON(now-301, ""), ErrMessageStale, nil},
		{"iat at now+61", msgJSON(now+61, ""), ErrMessageStale, nil},
		{"iat 0", msgJSON(0, ""), ErrMessageStale, nil},
		{"iat in ms", msgJSON(now*1000, ""), ErrMessageStale, nil},
		{"iat negative", msgJSON(-now, ""), ErrMessageStale, nil},
		{"kind data", `{"v":1,"kind":"data","data":"","iat":1763750000}`, nil, &Message{Kind: KindData, IssuedAt: now}},
		{"kind assertion", `{"v":1,"kind":"assertion","data":"a.b.c","iat":1763750000}`, nil, &Message{Kind: KindAssertion, Data: "a.b.c", IssuedAt: now}},
		{"fields in another order, with spaces", " {\n \"iat\" : 1763750000 , \"data\":\"tok\",\"kind\":\"token\",\"v\":1 }\n", nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now}},
		{"unknown fields ignored", msgJSON(now, `,"extra":{"x":[1,2,null]}`), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now}},
		{"escapes in data", `{"v":1,"kind":"data","data":"a\"b\\c\u00e9\ud83d\ude00\n","iat":1763750000}`, nil, &Message{Kind: KindData, Data: "a\"b\\cé😀\n", IssuedAt: now}},

		{"device", msgJSON(now, `,"device":{"name":"Pixel 9","type":"android"}`), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now, Device: &Device{Name: "Pixel 9", Type: "android"}}},
		{"device null", msgJSON(now, `,"device":null`), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now}},
		{"device empty object", msgJSON(now, `,"device":{}`), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now, Device: &Device{}}},
		{"device name only", msgJSON(now, `,"device":{"name":"cli"}`), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now, Device: &Device{Name: "cli"}}},
		{"device extra field", msgJSON(now, `,"device":{"name":"n","type":"ios","model":1}`), nil, &Message{Kind: KindToken, Data: "tok", IssuedAt: now, Device: &Device{Name: "n", Type: "ios"}}},
		{"device name null", msgJSON(now, `,"device":{"name":null}`), ErrMessageNotObject, nil},
		{"device type number", msgJSON(now, `,"device":{"type":1}`), ErrMessageNotObject, nil},
		{"device string", msgJSON(now, `,"device":"Pixel"`), ErrMessageNotObject, nil},
		{"device array", msgJSON(now, `,"device":[]`), ErrMessageNotObject, nil},
		{"device false", msgJSON(now, `,"device":false`), ErrMessageNotObject, nil},
		{"device duplicate key", msgJSON(now, `,"device":{"name":"a","name":"b"}`), ErrMessageNotObject, nil},

		{"kind unknown", `{"v":1,"kind":"login","data":"","iat":1763750000}`, ErrMessageKind, nil},
		{"kind empty", `{"v":1,"kind":"","data":"","iat":1763750000}`, ErrMessageKind, nil},
		{"kind upper case", `{"v":1,"kind":"Token","data":"","iat":1763750000}`, ErrMessageKind, nil},
		{"kind with space", `{"v":1,"kind":"token ","data":"","iat":1763750000}`, ErrMessageKind, nil},

		{"v 2", `{"v":2,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v 0", `{"v":0,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v -1", `{"v":-1,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v huge", `{"v":100000000000000000000,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v 1.0", `{"v":1.0,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v 1e0", `{"v":1e0,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v string", `{"v":"1","kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v null", `{"v":null,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},
		{"v true", `{"v":true,"kind":"token","data":"","iat":1763750000}`, ErrMessageVersion, nil},

		{"missing v", `{"kind":"token","data":"","iat":1763750000}`, ErrMessageNotObject, nil},
		{"missing kind", `{"v":1,"data":"","iat":1763750000}`, ErrMessageNotObject, nil},
		{"missing data", `{"v":1,"kind":"token","iat":1763750000}`, ErrMessageNotObject, nil},
		{"missing iat", `{"v":1,"kind":"token","data":""}`, ErrMessageNotObject, nil},
		{"empty object", `{}`, ErrMessageNotObject, nil},

		{"kind number", `{"v":1,"kind":1,"data":"","iat":1763750000}`, ErrMessageNotObject, nil},
		{"kind null", `{"v":1,"kind":null,"data":"","iat":1763750000}`, ErrMessageNotObject, nil},
		{"data number", `{"v":1,"kind":"token","data":1,"iat":1763750000}`, ErrMessageNotObject, nil},
		{"data null", `{"v":1,"kind":"token","data":null,"iat":1763750000}`, ErrMessageNotObject, nil},
		{"data object", `{"v":1,"kind":"token","data":{},"iat":1763750000}`, ErrMessageNotObject, nil},
		{"data array", `{"v":1,"kind":"token","data":["x"],"iat":1763750000}`, ErrMessageNotObject, nil},
		{"iat string", `{"v":1,"kind":"token","data":"","iat":"1763750000"}`, ErrMessageNotObject, nil},
		{"iat fraction", `{"v":1,"kind":"token","data":"","iat":1763750000.5}`, ErrMessageNotObject, nil},
		{"iat exponent", `{"v":1,"kind":"token","data":"","iat":1.76375e9}`, ErrMessageNotObject, nil},
		{"iat null", `{"v":1,"kind":"token","data":"","iat":null}`, ErrMessageNotObject, nil},
		{"iat overflow", `{"v":1,"kind":"token","data":"","iat":9223372036854775808}`, ErrMessageNotObject, nil},

		{"array", `[1,"token","",1763750000]`, ErrMessageNotObject, nil},
		{"string", `"{\"v\":1}"`, ErrMessageNotObject, nil},
		{"null", `null`, ErrMessageNotObject, nil},
		{"number", `1`, ErrMessageNotObject, nil},
		{"bool", `true`, ErrMessageNotObject, nil},
		{"empty", ``, ErrMessageNotObject, nil},
		{"whitespace", " \n", ErrMessageNotObject, nil},
		{"not JSON", `v=1&kind=token`, ErrMessageNotObject, nil},
		{"truncated", msgJSON(now, "")[:20], ErrMessageNotObject, nil},
		{"trailing garbage", msgJSON(now, "") + "x", ErrMessageNotObject, nil},
		{"two objects", msgJSON(now, "") + msgJSON(now, ""), ErrMessageNotObject, nil},
		{"duplicate v", `{"v":1,"v":1,"kind":"token","data":"","iat":1763750000}`, ErrMessageNotObject, nil},
		{"duplicate kind", `{"v":1,"kind":"data","kind":"token","data":"","iat":1763750000}`, ErrMessageNotObject, nil},
		{"duplicate data", `{"v":1,"kind":"token","data":"a","data":"b","iat":1763750000}`, ErrMessageNotObject, nil},
		{"duplicate iat", `{"v":1,"kind":"token","data":"","iat":1763750000,"iat":1763750000}`, ErrMessageNotObject, nil},
		{"duplicate via escape", `{"v":1,"kind":"token","data":"","iat":1763750000,"\u0069at":1}`, ErrMessageNotObject, nil},
		{"invalid UTF-8 in data", "{\"v\":1,\"kind\":\"token\",\"data\":\"\xff\",\"iat\":1763750000}", ErrMessageNotObject, nil},
		{"lone surrogate in data", `{"v":1,"kind":"token","data":"\ud800","iat":1763750000}`, ErrMessageNotObject, nil},

		{"exactly the size limit", `{"v":1,"kind":"token","data":"tok` + big + `","iat":1763750000}`, nil, &Message{Kind: KindToken, Data: "tok" + big, IssuedAt: now}},
		{"one byte over the size limit", `{"v":1,"kind":"token","data":"tok` + big + `x","iat":1763750000}`, ErrMessageTooLarge, nil},
		{"far over the size limit", strings.Repeat(" ", 1<<20) + msgJSON(now, ""), ErrMessageTooLarge, nil},
	}
	if n := len(cases[len(cases)-3].in); n != MaxPlaintextSize {
		t.Fatalf("size-limit case is %d bytes, want %d", n, MaxPlaintextSize)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(c.in), testNow)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("ParseMessage(%.80q) error %v, want %v", c.in, err, c.err)
				}
				if m != (Message{}) {
					t.Errorf("a rejected message returned %+v", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMessage(%.80q): %v", c.in, err)
			}
			if !sameMessage(m, *c.want) {
				t.Errorf("ParseMessage = %s, want %s", describe(m), describe(*c.want))
			}
		})
	}
}

// The window's edges are in whole seconds of the receiver's clock.
func TestParseMessageWindowSubSecond(t *testing.T) {
	now := testNow.Add(999 * time.Millisecond)
	for iat, want := range map[int64]error{
		testNow.Unix() - 300: nil,
		testNow.Unix() + 60:  nil,
		testNow.Unix() - 301: ErrMessageStale,
		testNow.Unix() + 61:  ErrMessageStale,
	} {
		if _, err := ParseMessage([]byte(msgJSON(iat, "")), now); !errors.Is(err, want) {
			t.Errorf("iat now%+d: %v, want %v", iat-testNow.Unix(), err, want)
		}
	}
}

func sameMessage(a, b Message) bool {
	if a.Kind != b.Kind || a.Data != b.Data || a.IssuedAt != b.IssuedAt || (a.Device == nil) != (b.Device == nil) {
		return false
	}
	return a.Device == nil || *a.Device == *b.Device
}

func describe(m Message) string {
	d := "nil"
	if m.Device != nil {
		d = fmt.Sprintf("%+v", *m.Device)
	}
	return fmt.Sprintf("{Kind:%q Data:%.40q IssuedAt:%d Device:%s}", m.Kind, m.Data, m.IssuedAt, d)
}

func TestMessageMarshal(t *testing.T) {
	m := Message{Kind: KindToken, Data: "abc", IssuedAt: 1763750000, Device: &Device{Name: "Pixel 9", Type: "android"}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// The exact wire form, with docs/protocol.md's field names in its order.
	if want := `{"v":1,"kind":"token","data":"abc","iat":1763750000,"device":{"name":"Pixel 9","type":"android"}}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	m.Device = nil
	if b, _ := m.Marshal(); string(b) != `{"v":1,"kind":"token","data":"abc","iat":1763750000}` {
		t.Errorf("Marshal without device = %s", b)
	}

	for name, c := range map[string]struct {
		m   Message
		err error
	}{
		"unknown kind":           {Message{Kind: "login", IssuedAt: 1}, ErrMessageKind},
		"empty kind":             {Message{IssuedAt: 1}, ErrMessageKind},
		"invalid UTF-8 data":     {Message{Kind: KindData, Data: "\xff"}, ErrMessageNotObject},
		"invalid UTF-8 device":   {Message{Kind: KindData, Device: &Device{Name: "\xc3"}}, ErrMessageNotObject},
		"invalid UTF-8 type":     {Message{Kind: KindData, Device: &Device{Type: "\xed\xa0\x80"}}, ErrMessageNotObject},
		"data too large":         {Message{Kind: KindData, Data: strings.Repeat("x", MaxPlaintextSize)}, ErrMessageTooLarge},
		"escaped data too large": {Message{Kind: KindData, Data: strings.Repeat("<", MaxPlaintextSize/2)}, ErrMessageTooLarge},
	} {
		if _, err := c.m.Marshal(); !errors.Is(err, c.err) {
			t.Errorf("%s: Marshal error %v, want %v", name, err, c.err)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	now := testNow.Unix()
	msgs := []Message{
		{Kind: KindToken, Data: "eyJhbGciOiJFUzI1NiJ9.e30.sig", IssuedAt: now},
		{Kind: KindData, Data: "", IssuedAt: now - 300},
		{Kind: KindAssertion, Data: "<script>&\u2028\u2029\"\\/\x00\x1f\x7f é 😀", IssuedAt: now + 60, Device: &Device{Name: "Pixel \"9\"", Type: "android"}},
		{Kind: KindData, Data: "x", IssuedAt: now, Device: &Device{}},
	}
	// The largest data that still fits.
	fill := strings.Repeat("y", MaxPlaintextSize-len(`{"v":1,"kind":"data","data":"","iat":1763750000}`))
	msgs = append(msgs, Message{Kind: KindData, Data: fill, IssuedAt: now})
	for _, m := range msgs {
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal(%s): %v", describe(m), err)
		}
		back, err := ParseMessage(b, testNow)
		if err != nil {
			t.Fatalf("ParseMessage(Marshal(%s)): %v", describe(m), err)
		}
		if !sameMessage(back, m) {
			t.Errorf("round trip of %s gave %s", describe(m), describe(back))
		}
		// encoding/json reads the same object: the codec speaks real JSON.
		var std struct {
			V      int    `json:"v"`
			Kind   string `json:"kind"`
			Data   string `json:"data"`
			IAT    int64  `json:"iat"`
			Device *struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"device"`
		}
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("encoding/json cannot read %s: %v", b, err)
		}
		if std.V != 1 || std.Kind != string(m.Kind) || std.Data != m.Data || std.IAT != m.IssuedAt || (std.Device == nil) != (m.Device == nil) {
			t.Errorf("encoding/json reads %+v from %s", std, b)
		}
	}
}

func TestRejectReasonFor(t *testing.T) {
	for err, want := range map[error]RejectReason{
		ErrMessageStale:             RejectStale,
		ErrMessageKind:              RejectKind,
		ErrMessageVersion:           RejectKind,
		ErrMessageNotObject:         RejectDecrypt,
		ErrMessageTooLarge:          RejectDecrypt,
		ErrOpen:                     RejectDecrypt,
		ErrKey:                      RejectDecrypt,
		ErrDestroyed:                RejectDecrypt,
		errors.New("anything else"): RejectDecrypt,
		fmt.Errorf("failed to open: %w", ErrMessageStale): RejectStale,
		fmt.Errorf("failed to open: %w", ErrMessageKind):  RejectKind,
	} {
		if got := RejectReasonFor(err); got != want {
			t.Errorf("RejectReasonFor(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestSealOpenMessage(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sid := NewSessionID()
	m := Message{Kind: KindToken, Data: "session-token", IssuedAt: testNow.Unix(), Device: &Device{Name: "Pixel 9", Type: "android"}}
	codes := map[string]bool{}
	for range 200 {
		sealed, sendCode, err := SealMessage(key.PublicKey(), "demo", sid, m)
		if err != nil {
			t.Fatal(err)
		}
		got, recvCode, err := OpenMessage(key, "demo", sid, sealed, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if !sameMessage(got, m) {
			t.Fatalf("OpenMessage = %s, want %s", describe(got), describe(m))
		}
		if sendCode != recvCode {
			t.Fatalf("check codes differ: sender %q, receiver %q", sendCode, recvCode)
		}
		if len(sendCode) != 2 || sendCode[0] < '0' || sendCode[0] > '9' || sendCode[1] < '0' || sendCode[1] > '9' {
			t.Fatalf("check code %q is not two digits", sendCode)
		}
		codes[sendCode] = true
	}
	if len(codes) < 20 {
		t.Errorf("200 sessions gave only %d distinct check codes", len(codes))
	}

	sealed, _, err := SealMessage(key.PublicKey(), "demo", sid, m)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey()
	sealRaw := func(pt string) []byte {
		b, err := Seal(key.PublicKey(), Info("demo", sid), []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, c := range map[string]struct {
		key      *PrivateKey
		app, sid string
		sealed   []byte
		now      time.Time
		err      error
		reason   RejectReason
	}{
		"wrong sid":       {key, "demo", NewSessionID(), sealed, testNow, ErrOpen, RejectDecrypt},
		"wrong app":       {key, "shop", sid, sealed, testNow, ErrOpen, RejectDecrypt},
		"wrong key":       {other, "demo", sid, sealed, testNow, ErrOpen, RejectDecrypt},
		"truncated":       {key, "demo", sid, sealed[:len(sealed)-1], testNow, ErrOpen, RejectDecrypt},
		"too short":       {key, "demo", sid, sealed[:EncSize+TagSize-1], testNow, ErrOpen, RejectDecrypt},
		"empty":           {key, "demo", sid, nil, testNow, ErrOpen, RejectDecrypt},
		"too large":       {key, "demo", sid, make([]byte, MaxSealedSize+1), testNow, ErrOpen, RejectDecrypt},
		"stale":           {key, "demo", sid, sealed, testNow.Add(301 * time.Second), ErrMessageStale, RejectStale},
		"from future":     {key, "demo", sid, sealed, testNow.Add(-61 * time.Second), ErrMessageStale, RejectStale},
		"unknown kind":    {key, "demo", sid, sealRaw(`{"v":1,"kind":"login","data":"","iat":1763750000}`), testNow, ErrMessageKind, RejectKind},
		"unknown v":       {key, "demo", sid, sealRaw(`{"v":2,"kind":"token","data":"","iat":1763750000}`), testNow, ErrMessageVersion, RejectKind},
		"not an object":   {key, "demo", sid, sealRaw(`"token"`), testNow, ErrMessageNotObject, RejectDecrypt},
		"empty plaintext": {key, "demo", sid, sealRaw(``), testNow, ErrMessageNotObject, RejectDecrypt},
	} {
		got, code, err := OpenMessage(c.key, c.app, c.sid, c.sealed, c.now)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: OpenMessage error %v, want %v", name, err, c.err)
		}
		if r := RejectReasonFor(err); r != c.reason {
			t.Errorf("%s: reject reason %q, want %q", name, r, c.reason)
		}
		if got != (Message{}) || code != "" {
			t.Errorf("%s: a refused message returned %s, code %q", name, describe(got), code)
		}
	}

	// The largest message that Marshal allows seals within MaxSealedSize,
	// and OpenMessage takes it.
	fill := strings.Repeat("y", MaxPlaintextSize-len(`{"v":1,"kind":"data","data":"","iat":1763750000}`))
	big := Message{Kind: KindData, Data: fill, IssuedAt: testNow.Unix()}
	sealed, _, err = SealMessage(key.PublicKey(), "demo", sid, big)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != MaxSealedSize {
		t.Errorf("largest message sealed to %d bytes, want %d", len(sealed), MaxSealedSize)
	}
	if _, _, err := OpenMessage(key, "demo", sid, sealed, testNow); err != nil {
		t.Errorf("OpenMessage of the largest message: %v", err)
	}

	if _, _, err := SealMessage(make([]byte, 31), "demo", sid, m); !errors.Is(err, ErrKey) {
		t.Errorf("SealMessage to a 31-byte key: %v, want ErrKey", err)
	}
	if _, _, err := SealMessage(key.PublicKey(), "demo", sid, Message{Kind: "login"}); !errors.Is(err, ErrMessageKind) {
		t.Errorf("SealMessage of an unknown kind: %v, want ErrMessageKind", err)
	}
}

// TestCheckCodeDefinition: the code is Export("scanin/v1 check", 2) read
// as a big-endian uint16, modulo 100, as two digits.
func TestCheckCodeDefinition(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		_, ctx, err := SetupSender(key.PublicKey(), Info("demo", NewSessionID()))
		if err != nil {
			t.Fatal(err)
		}
		exp, err := ctx.Export([]byte("scanin/v1 check"), 2)
		if err != nil {
			t.Fatal(err)
		}
		code, err := ctx.CheckCode()
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%02d", binary.BigEndian.Uint16(exp)%100); code != want {
			t.Fatalf("CheckCode = %q, want %q (export %x)", code, want, exp)
		}
	}
}
