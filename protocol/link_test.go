package protocol

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// A valid link's parts, for building good and bad links.
var (
	testSID  = "AAECAwQFBgcICQoLDA0ODw"                      // bytes 0..15
	testPK   = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8" // bytes 0..31
	testBase = "https://relay.example/link"
)

// testParams are a valid link's fragment parameters in the generated order.
func testParams() [][2]string {
	return [][2]string{
		{"v", "1"},
		{"a", "demo"},
		{"s", testSID},
		{"k", testPK},
		{"r", "https%3A%2F%2Frelay.example"},
	}
}

func buildLink(params [][2]string) string {
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = p[0] + "=" + p[1]
	}
	return testBase + "#" + strings.Join(parts, "&")
}

// withParam returns the valid parameters with key's value replaced.
func withParam(key, value string) string {
	ps := testParams()
	for i := range ps {
		if ps[i][0] == key {
			ps[i][1] = value
		}
	}
	return buildLink(ps)
}

func wantLink() Link {
	pk := make([]byte, 32)
	for i := range pk {
		pk[i] = byte(i)
	}
	return Link{Base: testBase, App: "demo", SessionID: testSID, PublicKey: pk, Relay: "https://relay.example"}
}

func sameLink(a, b Link) bool {
	return a.Base == b.Base && a.App == b.App && a.SessionID == b.SessionID &&
		bytes.Equal(a.PublicKey, b.PublicKey) && a.Relay == b.Relay
}

func TestParseLinkValid(t *testing.T) {
	got, err := ParseLink(buildLink(testParams()), []string{"demo"})
	if err != nil {
		t.Fatalf("ParseLink: %v", err)
	}
	if !sameLink(got, wantLink()) {
		t.Fatalf("ParseLink = %+v, want %+v", got, wantLink())
	}
}

