package assertion

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// Algorithm is the only JWS "alg" an assertion may have: ECDSA on
	// P-256 with SHA-256 (RFC 7518 §3.4).
	Algorithm = "ES256"
	// Type is the JWS "typ" every assertion carries, so an assertion is
	// never mistaken for another kind of JWT and back.
	Type = "scanin-assertion+jwt"
	// MaxLifetime is the most exp - iat may be, in seconds.
	MaxLifetime = 120
	// Lifetime is the exp - iat the SDK writes, in seconds.
	Lifetime = 60
	// MaxFutureSkew is how far iat may lie ahead of a verifier's clock, in
	// seconds.
	MaxFutureSkew = 60
	// SignatureSize is the size of an ES256 signature: R and S, 32 bytes
	// each, big-endian.
	SignatureSize = 64
	// MaxSize bounds the compact serialization a parser reads, in bytes:
	// far above any real assertion, and below the 16 KiB a sealed message
	// can carry.
	MaxSize = 8 << 10
)

// b64 is base64url without padding, strict about the unused bits, as
// every base64url value in the protocol is.
var b64 = base64.RawURLEncoding.Strict()

// ErrMalformed is wrapped by every error Parse returns: the text is not
// three base64url parts whose first two are JSON objects of the right
// shape.
var ErrMalformed = errors.New("malformed assertion")

// Header is the JWS protected header of an assertion.
type Header struct {
	// Alg is the signature algorithm; it must be Algorithm.
	Alg string
	// Typ is the token type; it must be Type.
	Typ string
	// Kid is the device id of the signing device.
	Kid string
}

// Claims is an assertion's payload. The JSON names are RFC 7519's where
// it has one.
type Claims struct {
	// Issuer ("iss") is the device id; it equals the header's kid.
	Issuer string `json:"iss"`
	// Subject ("sub") is the user's id at the app.
	Subject string `json:"sub"`
	// Audience ("aud") is the origin of the page that asked to be signed
	// in, as the phone read it from the session.
	Audience string `json:"aud"`
	// App ("app") is the app id.
	App string `json:"app"`
	// SessionID ("sid") is the session id of the scanned code.
	SessionID string `json:"sid"`
	// KeyHash ("pkh") is KeyHash of the scanned code's public key.
	KeyHash string `json:"pkh"`
	// IssuedAt ("iat") is when the assertion was made, Unix seconds.
	IssuedAt int64 `json:"iat"`
	// ExpiresAt ("exp") is when it stops being valid, Unix seconds, at
	// most MaxLifetime after IssuedAt.
	ExpiresAt int64 `json:"exp"`
	// ID ("jti") is 16 random bytes, base64url: the assertion's one-time
	// id.
	ID string `json:"jti"`
}

// KeyHash returns base64url(SHA-256(pk)), the "pkh" claim for a code whose
// receiver public key is pk (its 32 raw bytes).
func KeyHash(pk []byte) string {
	sum := sha256.Sum256(pk)
	return b64.EncodeToString(sum[:])
}

// NewID returns a fresh "jti": 16 bytes from the system's CSPRNG,
// base64url.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b64.EncodeToString(b)
}

// Token is a parsed assertion. Nothing in it is verified yet.
type Token struct {
	Header Header
	Claims Claims
	// SigningInput is the first two parts joined by ".", as received:
	// what the signature covers.
	SigningInput []byte
	// Signature is the third part, decoded.
	Signature []byte
}

// Parse splits a compact JWS into its header, claims and signature. It
// checks only the shape: three base64url parts (no padding), a header and
// a payload that are JSON objects without repeated members, header
// members alg, typ and kid and the claims of Claims of the right JSON
// types when present, and iat, exp, sub and jti present. Every error
// wraps ErrMalformed. Parse checks no value: the alg, the type, the
// signature and the claims are the verifier's to check.
func Parse(compact string) (*Token, error) {
	if len(compact) > MaxSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxSize)
	}
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %d parts separated by dots, want 3", ErrMalformed, len(parts))
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := b64.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d is not base64url without padding: %v", ErrMalformed, i+1, err)
		}
		raw[i] = b
	}
	t := &Token{SigningInput: []byte(parts[0] + "." + parts[1]), Signature: raw[2]}
	if err := parseHeader(raw[0], &t.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if err := parseClaims(raw[1], &t.Claims); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	return t, nil
}

func parseHeader(b []byte, h *Header) error {
	members, err := object(b)
	if err != nil {
		return err
	}
	for name, dst := range map[string]*string{"alg": &h.Alg, "typ": &h.Typ, "kid": &h.Kid} {
		if err := stringMember(members, name, dst); err != nil {
			return err
		}
	}
	return nil
}

func parseClaims(b []byte, c *Claims) error {
	members, err := object(b)
	if err != nil {
		return err
	}
	for name, dst := range map[string]*string{
		"iss": &c.Issuer, "sub": &c.Subject, "aud": &c.Audience, "app": &c.App,
		"sid": &c.SessionID, "pkh": &c.KeyHash, "jti": &c.ID,
	} {
		if err := stringMember(members, name, dst); err != nil {
			return err
		}
	}
	for name, dst := range map[string]*int64{"iat": &c.IssuedAt, "exp": &c.ExpiresAt} {
		v, ok := members[name]
		if !ok {
			return fmt.Errorf("no %q", name)
		}
		n, err := seconds(v)
		if err != nil {
			return fmt.Errorf("%q: %v", name, err)
		}
		*dst = n
	}
	switch {
	case c.Subject == "":
		return errors.New(`no "sub" or an empty one`)
	case c.ID == "":
		return errors.New(`no "jti" or an empty one`)
	}
	return nil
}

