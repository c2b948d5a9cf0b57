package protocol

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a deliberately small JSON reader and writer for the handful of
// objects the protocol defines. The widget links this package, and
// encoding/json alone would add about 244 KB (brotli) to its download.
//
// The reader is strict where strictness protects the protocol: it rejects
// duplicate keys (two parsers reading one object differently is a classic
// confusion attack), invalid UTF-8, trailing data and nesting past maxDepth.

var errJSON = errors.New("malformed JSON")

const maxDepth = 16

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is one parsed JSON value. Numbers keep their source text so that
// integers are read exactly, without a detour through float64.
type jsonValue struct {
	kind    jsonKind
	boolean bool
	text    string // string value, or the number's literal text
	items   []jsonValue
	members []jsonMember
}

type jsonMember struct {
	key   string
	value jsonValue
}

// field returns the member named key, if the value is an object holding it.
func (v *jsonValue) field(key string) (*jsonValue, bool) {
	for i := range v.members {
		if v.members[i].key == key {
			return &v.members[i].value, true
		}
	}
	return nil, false
}

// int64 reads an integer number. Fractions and exponents are refused: every
// number in the protocol is an integer.
func (v *jsonValue) int64() (int64, bool) {
	if v.kind != jsonNumber {
		return 0, false
	}
	n, err := strconv.ParseInt(v.text, 10, 64)
	return n, err == nil
}

func parseJSON(b []byte) (jsonValue, error) {
	p := jsonParser{buf: b}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return jsonValue{}, err
	}
	p.skipSpace()
	if p.pos != len(p.buf) {
		return jsonValue{}, errJSON
	}
	return v, nil
}

type jsonParser struct {
	buf []byte
	pos int
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.buf) {
		switch p.buf[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (jsonValue, error) {
	if depth > maxDepth || p.pos >= len(p.buf) {
		return jsonValue{}, errJSON
	}
	switch c := p.buf[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.string()
		return jsonValue{kind: jsonString, text: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case p.literal("true"):
		return jsonValue{kind: jsonBool, boolean: true}, nil
	case p.literal("false"):
		return jsonValue{kind: jsonBool}, nil
	case p.literal("null"):
		return jsonValue{kind: jsonNull}, nil
	}
	return jsonValue{}, errJSON
}

func (p *jsonParser) literal(word string) bool {
	if len(p.buf)-p.pos >= len(word) && string(p.buf[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *jsonParser) object(depth int) (jsonValue, error) {
	v := jsonValue{kind: jsonObject}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.buf) && p.buf[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.buf) || p.buf[p.pos] != '"' {
			return jsonValue{}, errJSON
		}
		key, err := p.string()
		if err != nil {
			return jsonValue{}, err
		}
		if _, dup := v.field(key); dup {
			return jsonValue{}, errJSON
		}
		p.skipSpace()
		if p.pos >= len(p.buf) || p.buf[p.pos] != ':' {
			return jsonValue{}, errJSON
		}
		p.pos++
		p.skipSpace()
		member, err := p.value(depth + 1)
		if err != nil {
			return jsonValue{}, err
		}
		v.members = append(v.members, jsonMember{key: key, value: member})
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return jsonValue{}, errJSON
		}
		switch p.buf[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return v, nil
		default:
			return jsonValue{}, errJSON
		}
	}
}

func (p *jsonParser) array(depth int) (jsonValue, error) {
	v := jsonValue{kind: jsonArray}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.buf) && p.buf[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		item, err := p.value(depth + 1)
		if err != nil {
			return jsonValue{}, err
		}
		v.items = append(v.items, item)
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return jsonValue{}, errJSON
		}
		switch p.buf[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return v, nil
		default:
			return jsonValue{}, errJSON
		}
	}
}