func TestParseLinkRejects(t *testing.T) {
	type tc struct {
		name    string
		raw     string
		allowed []string
		param   string
		err     error
	}
	cases := []tc{
		{"no fragment", testBase, nil, "", ErrLinkMalformed},
		{"empty fragment", testBase + "#", nil, "", ErrLinkMalformed},
		{"empty base", "#" + strings.SplitN(buildLink(testParams()), "#", 2)[1], nil, "", ErrLinkMalformed},
		{"empty string", "", nil, "", ErrLinkMalformed},
		{"only spaces", "   ", nil, "", ErrLinkMalformed},

		{"v=2", withParam("v", "2"), nil, "v", ErrLinkVersion},
		{"v=0", withParam("v", "0"), nil, "v", ErrLinkVersion},
		{"v empty", withParam("v", ""), nil, "v", ErrLinkVersion},
		{"v=01", withParam("v", "01"), nil, "v", ErrLinkVersion},
		{"v=1.0", withParam("v", "1.0"), nil, "v", ErrLinkVersion},
		{"v= 1", withParam("v", "%201"), nil, "v", ErrLinkVersion},

		{"sid 15 bytes", withParam("s", "AAECAwQFBgcICQoLDA0O"), nil, "s", ErrLinkSessionID},
		{"sid 17 bytes", withParam("s", "AAECAwQFBgcICQoLDA0ODxA"), nil, "s", ErrLinkSessionID},
		{"sid 21 chars", withParam("s", testSID[:21]), nil, "s", ErrLinkSessionID},
		{"sid 23 chars", withParam("s", testSID+"A"), nil, "s", ErrLinkSessionID},
		{"sid with +", withParam("s", "+AECAwQFBgcICQoLDA0ODw"), nil, "s", ErrLinkSessionID},
		{"sid with /", withParam("s", "/AECAwQFBgcICQoLDA0ODw"), nil, "s", ErrLinkSessionID},
		{"sid with !", withParam("s", "!AECAwQFBgcICQoLDA0ODw"), nil, "s", ErrLinkSessionID},
		{"sid with space", withParam("s", "%20AECAwQFBgcICQoLDA0ODw"), nil, "s", ErrLinkSessionID},
		{"sid padded", withParam("s", testSID+"=="), nil, "s", ErrLinkSessionID},
		{"sid padded, escaped", withParam("s", testSID+"%3D%3D"), nil, "s", ErrLinkSessionID},
		{"sid 21 chars and =", withParam("s", testSID[:21]+"="), nil, "s", ErrLinkSessionID},
		{"sid non-canonical last char", withParam("s", testSID[:21]+"x"), nil, "s", ErrLinkSessionID},
		{"sid empty", withParam("s", ""), nil, "s", ErrLinkSessionID},

		{"pk 31 bytes", withParam("k", EncodeBase64(make([]byte, 31))), nil, "k", ErrLinkKey},
		{"pk 33 bytes", withParam("k", EncodeBase64(make([]byte, 33))), nil, "k", ErrLinkKey},
		{"pk 16 bytes", withParam("k", testSID), nil, "k", ErrLinkKey},
		{"pk padded", withParam("k", testPK+"="), nil, "k", ErrLinkKey},
		{"pk std alphabet", withParam("k", "+"+testPK[1:]), nil, "k", ErrLinkKey},
		{"pk non-canonical", withParam("k", testPK[:42]+"9"), nil, "k", ErrLinkKey},
		{"pk empty", withParam("k", ""), nil, "k", ErrLinkKey},
		{"pk hex", withParam("k", strings.Repeat("00", 32)), nil, "k", ErrLinkKey},

		{"app uppercase", withParam("a", "Demo"), nil, "a", ErrLinkApp},
		{"app leading dash", withParam("a", "-demo"), nil, "a", ErrLinkApp},
		{"app empty", withParam("a", ""), nil, "a", ErrLinkApp},
		{"app 33 chars", withParam("a", strings.Repeat("a", 33)), nil, "a", ErrLinkApp},
		{"app underscore", withParam("a", "my_app"), nil, "a", ErrLinkApp},
		{"wrong app", buildLink(testParams()), []string{"shop"}, "a", ErrLinkWrongApp},
		{"wrong app of several", buildLink(testParams()), []string{"shop", "store"}, "a", ErrLinkWrongApp},

		{"relay http", withParam("r", QueryEscape("http://relay.example")), nil, "r", ErrLinkInsecureRelay},
		{"relay http with port", withParam("r", QueryEscape("http://relay.example:8080")), nil, "r", ErrLinkInsecureRelay},
		{"relay http localhost lookalike", withParam("r", QueryEscape("http://localhost.evil.example")), nil, "r", ErrLinkInsecureRelay},
		{"relay http localhost prefix", withParam("r", QueryEscape("http://localhostevil.example")), nil, "r", ErrLinkInsecureRelay},
		{"relay http 127 lookalike", withParam("r", QueryEscape("http://127.0.0.1.nip.io")), nil, "r", ErrLinkInsecureRelay},
		{"relay http 127 short", withParam("r", QueryEscape("http://127.1")), nil, "r", ErrLinkInsecureRelay},
		{"relay http 127.0.0.256", withParam("r", QueryEscape("http://127.0.0.256")), nil, "r", ErrLinkInsecureRelay},
		{"relay http 127 octal", withParam("r", QueryEscape("http://127.0.0.01")), nil, "r", ErrLinkInsecureRelay},
		{"relay http 128.0.0.1", withParam("r", QueryEscape("http://128.0.0.1")), nil, "r", ErrLinkInsecureRelay},
		{"relay http 0.0.0.0", withParam("r", QueryEscape("http://0.0.0.0")), nil, "r", ErrLinkInsecureRelay},
		{"relay http [::2]", withParam("r", QueryEscape("http://[::2]")), nil, "r", ErrLinkInsecureRelay},
		{"relay http [::]", withParam("r", QueryEscape("http://[::]:80")), nil, "r", ErrLinkInsecureRelay},
		{"relay ws", withParam("r", QueryEscape("wss://relay.example")), nil, "r", ErrLinkInsecureRelay},
		{"relay ftp", withParam("r", QueryEscape("ftp://relay.example")), nil, "r", ErrLinkInsecureRelay},
		{"relay no scheme", withParam("r", QueryEscape("relay.example")), nil, "r", ErrLinkRelay},
		{"relay empty", withParam("r", ""), nil, "r", ErrLinkRelay},
		{"relay no host", withParam("r", QueryEscape("https://")), nil, "r", ErrLinkRelay},
		{"relay only path", withParam("r", QueryEscape("https:///x")), nil, "r", ErrLinkRelay},
		{"relay userinfo", withParam("r", QueryEscape("https://user@relay.example")), nil, "r", ErrLinkRelay},
		{"relay userinfo to localhost", withParam("r", QueryEscape("http://localhost@evil.example")), nil, "r", ErrLinkRelay},
		{"relay query", withParam("r", QueryEscape("https://relay.example/?x=1")), nil, "r", ErrLinkRelay},
		{"relay fragment", withParam("r", QueryEscape("https://relay.example/#x")), nil, "r", ErrLinkRelay},
		{"relay space", withParam("r", QueryEscape("https://relay .example")), nil, "r", ErrLinkRelay},
		{"relay backslash", withParam("r", QueryEscape(`https://relay.example\@evil`)), nil, "r", ErrLinkRelay},
		{"relay percent in path", withParam("r", QueryEscape("https://relay.example/%2e%2e")), nil, "r", ErrLinkRelay},
		{"relay bad port", withParam("r", QueryEscape("https://relay.example:https")), nil, "r", ErrLinkRelay},
		{"relay long port", withParam("r", QueryEscape("https://relay.example:123456")), nil, "r", ErrLinkRelay},
		{"relay unclosed bracket", withParam("r", QueryEscape("http://[::1")), nil, "r", ErrLinkRelay},
		{"relay junk after bracket", withParam("r", QueryEscape("http://[::1]x")), nil, "r", ErrLinkRelay},
		{"relay bare IPv6", withParam("r", QueryEscape("https://::1")), nil, "r", ErrLinkRelay},
		{"relay NUL", withParam("r", QueryEscape("https://relay.example\x00.evil")), nil, "r", ErrLinkRelay},
		{"relay newline", withParam("r", QueryEscape("https://relay.example/\nx")), nil, "r", ErrLinkRelay},
		{"relay tab", withParam("r", QueryEscape("https://relay\t.example")), nil, "r", ErrLinkRelay},
		{"relay DEL", withParam("r", QueryEscape("https://relay.example\x7f")), nil, "r", ErrLinkRelay},

		{"bad escape in a", withParam("a", "%zz"), nil, "a", ErrLinkMalformed},
		{"short escape in s", withParam("s", "AAECAwQFBgcICQoLDA0OD%4"), nil, "s", ErrLinkMalformed},
		{"lone % in k", withParam("k", "%"), nil, "k", ErrLinkMalformed},
		{"bad escape in r", withParam("r", "https%3A%2F%2Frelay.example%G1"), nil, "r", ErrLinkMalformed},
		{"escape cut at end of r", withParam("r", "https%3"), nil, "r", ErrLinkMalformed},
		{"bad escape in v", withParam("v", "%"), nil, "v", ErrLinkMalformed},
	}
	for _, key := range []string{"v", "a", "s", "k", "r"} {
		var ps [][2]string
		for _, p := range testParams() {
			if p[0] != key {
				ps = append(ps, p)
			}
		}
		cases = append(cases, tc{"missing " + key, buildLink(ps), nil, key, ErrLinkMissing})
		// A key with a different case is a different, unknown parameter.
		cases = append(cases, tc{"missing " + key + " (upper case given)",
			buildLink(append(ps, [2]string{strings.ToUpper(key), "x"})), nil, key, ErrLinkMissing})

		for _, p := range testParams() {
			if p[0] == key {
				cases = append(cases, tc{"repeated " + key, buildLink(append(testParams(), p)), nil, key, ErrLinkRepeated})
				cases = append(cases, tc{"repeated " + key + " first", buildLink(append([][2]string{p}, testParams()...)), nil, key, ErrLinkRepeated})
				cases = append(cases, tc{"repeated " + key + " empty", buildLink(append(testParams(), [2]string{key, ""})), nil, key, ErrLinkRepeated})
			}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := ParseLink(c.raw, c.allowed)
			if !errors.Is(err, c.err) {
				t.Fatalf("ParseLink(%q) error %v, want %v", c.raw, err, c.err)
			}
			var le *LinkError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a *LinkError", err)
			}
			if le.Param != c.param {
				t.Errorf("LinkError.Param = %q, want %q", le.Param, c.param)
			}
			// The text names the parameter, and no product: the program
			// printing it adds its own name once (issue 10).
			if strings.Contains(err.Error(), "scanin") || (c.param != "" && !strings.HasPrefix(err.Error(), `parameter "`+c.param+`" (`)) {
				t.Errorf("error text %q does not name the parameter, or names scanin", err.Error())
			}
			if !sameLink(l, Link{}) {
				t.Errorf("a rejected link returned %+v", l)
			}
		})
	}
}

