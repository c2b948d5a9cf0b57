package protocol

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestOriginAllowed checks what testdata/origins.json (TestOriginTable,
// shared with embed.js's copy of the rule) does not: nil patterns, and
// AppConfig.AllowsOrigin.
func TestOriginAllowed(t *testing.T) {
	if OriginAllowed(nil, "https://shop.example") {
		t.Error("no patterns allowed an origin")
	}
	app := AppConfig{Origins: []string{"https://shop.example"}}
	if !app.AllowsOrigin("https://shop.example") || app.AllowsOrigin("https://other.example") {
		t.Error("AppConfig.AllowsOrigin disagrees with OriginAllowed")
	}
}

const testAppConfig = `{"id":"demo","name":"Demo Shop","origins":["https://shop.example","http://localhost:*"],"link_base":"https://relay.example/link","ttl":60}`

func TestParseAppConfig(t *testing.T) {
	// A relay before native_receivers and the widget's fields: they take
	// their defaults.
	want := AppConfig{ID: "demo", Name: "Demo Shop", Origins: []string{"https://shop.example", "http://localhost:*"}, LinkBase: "https://relay.example/link", TTL: 60}
	got, err := ParseAppConfig([]byte(testAppConfig))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseAppConfig = %+v, %v; want %+v", got, err, want)
	}
	full := AppConfig{ID: "shop", Name: "Shop", Origins: []string{"https://shop.example"}, LinkBase: "https://relay.example/link", TTL: 60,
		NativeReceivers: true, ScanHint: "Open the Shop app and tap Scan", Logo: "https://shop.example/logo.png",
		IOSAppStoreURL: "https://apps.apple.com/app/id1", PlayStoreURL: "https://play.google.com/store/apps/details?id=x&a=<b>",
		AppLink: "shop://scanin"}
	// What encoding/json writes from the struct's tags (as the relay does),
	// ParseAppConfig reads back.
	for _, c := range []AppConfig{want, full, {ID: "a", Name: "", Origins: []string{}, LinkBase: "x", TTL: 15}, {ID: "z-9", Name: "<&>", Origins: []string{"o"}, TTL: 300, ScanHint: "<&>"}} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseAppConfig(b)
		if err != nil {
			t.Fatalf("ParseAppConfig(%s): %v", b, err)
		}
		if len(c.Origins) == 0 {
			c.Origins = nil
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("ParseAppConfig(%s) = %+v, want %+v", b, back, c)
		}
	}
	// Unknown fields are room for later revisions.
	if _, err := ParseAppConfig([]byte(strings.Replace(testAppConfig, `"ttl"`, `"theme":{"x":1},"ttl"`, 1))); err != nil {
		t.Errorf("an extra field: %v", err)
	}

	bad := map[string]string{
		"not JSON":         `{`,
		"array":            `[]`,
		"ttl 14":           strings.Replace(testAppConfig, `"ttl":60`, `"ttl":14`, 1),
		"ttl 301":          strings.Replace(testAppConfig, `"ttl":60`, `"ttl":301`, 1),
		"ttl 0":            strings.Replace(testAppConfig, `"ttl":60`, `"ttl":0`, 1),
		"ttl string":       strings.Replace(testAppConfig, `"ttl":60`, `"ttl":"60"`, 1),
		"ttl fraction":     strings.Replace(testAppConfig, `"ttl":60`, `"ttl":60.5`, 1),
		"origins string":   strings.Replace(testAppConfig, `["https://shop.example","http://localhost:*"]`, `"https://shop.example"`, 1),
		"origins numbers":  strings.Replace(testAppConfig, `"http://localhost:*"`, `1`, 1),
		"origins null":     strings.Replace(testAppConfig, `["https://shop.example","http://localhost:*"]`, `null`, 1),
		"id number":        strings.Replace(testAppConfig, `"id":"demo"`, `"id":1`, 1),
		"bad id":           strings.Replace(testAppConfig, `"id":"demo"`, `"id":"Demo"`, 1),
		"empty id":         strings.Replace(testAppConfig, `"id":"demo"`, `"id":""`, 1),
		"name null":        strings.Replace(testAppConfig, `"name":"Demo Shop"`, `"name":null`, 1),
		"link_base number": strings.Replace(testAppConfig, `"link_base":"https://relay.example/link"`, `"link_base":1`, 1),
		"duplicate id":     strings.Replace(testAppConfig, `"id":"demo"`, `"id":"demo","id":"other"`, 1),
		"native string":    strings.Replace(testAppConfig, `"ttl":60`, `"ttl":60,"native_receivers":"true"`, 1),
		"native null":      strings.Replace(testAppConfig, `"ttl":60`, `"ttl":60,"native_receivers":null`, 1),
		"scan_hint number": strings.Replace(testAppConfig, `"ttl":60`, `"ttl":60,"scan_hint":1`, 1),
		"logo null":        strings.Replace(testAppConfig, `"ttl":60`, `"ttl":60,"logo":null`, 1),
		"app_link number":  strings.Replace(testAppConfig, `"ttl":60`, `"ttl":60,"app_link":1`, 1),
	}
	for _, field := range []string{`"id":"demo",`, `"name":"Demo Shop",`, `"origins":["https://shop.example","http://localhost:*"],`, `"link_base":"https://relay.example/link",`, `,"ttl":60`} {
		bad["missing "+field] = strings.Replace(testAppConfig, field, "", 1)
	}
	for name, in := range bad {
		if strings.Contains(name, "missing") && in == testAppConfig {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if _, err := ParseAppConfig([]byte(in)); err == nil {
			t.Errorf("%s: ParseAppConfig(%s) succeeded", name, in)
		}
	}
}