// number accepts the JSON number grammar and keeps the literal text.
func (p *jsonParser) number() (jsonValue, error) {
	start := p.pos
	if p.buf[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.buf) && p.buf[p.pos] >= '0' && p.buf[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	if digits() == 0 || (p.buf[intStart] == '0' && p.pos-intStart > 1) {
		return jsonValue{}, errJSON
	}
	if p.pos < len(p.buf) && p.buf[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return jsonValue{}, errJSON
		}
	}
	if p.pos < len(p.buf) && (p.buf[p.pos] == 'e' || p.buf[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.buf) && (p.buf[p.pos] == '+' || p.buf[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return jsonValue{}, errJSON
		}
	}
	return jsonValue{kind: jsonNumber, text: string(p.buf[start:p.pos])}, nil
}

func (p *jsonParser) string() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		if c == '"' {
			s := p.buf[start:p.pos]
			p.pos++
			if !utf8.Valid(s) {
				return "", errJSON
			}
			return string(s), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	out := append([]byte(nil), p.buf[start:p.pos]...)
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(out) {
				return "", errJSON
			}
			return string(out), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			out = append(out, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.buf) {
			return "", errJSON
		}
		esc := p.buf[p.pos]
		p.pos++
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", errJSON
			}
			if utf16.IsSurrogate(r) {
				// A lone surrogate is not text; demand its pair.
				if !p.literal(`\u`) {
					return "", errJSON
				}
				r2, ok := p.hex4()
				if !ok {
					return "", errJSON
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", errJSON
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errJSON
		}
	}
	return "", errJSON
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.buf)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.buf[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

// jsonWriter builds a JSON object field by field. It writes keys in the
// order given, which keeps the wire format byte-for-byte reproducible.
type jsonWriter struct {
	buf   []byte
	first bool
}

func newJSONObject(dst []byte) *jsonWriter {
	return &jsonWriter{buf: append(dst, '{'), first: true}
}

func (w *jsonWriter) key(k string) {
	if !w.first {
		w.buf = append(w.buf, ',')
	}
	w.first = false
	w.buf = appendJSONString(w.buf, k)
	w.buf = append(w.buf, ':')
}

func (w *jsonWriter) str(k, v string) {
	w.key(k)
	w.buf = appendJSONString(w.buf, v)
}

func (w *jsonWriter) int(k string, v int64) {
	w.key(k)
	w.buf = strconv.AppendInt(w.buf, v, 10)
}

func (w *jsonWriter) raw(k string, v []byte) {
	w.key(k)
	w.buf = append(w.buf, v...)
}

func (w *jsonWriter) strings(k string, vs []string) {
	w.key(k)
	w.buf = append(w.buf, '[')
	for i, v := range vs {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendJSONString(w.buf, v)
	}
	w.buf = append(w.buf, ']')
}

func (w *jsonWriter) close() []byte {
	return append(w.buf, '}')
}

// appendJSONString writes s as a JSON string (RFC 8259 §7). The RFC
// requires escaping only the quote, the backslash and U+0000 to U+001F; on
// top of that we choose to:
//   - use the two-character forms for the five controls that have one
//     (\b \f \n \r \t), as encoding/json does since Go 1.22, so the
//     relay's and the protocol package's bytes agree;
//   - escape <, > and &, so a value is inert when a page inlines it in HTML;
//   - escape U+2028 and U+2029, line terminators in older JavaScript;
//   - write each byte of invalid UTF-8 as U+FFFD, so the output is valid.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for len(s) > 0 {
		r, width := utf8.DecodeRuneInString(s)
		invalid := r == utf8.RuneError && width == 1
		s = s[width:]
		if short := jsonShortEscape(r); short != 0 {
			dst = append(dst, '\\', short)
			continue
		}
		if invalid || r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' {
			dst = appendUnicodeEscape(dst, r)
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
	return append(dst, '"')
}

// jsonShortEscape is the letter that follows the backslash in r's
// two-character escape, or 0 when r has none.
func jsonShortEscape(r rune) byte {
	switch r {
	case '"', '\\':
		return byte(r)
	case '\b':
		return 'b'
	case '\f':
		return 'f'
	case '\n':
		return 'n'
	case '\r':
		return 'r'
	case '\t':
		return 't'
	}
	return 0
}

// appendUnicodeEscape writes r, a rune of the Basic Multilingual Plane, as
// \uXXXX with lower-case hex digits.
func appendUnicodeEscape(dst []byte, r rune) []byte {
	dst = append(dst, '\\', 'u')
	for shift := 12; shift >= 0; shift -= 4 {
		nibble := byte(r>>shift) & 0xf
		if nibble < 10 {
			dst = append(dst, '0'+nibble)
		} else {
			dst = append(dst, 'a'+nibble-10)
		}
	}
	return dst
}