func TestParseLinkAccepts(t *testing.T) {
	for _, c := range []struct {
		name, raw, relay string
		allowed          []string
	}{
		{"any app allowed", buildLink(testParams()), "https://relay.example", nil},
		{"app among several", buildLink(testParams()), "https://relay.example", []string{"shop", "demo"}},
		{"surrounding whitespace", "  \n" + buildLink(testParams()) + "\t ", "https://relay.example", nil},
		{"unknown parameters", buildLink(append(testParams(), [2]string{"x", "1"}, [2]string{"flag", ""})) + "&&", "https://relay.example", nil},
		{"escaped values", withParam("a", "%64emo"), "https://relay.example", nil},
		{"relay trailing slash", withParam("r", QueryEscape("https://relay.example/")), "https://relay.example", nil},
		{"relay with path", withParam("r", QueryEscape("https://relay.example/scanin/")), "https://relay.example/scanin", nil},
		{"relay with port", withParam("r", QueryEscape("https://relay.example:8443")), "https://relay.example:8443", nil},
		{"relay unescaped", withParam("r", "https://relay.example"), "https://relay.example", nil},
		{"relay https IPv6", withParam("r", QueryEscape("https://[2001:db8::1]:443")), "https://[2001:db8::1]:443", nil},
		{"http localhost", withParam("r", QueryEscape("http://localhost:8080")), "http://localhost:8080", nil},
		{"http LOCALHOST", withParam("r", QueryEscape("http://LOCALHOST:8080")), "http://LOCALHOST:8080", nil},
		{"http localhost.", withParam("r", QueryEscape("http://localhost.:8080")), "http://localhost.:8080", nil},
		{"http sub.localhost", withParam("r", QueryEscape("http://relay.localhost")), "http://relay.localhost", nil},
		{"http 127.0.0.1", withParam("r", QueryEscape("http://127.0.0.1:8080")), "http://127.0.0.1:8080", nil},
		{"http 127.255.254.1", withParam("r", QueryEscape("http://127.255.254.1")), "http://127.255.254.1", nil},
		{"http [::1]", withParam("r", QueryEscape("http://[::1]:8080")), "http://[::1]:8080", nil},
		{"http [::1] no port", withParam("r", QueryEscape("http://[::1]")), "http://[::1]", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := ParseLink(c.raw, c.allowed)
			if err != nil {
				t.Fatalf("ParseLink(%q): %v", c.raw, err)
			}
			want := wantLink()
			want.Relay = c.relay
			if !sameLink(l, want) {
				t.Errorf("ParseLink = %+v, want %+v", l, want)
			}
		})
	}
}

