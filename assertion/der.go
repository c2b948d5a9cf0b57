package assertion

import "errors"

// An ECDSA signature in DER is, by RFC 3279 §2.2.3 and X.690:
//
//	Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
//
// 0x30 len, then 0x02 len r, 0x02 len s; each INTEGER is big-endian two's
// complement in the fewest bytes, so a positive number whose top bit is
// set gets a leading 0x00. For P-256, r and s are below the group order
// (32 bytes), so an INTEGER is at most 33 bytes and the SEQUENCE at most
// 70: every length fits DER's one-byte short form, and the long form
// (0x81 ...) would not be DER.

// scalarSize is the size of r and s in an R||S signature: P-256's order
// is 32 bytes.
const scalarSize = SignatureSize / 2

// errDER is DERToRS's error for anything that is not a DER Ecdsa-Sig-Value
// of P-256 size.
var errDER = errors.New("not a DER ECDSA P-256 signature")

// DERToRS converts a DER ECDSA P-256 signature (what Android Keystore,
// the Secure Enclave and crypto/ecdsa.SignASN1 return) to the 64-byte
// R||S of RFC 7518 §3.4: r and s, each 32 bytes big-endian, left-padded
// with zeros. It refuses BER that is not DER (long-form lengths, integers
// with needless leading bytes), negative or zero integers, integers over
// 32 bytes, and trailing bytes.
func DERToRS(der []byte) ([]byte, error) {
	if len(der) < 2 || der[0] != 0x30 || der[1] >= 0x80 || int(der[1]) != len(der)-2 {
		return nil, errDER
	}
	rest := der[2:]
	out := make([]byte, SignatureSize)
	for i := range 2 {
		var n []byte
		var err error
		n, rest, err = derInteger(rest)
		if err != nil {
			return nil, err
		}
		copy(out[i*scalarSize+scalarSize-len(n):(i+1)*scalarSize], n)
	}
	if len(rest) != 0 {
		return nil, errDER
	}
	return out, nil
}

// derInteger reads one positive DER INTEGER of at most 32 bytes of value
// and returns its magnitude without the sign byte.
func derInteger(b []byte) (n, rest []byte, err error) {
	if len(b) < 2 || b[0] != 0x02 || b[1] >= 0x80 || int(b[1]) > len(b)-2 || b[1] == 0 {
		return nil, nil, errDER
	}
	n, rest = b[2:2+int(b[1])], b[2+int(b[1]):]
	if n[0]&0x80 != 0 {
		return nil, nil, errDER // negative
	}
	if n[0] == 0 {
		if len(n) == 1 || n[1]&0x80 == 0 {
			return nil, nil, errDER // zero, or a leading zero that is not needed
		}
		n = n[1:]
	}
	if len(n) > scalarSize {
		return nil, nil, errDER
	}
	return n, rest, nil
}

// RSToDER converts a 64-byte R||S signature to DER, the inverse of
// DERToRS. It refuses another length and a zero r or s.
func RSToDER(rs []byte) ([]byte, error) {
	if len(rs) != SignatureSize {
		return nil, errors.New("an R||S signature is 64 bytes")
	}
	var body []byte
	for i := range 2 {
		n := rs[i*scalarSize : (i+1)*scalarSize]
		for len(n) > 0 && n[0] == 0 {
			n = n[1:]
		}
		if len(n) == 0 {
			return nil, errors.New("r or s is zero")
		}
		if n[0]&0x80 != 0 {
			n = append([]byte{0}, n...)
		}
		body = append(body, 0x02, byte(len(n)))
		body = append(body, n...)
	}
	return append([]byte{0x30, byte(len(body))}, body...), nil
}