func TestScanHintFor(t *testing.T) {
	for _, c := range []struct{ hint, name, want string }{
		{"", "Demo Shop", "Open Demo Shop on your phone and tap Scan"},
		{"Tap Scan in {name}, then {name} signs you in", "Shop", "Tap Scan in Shop, then Shop signs you in"},
		{"Scan with the app", "Shop", "Scan with the app"},
	} {
		if got := ScanHintFor(c.hint, c.name); got != c.want {
			t.Errorf("ScanHintFor(%q, %q) = %q, want %q", c.hint, c.name, got, c.want)
		}
	}
}

func TestRelayAPIBodiesJSONNames(t *testing.T) {
	// The JSON names the relay writes with encoding/json are docs/protocol.md's.
	info := SessionInfo{App: "demo", AppName: "Demo Shop", State: StateWaiting, ExpiresAt: 1,
		Requester: Requester{IP: "203.0.113.5", UserAgent: "UA", Origin: "https://shop.example"},
		Sender:    Peer{IP: "198.51.100.7"}}
	b, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"app":"demo","app_name":"Demo Shop","state":"waiting","expires_at":1,"requester":{"ip":"203.0.113.5","user_agent":"UA","origin":"https://shop.example"},"sender":{"ip":"198.51.100.7"}}`
	if string(b) != want {
		t.Errorf("SessionInfo = %s, want %s", b, want)
	}
	if b, _ := json.Marshal(StateBody{State: StateDelivered}); string(b) != `{"state":"delivered"}` {
		t.Errorf("StateBody = %s", b)
	}
}

func TestPaths(t *testing.T) {
	sid := testSID
	for got, want := range map[string]string{
		SessionPath(sid): "/v1/sessions/" + sid,
		ListenPath(sid):  "/v1/sessions/" + sid + "/listen",
		DenyPath(sid):    "/v1/sessions/" + sid + "/deny",
		AppPath("demo"):  "/v1/apps/demo",
	} {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
	for _, c := range []struct {
		relay string
		p     ListenParams
		want  string
	}{
		{"https://relay.example", ListenParams{App: "demo"}, "wss://relay.example/v1/sessions/" + sid + "/listen?app=demo"},
		{"https://relay.example/", ListenParams{App: "demo", TTL: 60}, "wss://relay.example/v1/sessions/" + sid + "/listen?app=demo&ttl=60"},
		{"http://127.0.0.1:8080/base", ListenParams{App: "demo", Origin: "https://shop.example:8443", Resume: "a+b/c="},
			"ws://127.0.0.1:8080/base/v1/sessions/" + sid + "/listen?app=demo&origin=https%3A%2F%2Fshop.example%3A8443&resume=a%2Bb%2Fc%3D"},
		{"https://relay.example", ListenParams{App: "demo", TTL: 300, Origin: "http://localhost:3000", Resume: "r"},
			"wss://relay.example/v1/sessions/" + sid + "/listen?app=demo&ttl=300&origin=http%3A%2F%2Flocalhost%3A3000&resume=r"},
	} {
		if got := ListenURL(c.relay, sid, c.p); got != c.want {
			t.Errorf("ListenURL(%q, %+v) = %q, want %q", c.relay, c.p, got, c.want)
		}
	}
}

// awkwardStrings are strings whose JSON needs escapes: HTML's characters,
// JavaScript's line terminators, controls, invalid UTF-8.
var awkwardStrings = []string{
	"", "Demo Shop", `a"b\c`, "<script>&amp;</script>", "\u2028\u2029", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "\xff\xfe", "ü 😀 \ufffd", "Mozilla/5.0 (X11; Linux x86_64)",
}