// Parsers accept the parameters in any order: all 120 orders.
func TestParseLinkAnyOrder(t *testing.T) {
	var permute func(ps [][2]string, k int)
	n := 0
	permute = func(ps [][2]string, k int) {
		if k == len(ps) {
			n++
			l, err := ParseLink(buildLink(ps), []string{"demo"})
			if err != nil || !sameLink(l, wantLink()) {
				t.Errorf("order %v: %+v, %v", ps, l, err)
			}
			return
		}
		for i := k; i < len(ps); i++ {
			ps[k], ps[i] = ps[i], ps[k]
			permute(ps, k+1)
			ps[k], ps[i] = ps[i], ps[k]
		}
	}
	permute(testParams(), 0)
	if n != 120 {
		t.Fatalf("tried %d orders, want 120", n)
	}
}

func TestLinkString(t *testing.T) {
	l := wantLink()
	got := l.String()
	if want := buildLink(testParams()); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	// Generators write v, a, s, k, r in that order.
	_, fragment, _ := strings.Cut(got, "#")
	var keys []string
	for _, p := range strings.Split(fragment, "&") {
		k, _, _ := strings.Cut(p, "=")
		keys = append(keys, k)
	}
	if strings.Join(keys, ",") != "v,a,s,k,r" {
		t.Errorf("parameter order %v, want v,a,s,k,r", keys)
	}

	for _, l := range []Link{
		wantLink(),
		{Base: "https://shop.example/scan?x=1", App: "a", SessionID: NewSessionID(), PublicKey: bytes.Repeat([]byte{0xff}, 32), Relay: "https://relay.example:8443/base/path"},
		{Base: "scanin://open", App: strings.Repeat("z", 32), SessionID: NewSessionID(), PublicKey: make([]byte, 32), Relay: "http://[::1]:8080"},
		{Base: "https://relay.example/link", App: "demo-2", SessionID: NewSessionID(), PublicKey: make([]byte, 32), Relay: "http://127.0.0.1:1"},
	} {
		back, err := ParseLink(l.String(), []string{l.App})
		if err != nil {
			t.Errorf("ParseLink(%q): %v", l.String(), err)
			continue
		}
		if !sameLink(back, l) {
			t.Errorf("round trip of %+v gave %+v", l, back)
		}
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "localhost.": true, "a.localhost": true, "a.b.localhost": true,
		"127.0.0.1": true, "127.0.0.0": true, "127.255.255.255": true, "127.1.2.3.": true, "::1": true,
		"": false, "localhost.com": false, "notlocalhost": false, "localhost..": false,
		"127.0.0": false, "127.0.0.1.2": false, "127.0.0.256": false, "127.0.0.01": false, "127.0.0.-1": false,
		"127..0.1": false, "127.0.0.1a": false, "126.0.0.1": false, "::2": false, "::": false, "0.0.0.0": false,
		"[::1]": false, "0:0:0:0:0:0:0:1": false, "127.0.0.1000": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCheckRelayURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://relay.example":         "https://relay.example",
		"https://relay.example/":        "https://relay.example",
		"https://relay.example//":       "https://relay.example",
		"https://relay.example/a/b/":    "https://relay.example/a/b",
		"https://relay.example:1":       "https://relay.example:1",
		"http://localhost":              "http://localhost",
		"http://127.0.0.1:8080/relay/":  "http://127.0.0.1:8080/relay",
		"https://[2001:db8::1]/":        "https://[2001:db8::1]",
		"https://xn--bcher-kva.example": "https://xn--bcher-kva.example",
		"HTTPS://relay.example":         "https://relay.example",
		"Http://127.0.0.1:1":            "http://127.0.0.1:1",
	} {
		got, err := CheckRelayURL(in)
		if err != nil || got != want {
			t.Errorf("CheckRelayURL(%q) = %q, %v; want %q", in, got, err, want)
		}
		// The result is a fixed point, so a link's relay survives a round trip.
		if again, err := CheckRelayURL(got); err != nil || again != got {
			t.Errorf("CheckRelayURL(%q) = %q, %v; not a fixed point", got, again, err)
		}
	}
}

