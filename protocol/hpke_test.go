package protocol

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha3"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// rfc9180Vector is one suite's entry in the RFC 9180 test-vector format
// (the CFRG's test-vectors.json field names).
type rfc9180Vector struct {
	Source             string `json:"source"`
	Mode               int    `json:"mode"`
	KEMID              int    `json:"kem_id"`
	KDFID              int    `json:"kdf_id"`
	AEADID             int    `json:"aead_id"`
	Info               string `json:"info"`
	IKME               string `json:"ikmE"`
	PkEm               string `json:"pkEm"`
	SkEm               string `json:"skEm"`
	IKMR               string `json:"ikmR"`
	PkRm               string `json:"pkRm"`
	SkRm               string `json:"skRm"`
	Enc                string `json:"enc"`
	SharedSecret       string `json:"shared_secret"`
	KeyScheduleContext string `json:"key_schedule_context"`
	Secret             string `json:"secret"`
	Key                string `json:"key"`
	BaseNonce          string `json:"base_nonce"`
	ExporterSecret     string `json:"exporter_secret"`
	Encryptions        []struct {
		Seq   uint64 `json:"sequence_number"`
		Pt    string `json:"pt"`
		Aad   string `json:"aad"`
		Nonce string `json:"nonce"`
		Ct    string `json:"ct"`
	} `json:"encryptions"`
	Exports []struct {
		Context string `json:"exporter_context"`
		L       int    `json:"L"`
		Value   string `json:"exported_value"`
	} `json:"exports"`
	EncryptionsAccumulated string `json:"encryptions_accumulated"`
	ExportsAccumulated     string `json:"exports_accumulated"`
}

func loadRFC9180Vector(t *testing.T) rfc9180Vector {
	t.Helper()
	b, err := os.ReadFile("testdata/rfc9180-a.2.1.json")
	if err != nil {
		t.Fatalf("failed to read the RFC 9180 vector: %v", err)
	}
	var v rfc9180Vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("failed to decode the RFC 9180 vector: %v", err)
	}
	// A vector file that lost its values must fail, never pass vacuously.
	if v.Mode != 0 || v.KEMID != kemID || v.KDFID != kdfID || v.AEADID != aeadID {
		t.Fatalf("vector is for mode %d suite %#x/%#x/%#x, want mode_base %#x/%#x/%#x",
			v.Mode, v.KEMID, v.KDFID, v.AEADID, kemID, kdfID, aeadID)
	}
	if len(v.Encryptions) != 6 || len(v.Exports) != 3 {
		t.Fatalf("vector has %d encryptions and %d exports, want A.2.1's 6 and 3", len(v.Encryptions), len(v.Exports))
	}
	return v
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func checkHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if h := hex.EncodeToString(got); h != want {
		t.Errorf("%s = %s, want %s", what, h, want)
	}
}

