package mobile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// Signer is the device's key pair: ECDSA on P-256, made once and kept by
// the app, in Android Keystore or the Secure Enclave where there is one.
// The SDK signs assertions with it (Session.ApproveAssertion) and writes
// its public key into the registration (NewRegistration). mobile/README.md
// shows a Kotlin and a Swift implementation.
type Signer interface {
	// PublicKey returns the device's public key: the 65-byte uncompressed
	// point 0x04||X||Y (what Apple's SecKeyCopyExternalRepresentation
	// returns) or a DER SubjectPublicKeyInfo (what Java's
	// PublicKey.getEncoded returns).
	PublicKey() ([]byte, error)
	// Sign signs message with ECDSA P-256 over its SHA-256 (the signer
	// hashes: Android's "SHA256withECDSA", Apple's
	// ecdsaSignatureMessageX962SHA256) and returns the signature in DER,
	// as both platforms do. The 64-byte R||S (what WebCrypto returns) is
	// accepted too.
	Sign(message []byte) ([]byte, error)
}

// signerKey reads a Signer's public key.
func signerKey(s Signer) (*ecdsa.PublicKey, error) {
	if s == nil {
		return nil, errors.New("no signer")
	}
	b, err := s.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("the signer has no public key: %w", err)
	}
	if len(b) == 65 && b[0] == 4 {
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b)
		if err != nil {
			return nil, fmt.Errorf("the signer's public key: %w", err)
		}
		return pub, nil
	}
	key, err := x509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("the signer's public key is neither a 65-byte P-256 point nor a SubjectPublicKeyInfo: %w", err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("the signer's public key is not an ECDSA P-256 key")
	}
	return pub, nil
}

// FileSigner is a Signer whose private key is a file: PKCS#8 in PEM,
// readable by its owner only. It is for the CLI, tests and demos; a phone
// app keeps its key in the platform's key store instead.
type FileSigner struct {
	key *ecdsa.PrivateKey
}

var _ Signer = (*FileSigner)(nil)

// CreateFileSigner makes a new P-256 key pair and writes the private key
// to path (PKCS#8 PEM, mode 0600). It refuses to overwrite a file that
// exists: a device's key is made once.
func CreateFileSigner(path string) (*FileSigner, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to make a device key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the device key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create the device key file: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("failed to write the device key file: %w", werr)
	}
	return &FileSigner{key: key}, nil
}

// LoadFileSigner reads the private key CreateFileSigner wrote.
func LoadFileSigner(path string) (*FileSigner, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the device key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("failed to read the device key: %s is not a PKCS#8 PEM file (PRIVATE KEY)", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("failed to read the device key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("failed to read the device key: %s is not an ECDSA P-256 key", path)
	}
	return &FileSigner{key: ec}, nil
}

// PublicKey returns the 65-byte uncompressed public key.
func (s *FileSigner) PublicKey() ([]byte, error) {
	if s == nil || s.key == nil {
		return nil, errors.New("the FileSigner was not made by CreateFileSigner or LoadFileSigner")
	}
	b, err := s.key.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("failed to encode the public key: %w", err)
	}
	return b, nil
}

// Sign returns the DER ECDSA signature of SHA-256(message).
func (s *FileSigner) Sign(message []byte) ([]byte, error) {
	if s == nil || s.key == nil {
		return nil, errors.New("the FileSigner was not made by CreateFileSigner or LoadFileSigner")
	}
	digest := sha256.Sum256(message)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("failed to sign: %w", err)
	}
	return sig, nil
}