func TestQueryEscape(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		"demo":                            "demo",
		"AZaz09-._~":                      "AZaz09-._~",
		"https://relay.example/x?y=1&z#f": "https%3A%2F%2Frelay.example%2Fx%3Fy%3D1%26z%23f",
		"a b+c":                           "a%20b%2Bc",
		"100%":                            "100%25",
		"é":                               "%C3%A9",
		"\x00\xff":                        "%00%FF",
	} {
		if got := QueryEscape(in); got != want {
			t.Errorf("QueryEscape(%q) = %q, want %q", in, got, want)
		}
		if back, ok := queryUnescape(want); !ok || back != in {
			t.Errorf("queryUnescape(%q) = %q, %v; want %q", want, back, ok, in)
		}
	}
	for in, want := range map[string]string{
		"%41%4a%4A": "AJJ", "+": "+", "a+b": "a+b", "%2B": "+", "%25": "%", "%2525": "%25", "plain": "plain",
	} {
		if got, ok := queryUnescape(in); !ok || got != want {
			t.Errorf("queryUnescape(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"%", "%4", "a%", "%zz", "%g0", "%0g", "%%", "%%41", "%4%41", "ab%2"} {
		if got, ok := queryUnescape(in); ok {
			t.Errorf("queryUnescape(%q) = %q, want failure", in, got)
		}
	}
	r := testRand(t)
	for range 2000 {
		s := string(randomBytes(r, r.IntN(40)))
		if back, ok := queryUnescape(QueryEscape(s)); !ok || back != s {
			t.Fatalf("queryUnescape(QueryEscape(%q)) = %q, %v", s, back, ok)
		}
		// net/url agrees, once its '+' for a space is spelled %20.
		if want := strings.ReplaceAll(url.QueryEscape(s), "+", "%20"); QueryEscape(s) != want {
			t.Fatalf("QueryEscape(%q) = %q, net/url gives %q", s, QueryEscape(s), want)
		}
		esc := QueryEscape(s)
		if i := r.IntN(len(esc) + 1); i < len(esc) {
			esc = esc[:i] + "%" + esc[i:] // sometimes a broken escape
		}
		got, ok := queryUnescape(esc)
		want, err := url.PathUnescape(esc)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("queryUnescape(%q) = %q, %v; net/url's PathUnescape gives %q, %v", esc, got, ok, want, err)
		}
	}
}