// TestRFC9180Vectors reproduces RFC 9180 Appendix A.2.1 value by value: the
// suite scanin uses, in mode_base.
func TestRFC9180Vectors(t *testing.T) {
	v := loadRFC9180Vector(t)
	info := mustHex(t, v.Info)

	ephemeral, err := deriveKeyPair(mustHex(t, v.IKME))
	if err != nil {
		t.Fatalf("DeriveKeyPair(ikmE): %v", err)
	}
	receiver, err := deriveKeyPair(mustHex(t, v.IKMR))
	if err != nil {
		t.Fatalf("DeriveKeyPair(ikmR): %v", err)
	}
	t.Run("keys", func(t *testing.T) {
		checkHex(t, "skEm", ephemeral.scalar[:], v.SkEm)
		checkHex(t, "pkEm", ephemeral.PublicKey(), v.PkEm)
		checkHex(t, "skRm", receiver.scalar[:], v.SkRm)
		checkHex(t, "pkRm", receiver.PublicKey(), v.PkRm)
	})
	t.Run("shared_secret", func(t *testing.T) {
		dh, err := x25519(mustHex(t, v.SkEm), mustHex(t, v.PkRm))
		if err != nil {
			t.Fatal(err)
		}
		checkHex(t, "shared_secret", extractAndExpand(dh, mustHex(t, v.Enc), mustHex(t, v.PkRm)), v.SharedSecret)
		// The receiver's side of the DH must agree.
		dhR, err := x25519(mustHex(t, v.SkRm), mustHex(t, v.Enc))
		if err != nil {
			t.Fatal(err)
		}
		checkHex(t, "receiver shared_secret", extractAndExpand(dhR, mustHex(t, v.Enc), mustHex(t, v.PkRm)), v.SharedSecret)
	})
	t.Run("key_schedule_context and secret", func(t *testing.T) {
		ks := []byte{0x00}
		ks = append(ks, labeledExtract(hpkeSuiteID, nil, "psk_id_hash", nil)...)
		ks = append(ks, labeledExtract(hpkeSuiteID, nil, "info_hash", info)...)
		checkHex(t, "key_schedule_context", ks, v.KeyScheduleContext)
		checkHex(t, "secret", labeledExtract(hpkeSuiteID, mustHex(t, v.SharedSecret), "secret", nil), v.Secret)
	})

	// setupSenderWithEphemeral destroys the ephemeral key it is given, so
	// derive a fresh copy for it.
	eph, err := deriveKeyPair(mustHex(t, v.IKME))
	if err != nil {
		t.Fatal(err)
	}
	enc, sender, err := setupSenderWithEphemeral(receiver.PublicKey(), info, eph)
	if err != nil {
		t.Fatalf("SetupBaseS: %v", err)
	}
	if !eph.destroyed || eph.scalar != [32]byte{} {
		t.Error("setupSenderWithEphemeral left the ephemeral private key intact")
	}
	recipient, err := SetupReceiver(receiver, enc, info)
	if err != nil {
		t.Fatalf("SetupBaseR: %v", err)
	}
	for name, ctx := range map[string]*Context{"sender": sender, "receiver": recipient} {
		t.Run(name+" context", func(t *testing.T) {
			checkHex(t, "enc", enc, v.Enc)
			checkHex(t, "key", ctx.key[:], v.Key)
			checkHex(t, "base_nonce", ctx.baseNonce[:], v.BaseNonce)
			checkHex(t, "exporter_secret", ctx.exporterSecret[:], v.ExporterSecret)
		})
	}

	// The sender reaches each sequence number by sealing, so the test also
	// checks that Seal counts; the receiver's counter is set directly,
	// because Open does not advance on a message it cannot open.
	for _, e := range v.Encryptions {
		t.Run("encryption seq "+strconv.FormatUint(e.Seq, 10), func(t *testing.T) {
			for sender.seq < e.Seq {
				if _, err := sender.Seal(nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			if sender.seq != e.Seq {
				t.Fatalf("sender at sequence %d, want %d", sender.seq, e.Seq)
			}
			checkHex(t, "nonce", sender.nonce(), e.Nonce)
			pt, aad := mustHex(t, e.Pt), mustHex(t, e.Aad)
			ct, err := sender.Seal(aad, pt)
			if err != nil {
				t.Fatal(err)
			}
			checkHex(t, "ct", ct, e.Ct)
			if sender.seq != e.Seq+1 {
				t.Errorf("Seal left the sequence at %d, want %d", sender.seq, e.Seq+1)
			}

			recipient.seq = e.Seq
			got, err := recipient.Open(aad, mustHex(t, e.Ct))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, pt) {
				t.Errorf("Open = %x, want %x", got, pt)
			}
			recipient.seq = e.Seq
			if _, err := recipient.Open(mustHex(t, "00"), mustHex(t, e.Ct)); !errors.Is(err, ErrOpen) {
				t.Errorf("Open with the wrong aad: %v, want ErrOpen", err)
			}
			if recipient.seq != e.Seq {
				t.Errorf("a failed Open moved the sequence to %d", recipient.seq)
			}
		})
	}
	for _, e := range v.Exports {
		t.Run("export "+strconv.Quote(e.Context), func(t *testing.T) {
			for name, ctx := range map[string]*Context{"sender": sender, "receiver": recipient} {
				got, err := ctx.Export(mustHex(t, e.Context), e.L)
				if err != nil {
					t.Fatalf("%s Export: %v", name, err)
				}
				checkHex(t, name+" exported_value", got, e.Value)
			}
		})
	}
}

// TestRFC9180Accumulated checks the vector file's two accumulated values.
// Their definition (in the file's source, Go's crypto/hpke test data): a
// SHAKE128 stream with an empty input supplies length-prefixed chunks (one
// length byte, then that many bytes); 1,000 seals use two chunks each (aad,
// then plaintext) and 1,000 exports one chunk each (the context, with length
// i for the i-th export); every output is absorbed into a second SHAKE128,
// of which the first 16 bytes are the accumulated value.
func TestRFC9180Accumulated(t *testing.T) {
	v := loadRFC9180Vector(t)
	info := mustHex(t, v.Info)
	receiver, err := deriveKeyPair(mustHex(t, v.IKMR))
	if err != nil {
		t.Fatal(err)
	}
	eph, err := deriveKeyPair(mustHex(t, v.IKME))
	if err != nil {
		t.Fatal(err)
	}
	enc, sender, err := setupSenderWithEphemeral(receiver.PublicKey(), info, eph)
	if err != nil {
		t.Fatal(err)
	}
	recipient, err := SetupReceiver(receiver, enc, info)
	if err != nil {
		t.Fatal(err)
	}

	sealed := accumulate(func(i int, chunk func() []byte) []byte {
		aad := chunk()
		plaintext := chunk()
		ciphertext, err := sender.Seal(aad, plaintext)
		if err != nil {
			t.Fatal(err)
		}
		opened, err := recipient.Open(aad, ciphertext)
		if err != nil || !bytes.Equal(opened, plaintext) {
			t.Fatalf("seal %d: Open = %x, %v; want %x", i, opened, err, plaintext)
		}
		return ciphertext
	})
	checkHex(t, "encryptions_accumulated", sealed, v.EncryptionsAccumulated)

	exported := accumulate(func(length int, chunk func() []byte) []byte {
		exporterContext := chunk()
		fromSender, err := sender.Export(exporterContext, length)
		if err != nil {
			t.Fatal(err)
		}
		fromReceiver, err := recipient.Export(exporterContext, length)
		if err != nil || !bytes.Equal(fromReceiver, fromSender) {
			t.Fatalf("export of %d bytes: the receiver's differs from the sender's (%v)", length, err)
		}
		return fromSender
	})
	checkHex(t, "exports_accumulated", exported, v.ExportsAccumulated)
}

// accumulate runs step 1,000 times, with i from 0, and returns the 16-byte
// digest of everything the steps returned, as TestRFC9180Accumulated
// describes. chunk reads the next length-prefixed chunk of the input stream.
func accumulate(step func(i int, chunk func() []byte) []byte) []byte {
	input, digest := sha3.NewSHAKE128(), sha3.NewSHAKE128()
	chunk := func() []byte {
		var length [1]byte
		_, _ = input.Read(length[:])
		out := make([]byte, length[0])
		_, _ = input.Read(out)
		return out
	}
	for i := range 1000 {
		_, _ = digest.Write(step(i, chunk))
	}
	out := make([]byte, 16)
	_, _ = digest.Read(out)
	return out
}

// stdlibSuite is our suite as the standard library's crypto/hpke names it.
func stdlibSuite() (hpke.KEM, hpke.KDF, hpke.AEAD) {
	return hpke.DHKEM(ecdh.X25519()), hpke.HKDFSHA256(), hpke.ChaCha20Poly1305()
}

// testRand is a seeded generator; the seed is logged so a failure can be
// replayed.
func testRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	t.Logf("random seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x5ca9))
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCrossCheckStdlibOursToStdlib(t *testing.T) {
	kem, kdf, aead := stdlibSuite()
	r := testRand(t)
	for i := range 1000 {
		key, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := kem.NewPrivateKey(key.scalar[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(theirs.PublicKey().Bytes(), key.PublicKey()) {
			t.Fatalf("crypto/hpke derives public key %x from our scalar, we derive %x", theirs.PublicKey().Bytes(), key.PublicKey())
		}
		info := Info("demo", NewSessionID())
		pt := randomBytes(r, r.IntN(MaxPlaintextSize+1))
		sealed, err := Seal(key.PublicKey(), info, pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != EncSize+len(pt)+TagSize {
			t.Fatalf("sealed %d bytes of plaintext into %d bytes", len(pt), len(sealed))
		}
		got, err := hpke.Open(theirs, kdf, aead, info, sealed)
		if err != nil {
			t.Fatalf("message %d (%d bytes): crypto/hpke cannot open ours: %v", i, len(pt), err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("message %d: crypto/hpke opened different bytes", i)
		}
		if _, err := hpke.Open(theirs, kdf, aead, Info("demo", NewSessionID()), sealed); err == nil {
			t.Fatalf("message %d: crypto/hpke opened ours with another session's info", i)
		}
	}
}

func TestCrossCheckStdlibStdlibToOurs(t *testing.T) {
	kem, kdf, aead := stdlibSuite()
	r := testRand(t)
	for i := range 1000 {
		key, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub, err := kem.NewPublicKey(key.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		sid := NewSessionID()
		pt := randomBytes(r, r.IntN(MaxPlaintextSize+1))
		sealed, err := hpke.Seal(pub, kdf, aead, Info("demo", sid), pt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Open(key, Info("demo", sid), sealed)
		if err != nil {
			t.Fatalf("message %d (%d bytes): we cannot open crypto/hpke's: %v", i, len(pt), err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("message %d: opened different bytes", i)
		}
		if _, err := Open(key, Info("shop", sid), sealed); !errors.Is(err, ErrOpen) {
			t.Fatalf("message %d: opened with another app's info: %v", i, err)
		}
	}
}

// TestCrossCheckStdlibExport checks Export and the check code against
// crypto/hpke in both directions, and multi-message contexts.
func TestCrossCheckStdlibExport(t *testing.T) {
	kem, kdf, aead := stdlibSuite()
	for range 50 {
		key, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub, err := kem.NewPublicKey(key.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		priv, err := kem.NewPrivateKey(key.scalar[:])
		if err != nil {
			t.Fatal(err)
		}
		info := Info("demo", NewSessionID())

		// Theirs sends, ours receives.
		enc, theirSender, err := hpke.NewSender(pub, kdf, aead, info)
		if err != nil {
			t.Fatal(err)
		}
		ourRecipient, err := SetupReceiver(key, enc, info)
		if err != nil {
			t.Fatal(err)
		}
		// Ours sends, theirs receives.
		enc2, ourSender, err := SetupSender(key.PublicKey(), info)
		if err != nil {
			t.Fatal(err)
		}
		theirRecipient, err := hpke.NewRecipient(enc2, priv, kdf, aead, info)
		if err != nil {
			t.Fatal(err)
		}

		pairs := []struct {
			name   string
			ours   *Context
			theirs func(string, int) ([]byte, error)
		}{
			{"stdlib sender, our receiver", ourRecipient, theirSender.Export},
			{"our sender, stdlib receiver", ourSender, theirRecipient.Export},
		}
		for _, p := range pairs {
			want, err := p.theirs(checkCodeLabel, 2)
			if err != nil {
				t.Fatal(err)
			}
			code, err := p.ours.CheckCode()
			if err != nil {
				t.Fatal(err)
			}
			if wantCode := twoDigits(binary.BigEndian.Uint16(want) % 100); code != wantCode {
				t.Errorf("%s: check code %s, crypto/hpke's export gives %s", p.name, code, wantCode)
			}
			for _, l := range []int{0, 1, 2, 32, 33, 100, 255 * 32} {
				for _, c := range []string{"", checkCodeLabel, "\x00other"} {
					want, err := p.theirs(c, l)
					if err != nil {
						t.Fatal(err)
					}
					got, err := p.ours.Export([]byte(c), l)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%s: Export(%q, %d) differs from crypto/hpke", p.name, c, l)
					}
				}
			}
		}

		// Several messages in one context keep both counters in step.
		for j := range 5 {
			pt := []byte("message " + strconv.Itoa(j))
			ct, err := theirSender.Seal([]byte("aad"), pt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ourRecipient.Open([]byte("aad"), ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("message %d from crypto/hpke's context: %q, %v", j, got, err)
			}
			ct, err = ourSender.Seal(nil, pt)
			if err != nil {
				t.Fatal(err)
			}
			got, err = theirRecipient.Open(nil, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("message %d to crypto/hpke's context: %q, %v", j, got, err)
			}
		}
	}
}

func twoDigits(n uint16) string {
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

// TestOpenRejectsTampering: every way a sealed message can be wrong gives
// ErrOpen and nothing more.
func TestOpenRejectsTampering(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sid := NewSessionID()
	info := Info("demo", sid)
	pt := []byte(`{"v":1,"kind":"data","data":"x","iat":1}`)
	sealed, err := Seal(key.PublicKey(), info, pt)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(key, info, sealed); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("untampered message: %q, %v", got, err)
	}
	other, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int, mask byte) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= mask
		return b
	}
	cases := map[string]struct {
		key    *PrivateKey
		info   []byte
		sealed []byte
	}{
		"wrong sid":               {key, Info("demo", NewSessionID()), sealed},
		"wrong app":               {key, Info("shop", sid), sealed},
		"empty info":              {key, nil, sealed},
		"wrong key":               {other, info, sealed},
		"truncated by one":        {key, info, sealed[:len(sealed)-1]},
		"enc and tag only":        {key, info, sealed[:EncSize+TagSize]},
		"shorter than enc+tag":    {key, info, sealed[:EncSize+TagSize-1]},
		"enc only":                {key, info, sealed[:EncSize]},
		"empty":                   {key, info, nil},
		"extra byte":              {key, info, append(bytes.Clone(sealed), 0)},
		"low-order enc":           {key, info, append(make([]byte, EncSize), sealed[EncSize:]...)},
		"enc top bit (same DH)":   {key, info, flip(EncSize-1, 0x80)},
		"ciphertext and enc swap": {key, info, append(bytes.Clone(sealed[EncSize:]), sealed[:EncSize]...)},
	}
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80} {
			cases["flip byte "+strconv.Itoa(i)+" mask "+strconv.Itoa(int(mask))] = struct {
				key    *PrivateKey
				info   []byte
				sealed []byte
			}{key, info, flip(i, mask)}
		}
	}
	for name, c := range cases {
		got, err := Open(c.key, c.info, c.sealed)
		if !errors.Is(err, ErrOpen) || got != nil {
			t.Errorf("%s: Open = %q, %v; want ErrOpen", name, got, err)
		}
	}
}

func TestKeysAndContextsDestroy(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := key.PublicKey()
	info := Info("demo", NewSessionID())
	sealed, err := Seal(pub, info, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	key.Destroy()
	if key.scalar != [PrivateKeySize]byte{} {
		t.Error("Destroy left private key bytes")
	}
	if _, err := Open(key, info, sealed); !errors.Is(err, ErrDestroyed) {
		t.Errorf("Open with a destroyed key: %v, want ErrDestroyed", err)
	}
	if _, err := SetupReceiver(key, sealed[:EncSize], info); !errors.Is(err, ErrDestroyed) {
		t.Errorf("SetupReceiver with a destroyed key: %v, want ErrDestroyed", err)
	}
	if !bytes.Equal(key.PublicKey(), pub) {
		t.Error("Destroy changed the public key, which is not secret")
	}

	_, ctx, err := SetupSender(pub, info)
	if err != nil {
		t.Fatal(err)
	}
	ctx.Destroy()
	if ctx.key != [secretSize]byte{} || ctx.baseNonce != [nonceSize]byte{} || ctx.exporterSecret != [secretSize]byte{} {
		t.Error("Context.Destroy left secret bytes")
	}
	if _, err := ctx.Seal(nil, nil); !errors.Is(err, ErrDestroyed) {
		t.Errorf("Seal after Destroy: %v", err)
	}
	if _, err := ctx.Open(nil, make([]byte, TagSize)); !errors.Is(err, ErrDestroyed) {
		t.Errorf("Open after Destroy: %v", err)
	}
	if _, err := ctx.Export(nil, 2); !errors.Is(err, ErrDestroyed) {
		t.Errorf("Export after Destroy: %v", err)
	}
	if _, err := ctx.CheckCode(); !errors.Is(err, ErrDestroyed) {
		t.Errorf("CheckCode after Destroy: %v", err)
	}
}

func TestSetupAndExportErrors(t *testing.T) {
	info := Info("demo", NewSessionID())
	if _, err := Open(nil, info, make([]byte, EncSize+TagSize)); !errors.Is(err, ErrDestroyed) {
		t.Errorf("Open(nil key): %v, want ErrDestroyed", err)
	}
	for name, pk := range map[string][]byte{
		"nil":       nil,
		"31 bytes":  make([]byte, 31),
		"33 bytes":  append([]byte{9}, make([]byte, 32)...),
		"zero":      make([]byte, 32),
		"one":       append([]byte{1}, make([]byte, 31)...),
		"p (== 0)":  mustHex(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
		"order 8":   mustHex(t, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
		"order 8 b": mustHex(t, "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
	} {
		if _, _, err := SetupSender(pk, info); !errors.Is(err, ErrKey) {
			t.Errorf("SetupSender(%s): %v, want ErrKey", name, err)
		}
		if _, err := Seal(pk, info, []byte("x")); !errors.Is(err, ErrKey) {
			t.Errorf("Seal(%s): %v, want ErrKey", name, err)
		}
	}
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range [][]byte{nil, make([]byte, 31), make([]byte, 33), make([]byte, 32)} {
		if _, err := SetupReceiver(key, enc, info); !errors.Is(err, ErrOpen) {
			t.Errorf("SetupReceiver(enc of %d bytes, %x): %v, want ErrOpen", len(enc), enc, err)
		}
	}

	_, ctx, err := SetupSender(key.PublicKey(), info)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []int{-1, 255*32 + 1, 1 << 20} {
		if _, err := ctx.Export(nil, l); !errors.Is(err, ErrExportLength) {
			t.Errorf("Export(length %d): %v, want ErrExportLength", l, err)
		}
	}
	for _, l := range []int{0, 1, 255 * 32} {
		out, err := ctx.Export(nil, l)
		if err != nil || len(out) != l {
			t.Errorf("Export(length %d) = %d bytes, %v", l, len(out), err)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	seen := map[[PublicKeySize]byte]bool{}
	for range 100 {
		key, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		want, err := x25519(key.scalar[:], x25519Basepoint[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key.PublicKey(), want) || len(key.PublicKey()) != PublicKeySize {
			t.Fatalf("public key %x, want %x", key.PublicKey(), want)
		}
		if seen[key.public] {
			t.Fatal("GenerateKey repeated a key")
		}
		seen[key.public] = true
		// PublicKey hands out a copy: a caller cannot change the key.
		key.PublicKey()[0] ^= 0xff
		if !bytes.Equal(key.PublicKey(), want) {
			t.Fatal("PublicKey returned the key's own storage")
		}
	}
}