// object reads a JSON object's members, refusing anything else and a
// member name that appears twice (RFC 7515 §5.2 allows refusing them;
// reading only the last, as encoding/json does, would let two parsers
// disagree on what was signed).
func object(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("member %q appears twice", name)
		}
		members[name] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("text after the JSON object")
	}
	return members, nil
}

// stringMember sets *dst to the string member name, if there is one.
func stringMember(members map[string]json.RawMessage, name string, dst *string) error {
	v, ok := members[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("%q is not a string", name)
	}
	return nil
}

// seconds reads a NumericDate (RFC 7519 §2) that must be whole seconds.
func seconds(v json.RawMessage) (int64, error) {
	var n json.Number
	// json.Number also takes a string holding a number: refuse "123".
	if len(v) == 0 || v[0] == '"' || json.Unmarshal(v, &n) != nil {
		return 0, errors.New("not a number")
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errors.New("not whole seconds")
	}
	return int64(f), nil
}

// header is what Encode writes, in this order.
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// SigningInput returns BASE64URL(header) "." BASE64URL(claims) for an
// assertion by device kid: what the device signs.
func SigningInput(kid string, c Claims) ([]byte, error) {
	h, err := json.Marshal(header{Alg: Algorithm, Typ: Type, Kid: kid})
	if err != nil {
		return nil, fmt.Errorf("failed to encode the header: %w", err)
	}
	p, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the claims: %w", err)
	}
	return []byte(b64.EncodeToString(h) + "." + b64.EncodeToString(p)), nil
}

// Check reports whether claims are what a signer may sign: iss a valid
// device id, sub, aud, app, sid, pkh and jti present, and 0 < exp - iat
// <= MaxLifetime.
func (c Claims) Check() error {
	if err := CheckDeviceID(c.Issuer); err != nil {
		return fmt.Errorf("iss: %w", err)
	}
	for name, v := range map[string]string{"sub": c.Subject, "aud": c.Audience, "app": c.App, "sid": c.SessionID, "pkh": c.KeyHash, "jti": c.ID} {
		if v == "" {
			return fmt.Errorf("the claim %q is empty", name)
		}
	}
	if life := c.ExpiresAt - c.IssuedAt; life <= 0 || life > MaxLifetime {
		return fmt.Errorf("exp - iat is %d s, want 1..%d", life, MaxLifetime)
	}
	return nil
}

// Sign makes the compact JWS of claims, signed by the device whose public
// key is pub. sign signs a message (it hashes it with SHA-256 itself, as
// Android's SHA256withECDSA and Apple's ecdsaSignatureMessageX962SHA256
// do) and returns the signature as DER (what Android Keystore and the
// Secure Enclave return) or as the 64-byte R||S (what WebCrypto returns).
// Sign converts it to R||S and checks it with pub before returning, so a
// signer that signs something else (a digest hashed twice, another key)
// is caught here rather than by the site's backend.
func Sign(c Claims, pub *ecdsa.PublicKey, sign func(message []byte) ([]byte, error)) (string, error) {
	if err := c.Check(); err != nil {
		return "", fmt.Errorf("failed to sign an assertion: %w", err)
	}
	if pub == nil || pub.Curve == nil || pub.Curve.Params().Name != "P-256" {
		return "", errors.New("failed to sign an assertion: the device key is not a P-256 public key")
	}
	input, err := SigningInput(c.Issuer, c)
	if err != nil {
		return "", fmt.Errorf("failed to sign an assertion: %w", err)
	}
	sig, err := sign(input)
	if err != nil {
		return "", fmt.Errorf("failed to sign an assertion: the signer failed: %w", err)
	}
	rs, err := SignatureFromSigner(pub, input, sig)
	if err != nil {
		return "", fmt.Errorf("failed to sign an assertion: %w", err)
	}
	return string(input) + "." + b64.EncodeToString(rs), nil
}

// SignatureFromSigner turns a signer's signature of message into the
// 64-byte R||S, checking it with pub: sig is DER (RFC 3279's
// Ecdsa-Sig-Value) or already R||S.
func SignatureFromSigner(pub *ecdsa.PublicKey, message, sig []byte) ([]byte, error) {
	if rs, err := DERToRS(sig); err == nil && VerifySignature(pub, message, rs) {
		return rs, nil
	}
	if len(sig) == SignatureSize && VerifySignature(pub, message, sig) {
		return bytes.Clone(sig), nil
	}
	return nil, errors.New("the signer's signature does not verify with the device's public key (want ECDSA P-256 with SHA-256 of the message, DER or R||S)")
}

// VerifySignature reports whether rs, a 64-byte R||S, is a valid ES256
// signature of message by pub. Any other length is invalid: a DER
// signature is not an ES256 JWS signature.
func VerifySignature(pub *ecdsa.PublicKey, message, rs []byte) bool {
	if pub == nil || len(rs) != SignatureSize {
		return false
	}
	der, err := RSToDER(rs)
	if err != nil {
		return false
	}
	digest := sha256.Sum256(message)
	return ecdsa.VerifyASN1(pub, digest[:], der)
}