// TestLinkRules pins each rule's name (the phone SDK's error codes, which
// apps switch on) and its sentinel, both ways.
func TestLinkRules(t *testing.T) {
	want := []struct {
		rule LinkRule
		name string
		err  error
	}{
		{LinkMalformed, "link_malformed", ErrLinkMalformed},
		{LinkVersion, "link_version", ErrLinkVersion},
		{LinkMissing, "link_missing", ErrLinkMissing},
		{LinkRepeated, "link_repeated", ErrLinkRepeated},
		{LinkSessionID, "link_session_id", ErrLinkSessionID},
		{LinkKey, "link_key", ErrLinkKey},
		{LinkApp, "link_app", ErrLinkApp},
		{LinkInsecureRelay, "link_insecure_relay", ErrLinkInsecureRelay},
		{LinkRelay, "link_relay", ErrLinkRelay},
		{LinkWrongApp, "link_wrong_app", ErrLinkWrongApp},
	}
	if len(LinkRules) != len(want) {
		t.Fatalf("LinkRules lists %d rules, the table %d", len(LinkRules), len(want))
	}
	for i, w := range want {
		t.Run(w.name, func(t *testing.T) {
			if LinkRules[i] != w.rule || string(w.rule) != w.name {
				t.Errorf("LinkRules[%d] = %q, want %q", i, LinkRules[i], w.name)
			}
			if got := LinkRuleFor(&LinkError{Param: "a", Err: w.err}); got != w.rule {
				t.Errorf("LinkRuleFor(%v) = %q", w.err, got)
			}
		})
	}
	if got := LinkRuleFor(errors.New("something else")); got != LinkMalformed {
		t.Errorf("LinkRuleFor(another error) = %q, want link_malformed", got)
	}
}

// TestPercentEncoding checks QueryEscape and queryUnescape against net/url,
// which the widget cannot link, and the malformed escapes a link may hold.
func TestPercentEncoding(t *testing.T) {
	for _, s := range []string{"", "plain-._~", "https://relay.example:8443/x?y=1#z", "a b+c", "é\x00\xff%"} {
		got := QueryEscape(s)
		if want := strings.ReplaceAll(url.QueryEscape(s), "+", "%20"); got != want {
			t.Errorf("QueryEscape(%q) = %q, want %q", s, got, want)
		}
		if back, ok := queryUnescape(got); !ok || back != s {
			t.Errorf("queryUnescape(%q) = %q, %v; want %q", got, back, ok, s)
		}
	}
	for in, want := range map[string]string{"%41%2f%2F": "A//", "a+b": "a+b", "%e2%82%ac": "€"} {
		if got, ok := queryUnescape(in); !ok || got != want {
			t.Errorf("queryUnescape(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"%", "%4", "a%", "%zz", "%4g", "%+1", "%-1", "%\xff1"} {
		if got, ok := queryUnescape(bad); ok {
			t.Errorf("queryUnescape(%q) = %q, true; want a refusal", bad, got)
		}
	}
}