// TestRelayAPIAppendJSON checks the hand-written writers against
// encoding/json, byte for byte.
func TestRelayAPIAppendJSON(t *testing.T) {
	check := func(t *testing.T, v interface{ AppendJSON([]byte) []byte }) {
		t.Helper()
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
		if got := v.AppendJSON([]byte("x")); string(got) != "x"+string(want) {
			t.Errorf("AppendJSON does not append: %s", got)
		}
	}
	for i, s := range awkwardStrings {
		t.Run("string "+strconv.Itoa(i), func(t *testing.T) {
			check(t, SessionInfo{App: s, AppName: s, State: State(s), ExpiresAt: int64(i) - 5,
				Requester: Requester{IP: s, UserAgent: s, Origin: s}, Sender: Peer{IP: s}})
			check(t, AppConfig{ID: s, Name: s, Origins: []string{s, s}, LinkBase: s, TTL: i - 5})
			check(t, AppConfig{ID: s, Name: s, Origins: []string{s}, LinkBase: s, TTL: i, NativeReceivers: i%2 == 0,
				ScanHint: s, Logo: s, IOSAppStoreURL: s, PlayStoreURL: s, AppLink: s})
		})
	}
	for name, origins := range map[string][]string{"nil": nil, "empty": {}, "one": {"http://localhost:*"}} {
		t.Run("origins "+name, func(t *testing.T) {
			check(t, AppConfig{ID: "demo", Origins: origins, TTL: 60})
		})
	}
	check(t, SessionInfo{})
	check(t, SessionInfo{ExpiresAt: math.MaxInt64})
	check(t, SessionInfo{ExpiresAt: math.MinInt64})
}

// FuzzRelayAPIAppendJSON compares the writers with encoding/json for any
// strings.
func FuzzRelayAPIAppendJSON(f *testing.F) {
	for i, s := range awkwardStrings {
		f.Add(s, awkwardStrings[(i+1)%len(awkwardStrings)], int64(i))
	}
	if len(awkwardStrings) == 0 {
		f.Fatal("no seed corpus")
	}
	f.Fuzz(func(t *testing.T, a, b string, n int64) {
		for _, v := range []interface{ AppendJSON([]byte) []byte }{
			SessionInfo{App: a, AppName: b, State: State(a), ExpiresAt: n,
				Requester: Requester{IP: b, UserAgent: a, Origin: b}, Sender: Peer{IP: a}},
			AppConfig{ID: a, Name: b, Origins: []string{b, a}, LinkBase: a, TTL: int(int32(n)),
				NativeReceivers: n%2 == 0, ScanHint: b, Logo: a, IOSAppStoreURL: b, PlayStoreURL: a, AppLink: b},
		} {
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.AppendJSON(nil); string(got) != string(want) {
				t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
			}
		}
	})
}
