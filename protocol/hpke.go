package protocol

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// HPKE, RFC 9180, mode_base, for exactly one suite:
//
//	KEM  0x0020 DHKEM(X25519, HKDF-SHA256): small keys that fit a QR code,
//	            constant-time scalar multiplication everywhere Go runs.
//	KDF  0x0001 HKDF-SHA256: the KEM's own hash, so one hash is linked.
//	AEAD 0x0003 ChaCha20Poly1305: fast in software, which is what wasm is.
//
// Hard-wiring the suite keeps the widget small (crypto/hpke links every
// suite: about 74 KB brotli more) and leaves no algorithm to negotiate.

// Sizes of the suite's values, in bytes.
const (
	PublicKeySize  = 32 // Npk
	PrivateKeySize = 32 // Nsk
	EncSize        = 32 // Nenc: the encapsulated key that starts a sealed message
	TagSize        = 16 // the Poly1305 tag the AEAD adds
	secretSize     = 32 // Nsecret, Nh and Nk all equal 32 in this suite
	nonceSize      = 12 // Nn
)

// Identifiers of the suite, as RFC 9180 spells them in its suite_ids.
const (
	kemID  = 0x0020
	kdfID  = 0x0001
	aeadID = 0x0003
)

var (
	kemSuiteID  = []byte{'K', 'E', 'M', kemID >> 8, kemID & 0xff}
	hpkeSuiteID = []byte{'H', 'P', 'K', 'E', kemID >> 8, kemID & 0xff, kdfID >> 8, kdfID & 0xff, aeadID >> 8, aeadID & 0xff}
)

var (
	// ErrOpen reports a sealed message that does not open with the key: wrong
	// key, wrong info, or tampered bytes. It deliberately says no more.
	ErrOpen = errors.New("hpke: message does not open")
	// ErrKey reports a public key that is not 32 bytes or is of low order.
	ErrKey = errors.New("hpke: bad public key")
	// ErrExportLength reports an Export length outside 0..255*32.
	ErrExportLength = errors.New("hpke: export length out of range")
	// ErrDestroyed reports use of a key or context after Destroy.
	ErrDestroyed = errors.New("hpke: key or context already destroyed")
)

// PrivateKey is a receiver's X25519 key. Make a fresh one for every session
// id, never store it, and Destroy it when the session ends.
type PrivateKey struct {
	scalar    [PrivateKeySize]byte
	public    [PublicKeySize]byte
	destroyed bool
}

// GenerateKey makes a key pair from the system CSPRNG. RFC 9180 §7.1.3
// allows any 32 random bytes as an X25519 private key.
func GenerateKey() (*PrivateKey, error) {
	var k PrivateKey
	if _, err := rand.Read(k.scalar[:]); err != nil {
		return nil, errors.New("hpke: no randomness: " + err.Error())
	}
	if err := k.derivePublic(); err != nil {
		return nil, err
	}
	return &k, nil
}

func (k *PrivateKey) derivePublic() error {
	pub, err := x25519(k.scalar[:], x25519Basepoint[:])
	if err != nil {
		return err
	}
	copy(k.public[:], pub)
	return nil
}

// deriveKeyPair is RFC 9180's DeriveKeyPair(ikm), which the test vectors use.
func deriveKeyPair(ikm []byte) (*PrivateKey, error) {
	prk := labeledExtract(kemSuiteID, nil, "dkp_prk", ikm)
	defer clear(prk)
	var k PrivateKey
	labeledExpandInto(k.scalar[:], kemSuiteID, prk, "sk", nil)
	if err := k.derivePublic(); err != nil {
		return nil, err
	}
	return &k, nil
}

// PublicKey returns the 32-byte public key, the value a link carries as k.
func (k *PrivateKey) PublicKey() []byte {
	pk := k.public
	return pk[:]
}

// Destroy zeroes the private key. The key cannot be used afterwards.
func (k *PrivateKey) Destroy() {
	clear(k.scalar[:])
	k.destroyed = true
}

