package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONStrings(t *testing.T) {
	for in, want := range map[string]string{
		`""`:                     "",
		`"plain"`:                "plain",
		`"\"\\\/\b\f\n\r\t"`:     "\"\\/\b\f\n\r\t",
		`"\u0000"`:               "\x00",
		`"\u00e9\u00E9"`:         "éé",
		`"\u20ac"`:               "€",
		`"\ud83d\ude00"`:         "😀",
		`"\uD83D\uDE00"`:         "😀",
		`"\udbff\udfff"`:         "\U0010FFFF",
		`"\ufffd"`:               "\uFFFD",
		`"é€😀"`:                  "é€😀",
		`"a\u0022b"`:             `a"b`,
		`"\u2028"`:               "\u2028",
		`"mixed \n and é and 😀"`: "mixed \n and é and 😀",
		"\"\x7f\"":               "\x7f",
	} {
		v, err := parseJSON([]byte(in))
		if err != nil || v.kind != jsonString || v.text != want {
			t.Errorf("parseJSON(%s) = %q (kind %d), %v; want %q", in, v.text, v.kind, err, want)
		}
		var std string
		if err := json.Unmarshal([]byte(in), &std); err != nil || std != want {
			t.Errorf("the test is wrong: encoding/json reads %s as %q, %v", in, std, err)
		}
	}
	for name, in := range map[string]string{
		"lone high surrogate":          `"\ud83d"`,
		"high surrogate then text":     `"\ud83dx"`,
		"high surrogate then non-low":  `"\ud83d\u0041"`,
		"high surrogate then high":     `"\ud83d\ud83d"`,
		"lone low surrogate":           `"\ude00"`,
		"pair reversed":                `"\ude00\ud83d"`,
		"high surrogate, cut escape":   `"\ud83d\u"`,
		"high surrogate then \\n":      `"\ud83d\n"`,
		"bad hex":                      `"\u12g4"`,
		"short hex":                    `"\u12"`,
		"short hex at end":             `"\u12`,
		"unknown escape":               `"\x41"`,
		"single-quote escape":          `"\'"`,
		"escaped newline char":         "\"\\\n\"",
		"raw newline":                  "\"a\nb\"",
		"raw tab":                      "\"a\tb\"",
		"raw NUL":                      "\"a\x00b\"",
		"raw control after escape":     "\"\\n\x01\"",
		"unterminated":                 `"abc`,
		"unterminated after escape":    `"abc\n`,
		"trailing backslash":           `"abc\`,
		"invalid UTF-8":                "\"\xff\"",
		"truncated UTF-8":              "\"\xc3\"",
		"overlong UTF-8":               "\"\xc0\xaf\"",
		"UTF-8 surrogate":              "\"\xed\xa0\x80\"",
		"above U+10FFFF":               "\"\xf4\x90\x80\x80\"",
		"invalid UTF-8 after escape":   "\"\\n\xff\"",
		"invalid UTF-8 in a key":       "{\"\xff\":1}",
		"single quotes":                `'a'`,
		"unquoted":                     `abc`,
		"invalid UTF-8 before escape":  "\"\xff\\n\"",
		"escape producing only prefix": `"\u"`,
	} {
		if v, err := parseJSON([]byte(in)); err == nil {
			t.Errorf("%s: parseJSON(%q) = %q, want an error", name, in, v.text)
		}
	}
}

func TestJSONNumbers(t *testing.T) {
	for _, in := range []string{"0", "-0", "1", "-1", "10", "1.5", "-0.5", "1e10", "1E+2", "1e-2", "0.0e0",
		"123456789012345678901234567890", "9223372036854775807", "-9223372036854775808"} {
		v, err := parseJSON([]byte(in))
		if err != nil || v.kind != jsonNumber || v.text != in {
			t.Errorf("parseJSON(%s) = %+v, %v", in, v, err)
		}
		if !json.Valid([]byte(in)) {
			t.Errorf("the test is wrong: %s is not JSON", in)
		}
	}
	for _, in := range []string{"01", "-01", "00", "-", "+1", ".5", "1.", "1.e1", "1e", "1e+", "1e-", "0x10",
		"NaN", "Infinity", "-Infinity", "1_000", "--1", "1..2", "1e1.5", "１"} {
		if v, err := parseJSON([]byte(in)); err == nil {
			t.Errorf("parseJSON(%s) = %+v, want an error", in, v)
		}
		if json.Valid([]byte(in)) {
			t.Errorf("the test is wrong: %s is JSON", in)
		}
	}
	for in, want := range map[string]int64{
		"0": 0, "-0": 0, "42": 42, "-42": -42,
		"9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63,
	} {
		v, err := parseJSON([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := v.int64(); !ok || n != want {
			t.Errorf("int64(%s) = %d, %v; want %d", in, n, ok, want)
		}
	}
	for _, in := range []string{"1.0", "1e3", "9223372036854775808", "-9223372036854775809", `"1"`, "null", "true", "[1]"} {
		v, err := parseJSON([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := v.int64(); ok {
			t.Errorf("int64(%s) = %d, want failure", in, n)
		}
	}
}

func TestJSONStructure(t *testing.T) {
	valid := []string{
		`{}`, `[]`, ` { } `, "\t\r\n[\n]\n", `true`, `false`, `null`, `"s"`, `0`,
		`{"a":1,"b":[true,false,null,"x",{"c":{}}]}`,
		`[1, 2 ,3 , [ ] ,{ "a" : "b" } ]`,
		`{"a":{"a":{"a":1}}}`,      // the same key in different objects
		`[{"a":1},{"a":2}]`,        // and in sibling objects
		`{"":1}`,                   // an empty key is a key
		`{"a":1,"A":2}`,            // keys are case-sensitive
		`{"\u00e9":1,"e\u0301":2}`, // no Unicode normalisation
		`{"a\u0000":1,"a":2}`,      // NUL is part of the key
		"[" + strings.Repeat(`"x",`, 1000) + `"x"]`,
	}
	for _, in := range valid {
		if _, err := parseJSON([]byte(in)); err != nil {
			t.Errorf("parseJSON(%.60s): %v", in, err)
		}
		if !json.Valid([]byte(in)) {
			t.Errorf("the test is wrong: %.60s is not JSON", in)
		}
	}
	invalid := map[string]string{
		"empty":                       ``,
		"whitespace only":             " \n\t",
		"trailing garbage":            `{} x`,
		"two objects":                 `{}{}`,
		"two numbers":                 `1 2`,
		"two strings":                 `"a""b"`,
		"trailing comma object":       `{"a":1,}`,
		"trailing comma array":        `[1,]`,
		"leading comma array":         `[,1]`,
		"lone comma object":           `{,}`,
		"missing colon":               `{"a" 1}`,
		"missing value":               `{"a":}`,
		"key only":                    `{"a"}`,
		"unquoted key":                `{a:1}`,
		"number key":                  `{1:1}`,
		"missing comma object":        `{"a":1 "b":2}`,
		"missing comma array":         `[1 2]`,
		"unclosed object":             `{"a":1`,
		"unclosed array":              `[1`,
		"unclosed nested":             `{"a":[}`,
		"mismatched":                  `[}`,
		"tru":                         `tru`,
		"True":                        `True`,
		"nul":                         `nul`,
		"nullx":                       `nullx`,
		"comment":                     `{} // x`,
		"BOM":                         "\ufeff{}",
		"NUL after value":             "{}\x00",
		"non-JSON whitespace":         "\u00a0{}",
		"vertical tab":                "\v{}",
		"duplicate key":               `{"a":1,"a":2}`,
		"duplicate key, other values": `{"a":1,"b":2,"a":"1"}`,
		"duplicate key via escape":    `{"a":1,"\u0061":2}`,
		"duplicate key nested":        `{"x":{"a":1,"a":1}}`,
		"duplicate key in array item": `[{"a":1,"a":1}]`,
		"duplicate empty key":         `{"":1,"":2}`,
	}
	for name, in := range invalid {
		if _, err := parseJSON([]byte(in)); err == nil {
			t.Errorf("%s: parseJSON(%q) succeeded, want an error", name, in)
		}
	}
}

func TestJSONDepthLimit(t *testing.T) {
	nest := func(n int, open, inner, close string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	// The top-level value is at depth 0 and maxDepth is the deepest value
	// allowed: maxDepth+1 levels of values in all.
	for _, c := range []struct{ name, ok, tooDeep string }{
		{"arrays", nest(maxDepth+1, "[", "", "]"), nest(maxDepth+2, "[", "", "]")},
		{"objects", nest(maxDepth, `{"a":`, "1", "}"), nest(maxDepth+1, `{"a":`, "1", "}")},
		{"mixed", nest(maxDepth/2, `[{"a":`, "1", "}]"), "[" + nest(maxDepth/2, `[{"a":`, "1", "}]") + "]"},
		{"string at the bottom", nest(maxDepth, "[", `"s"`, "]"), nest(maxDepth+1, "[", `"s"`, "]")},
	} {
		if _, err := parseJSON([]byte(c.ok)); err != nil {
			t.Errorf("%s at the depth limit: %v", c.name, err)
		}
		if _, err := parseJSON([]byte(c.tooDeep)); err == nil {
			t.Errorf("%s one past the depth limit: accepted", c.name)
		}
		if !json.Valid([]byte(c.tooDeep)) {
			t.Errorf("the test is wrong: %s is not JSON", c.tooDeep)
		}
	}
	// Far too deep is refused quickly, without exhausting the stack.
	if _, err := parseJSON([]byte(nest(1_000_000, "[", "", "]"))); err == nil {
		t.Error("parseJSON accepted a million nested arrays")
	}
	if _, err := parseJSON([]byte(strings.Repeat("[", 1_000_000))); err == nil {
		t.Error("parseJSON accepted a million unclosed arrays")
	}
}

func TestAppendJSONString(t *testing.T) {
	for in, want := range map[string]string{
		"":                  `""`,
		"plain":             `"plain"`,
		`"\`:                `"\"\\"`,
		"\n\r\t":            `"\n\r\t"`,
		"\x00\x01\x1f":      `"\u0000\u0001\u001f"`,
		"\b\f":              `"\b\f"`,
		"<a href='x'>&</a>": `"\u003ca href='x'\u003e\u0026\u003c/a\u003e"`,
		"\u2028\u2029":      `"\u2028\u2029"`,
		"é€😀\x7f/":          "\"é€😀\x7f/\"",
		"\xff":              `"\ufffd"`,
		"a\xc3":             `"a\ufffd"`,
		"\xed\xa0\x80":      `"\ufffd\ufffd\ufffd"`,
	} {
		got := string(appendJSONString(nil, in))
		if got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
		}
		var std string
		if err := json.Unmarshal([]byte(got), &std); err != nil {
			t.Errorf("encoding/json cannot read %s: %v", got, err)
		}
	}
	// Any valid UTF-8 string survives writing and reading, by our reader and
	// encoding/json; invalid UTF-8 reads back as encoding/json would coerce it.
	r := testRand(t)
	alphabet := []rune{'a', '"', '\\', '/', '\n', 0, 0x1f, 0x7f, '<', '&', 'é', '€', 0x2028, 0xfffd, 0x1F600, 0x10ffff}
	for range 3000 {
		var b strings.Builder
		for range r.IntN(20) {
			if r.IntN(10) == 0 {
				b.WriteByte(byte(0x80 + r.IntN(0x80))) // a stray byte: invalid UTF-8
			} else {
				b.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
		}
		s := b.String()
		enc := appendJSONString([]byte("x"), s)[1:]
		v, err := parseJSON(enc)
		if err != nil {
			t.Fatalf("parseJSON(appendJSONString(%q) = %s): %v", s, enc, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if !utf8.ValidString(s) {
			// Each invalid byte becomes its own U+FFFD, as in encoding/json.
			var std string
			stdEnc, _ := json.Marshal(s)
			_ = json.Unmarshal(stdEnc, &std)
			want = std
		}
		if v.text != want {
			t.Fatalf("appendJSONString(%q) reads back as %q, want %q", s, v.text, want)
		}
		var std string
		if err := json.Unmarshal(enc, &std); err != nil || std != want {
			t.Fatalf("encoding/json reads %s as %q, %v; want %q", enc, std, err, want)
		}
	}
}

func TestJSONWriter(t *testing.T) {
	w := newJSONObject([]byte("prefix:"))
	w.str("s", "v\"")
	w.int("i", -42)
	w.raw("r", []byte(`{"x":[1]}`))
	w.strings("l", []string{"a", "<b>"})
	w.strings("e", nil)
	got := string(w.close())
	want := `prefix:{"s":"v\"","i":-42,"r":{"x":[1]},"l":["a","\u003cb\u003e"],"e":[]}`
	if got != want {
		t.Errorf("jsonWriter wrote %s, want %s", got, want)
	}
	if got := string(newJSONObject(nil).close()); got != `{}` {
		t.Errorf("empty object = %s", got)
	}
}