// Context is an HPKE encryption context: the AEAD key, base nonce, sequence
// number and exporter secret that setup derives.
type Context struct {
	aead           cipher.AEAD
	key            [secretSize]byte
	baseNonce      [nonceSize]byte
	exporterSecret [secretSize]byte
	seq            uint64
	destroyed      bool
}

// SetupSender is RFC 9180's SetupBaseS: it encapsulates a fresh ephemeral key
// to the receiver's public key and returns enc and the sender's context.
func SetupSender(receiverPublicKey, info []byte) (enc []byte, ctx *Context, err error) {
	ephemeral, err := GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	return setupSenderWithEphemeral(receiverPublicKey, info, ephemeral)
}

// setupSenderWithEphemeral takes the ephemeral key as a parameter so the
// RFC's test vectors can be reproduced. Only tests pass one in.
func setupSenderWithEphemeral(pkR, info []byte, ephemeral *PrivateKey) ([]byte, *Context, error) {
	defer ephemeral.Destroy()
	if len(pkR) != PublicKeySize {
		return nil, nil, ErrKey
	}
	dh, err := x25519(ephemeral.scalar[:], pkR)
	if err != nil { // the all-zero output of a low-order point
		return nil, nil, ErrKey
	}
	defer clear(dh)
	enc := ephemeral.PublicKey()
	shared := extractAndExpand(dh, enc, pkR)
	defer clear(shared)
	ctx, err := keySchedule(shared, info)
	return enc, ctx, err
}

// SetupReceiver is RFC 9180's SetupBaseR: it decapsulates enc with the
// receiver's private key and returns the receiver's context.
func SetupReceiver(key *PrivateKey, enc, info []byte) (*Context, error) {
	if key == nil || key.destroyed {
		return nil, ErrDestroyed
	}
	if len(enc) != EncSize {
		return nil, ErrOpen
	}
	dh, err := x25519(key.scalar[:], enc)
	if err != nil {
		return nil, ErrOpen
	}
	defer clear(dh)
	shared := extractAndExpand(dh, enc, key.public[:])
	defer clear(shared)
	return keySchedule(shared, info)
}

// extractAndExpand is DHKEM's ExtractAndExpand with kem_context = enc || pkR.
func extractAndExpand(dh, enc, pkR []byte) []byte {
	prk := labeledExtract(kemSuiteID, nil, "eae_prk", dh)
	defer clear(prk)
	kemContext := make([]byte, 0, EncSize+PublicKeySize)
	kemContext = append(append(kemContext, enc...), pkR...)
	shared := make([]byte, secretSize)
	labeledExpandInto(shared, kemSuiteID, prk, "shared_secret", kemContext)
	return shared
}

// keySchedule is RFC 9180's KeySchedule for mode_base (no PSK).
func keySchedule(sharedSecret, info []byte) (*Context, error) {
	pskIDHash := labeledExtract(hpkeSuiteID, nil, "psk_id_hash", nil)
	infoHash := labeledExtract(hpkeSuiteID, nil, "info_hash", info)
	ksContext := make([]byte, 0, 1+2*secretSize)
	ksContext = append(ksContext, 0x00) // mode_base
	ksContext = append(append(ksContext, pskIDHash...), infoHash...)

	secret := labeledExtract(hpkeSuiteID, sharedSecret, "secret", nil)
	defer clear(secret)
	ctx := &Context{}
	labeledExpandInto(ctx.key[:], hpkeSuiteID, secret, "key", ksContext)
	labeledExpandInto(ctx.baseNonce[:], hpkeSuiteID, secret, "base_nonce", ksContext)
	labeledExpandInto(ctx.exporterSecret[:], hpkeSuiteID, secret, "exp", ksContext)
	aead, err := chacha20poly1305.New(ctx.key[:])
	if err != nil {
		return nil, err
	}
	ctx.aead = aead
	return ctx, nil
}

// nonce is RFC 9180's ComputeNonce: the base nonce XOR the sequence number
// as a big-endian integer of the nonce's width (the top 4 bytes stay the
// base nonce's, since the sequence number fits in 8).
func (c *Context) nonce() []byte {
	n := c.baseNonce
	seq := c.seq
	for i := nonceSize - 1; seq != 0; i-- {
		n[i] ^= byte(seq)
		seq >>= 8
	}
	return n[:]
}

// Seal encrypts the next message of the context.
func (c *Context) Seal(aad, plaintext []byte) ([]byte, error) {
	if c.destroyed {
		return nil, ErrDestroyed
	}
	ct := c.aead.Seal(nil, c.nonce(), plaintext, aad)
	c.seq++
	return ct, nil
}

// Open decrypts the next message of the context.
func (c *Context) Open(aad, ciphertext []byte) ([]byte, error) {
	if c.destroyed {
		return nil, ErrDestroyed
	}
	pt, err := c.aead.Open(nil, c.nonce(), ciphertext, aad)
	if err != nil {
		return nil, ErrOpen
	}
	c.seq++
	return pt, nil
}

// Export derives length bytes bound to this context and exporterContext.
func (c *Context) Export(exporterContext []byte, length int) ([]byte, error) {
	if c.destroyed {
		return nil, ErrDestroyed
	}
	if length < 0 || length > 255*secretSize {
		return nil, ErrExportLength
	}
	out := make([]byte, length)
	labeledExpandInto(out, hpkeSuiteID, c.exporterSecret[:], "sec", exporterContext)
	return out, nil
}

// Destroy zeroes the context's secrets.
func (c *Context) Destroy() {
	clear(c.key[:])
	clear(c.baseNonce[:])
	clear(c.exporterSecret[:])
	c.aead = nil
	c.destroyed = true
}

// Seal is single-shot HPKE: it returns enc followed by the ciphertext.
func Seal(receiverPublicKey, info, plaintext []byte) ([]byte, error) {
	enc, ctx, err := SetupSender(receiverPublicKey, info)
	if err != nil {
		return nil, err
	}
	defer ctx.Destroy()
	ct, err := ctx.Seal(nil, plaintext)
	if err != nil {
		return nil, err
	}
	return append(enc, ct...), nil
}

// Open is single-shot HPKE: it opens enc followed by the ciphertext.
func Open(key *PrivateKey, info, sealed []byte) ([]byte, error) {
	if len(sealed) < EncSize+TagSize {
		return nil, ErrOpen
	}
	ctx, err := SetupReceiver(key, sealed[:EncSize], info)
	if err != nil {
		return nil, err
	}
	defer ctx.Destroy()
	return ctx.Open(nil, sealed[EncSize:])
}

const hpkeVersionLabel = "HPKE-v1"

// labeled is RFC 9180's labeled input, "HPKE-v1" || suite_id || label ||
// data, after prefix (LabeledExpand's two-byte length, or nothing).
func labeled(prefix, suiteID []byte, label string, data []byte) []byte {
	return slices.Concat(prefix, []byte(hpkeVersionLabel), suiteID, []byte(label), data)
}

// labeledExtract is RFC 9180's LabeledExtract over HKDF-SHA256.
func labeledExtract(suiteID, salt []byte, label string, ikm []byte) []byte {
	labeledIKM := labeled(nil, suiteID, label, ikm)
	defer clear(labeledIKM)
	return hkdf.Extract(sha256.New, labeledIKM, salt)
}

// labeledExpandInto fills out with LabeledExpand(prk, label, info, len(out)).
// Callers keep len(out) at most 255*32, the HKDF-SHA256 limit.
func labeledExpandInto(out []byte, suiteID, prk []byte, label string, info []byte) {
	length := binary.BigEndian.AppendUint16(nil, uint16(len(out)))
	// HKDF-Expand cannot fail below its length limit, which callers respect.
	_, _ = hkdf.Expand(sha256.New, prk, labeled(length, suiteID, label, info)).Read(out)
}
