// Package devcert makes and keeps the certificate `scanin demo --lan` serves
// HTTPS with: a small certificate authority of the user's own (ECDSA P-256)
// and a leaf it signs for this machine's LAN address, 127.0.0.1, ::1 and
// localhost. Nothing is downloaded: crypto/x509 makes both.
//
// Both live in a directory under the user's config directory
// (os.UserConfigDir()/scanin/devcert, which honours XDG_CONFIG_HOME and
// HOME), so a phone that accepted the certificate, or installed the CA,
// once keeps trusting the demo on later runs. The leaf is made again when
// it expires or does not name the address asked for; the CA only when it
// expires or is unreadable.
//
// The CA is name-constrained to loopback, private (RFC 1918, RFC 4193),
// shared (RFC 6598, as VPNs such as Tailscale use) and link-local
// addresses and to localhost, so that a device that installs it trusts it
// for nothing on the public internet, even if its key leaked.
package devcert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The lifetimes of what Ensure makes. The leaf stays under the 398 days
// that browsers accept for a server certificate.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 397 * 24 * time.Hour
	// renewBefore: a certificate this close to its end is made again, so
	// that a demo started today still works tomorrow.
	renewBefore = 24 * time.Hour
)

// File names inside the directory.
const (
	caCertName   = "ca.pem"
	caKeyName    = "ca-key.pem"
	leafCertName = "cert.pem"
	leafKeyName  = "key.pem"
)

// permittedRanges are the addresses the CA may sign for (its name
// constraints): loopback, private, shared and link-local, IPv4 and IPv6.
var permittedRanges = []string{
	"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
	"100.64.0.0/10", "169.254.0.0/16",
	"::1/128", "fc00::/7", "fe80::/10",
}

// Permitted reports whether the CA may sign a certificate for ip: whether
// ip is a loopback, private, shared (100.64.0.0/10) or link-local address.
func Permitted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, s := range permittedRanges {
		if netip.MustParsePrefix(s).Contains(ip) {
			return true
		}
	}
	return false
}

// DefaultDir is where the demo keeps its certificates:
// os.UserConfigDir()/scanin/devcert.
func DefaultDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no directory for the demo's certificate (set XDG_CONFIG_HOME or HOME): %w", err)
	}
	return filepath.Join(dir, "scanin", "devcert"), nil
}

// Cert is the certificate Ensure found or made.
type Cert struct {
	// Dir is the directory of the files.
	Dir string
	// CAFile is the CA certificate (PEM), which a phone or browser can
	// install to trust the leaf; CertFile and KeyFile are the leaf's
	// certificate (with the CA after it) and private key.
	CAFile, CertFile, KeyFile string
	// CA and Leaf are the parsed certificates.
	CA, Leaf *x509.Certificate
	// TLS is the leaf for a tls.Config, with its chain.
	TLS tls.Certificate
	// NewCA and NewLeaf report that Ensure made them on this call.
	NewCA, NewLeaf bool
}

// SPKIHash is the base64 SHA-256 of the leaf's public key, as Chromium's
// --ignore-certificate-errors-spki-list and HPKP write it.
func (c *Cert) SPKIHash() string {
	sum := sha256.Sum256(c.Leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Ensure returns a leaf for ips (and loopback and localhost), signed by the
// CA in dir, making the directory, the CA and the leaf as needed. now is
// the time to judge expiry by (time.Now() but in tests).
func Ensure(dir string, ips []netip.Addr, now time.Time) (*Cert, error) {
	for _, ip := range ips {
		if !Permitted(ip) {
			return nil, fmt.Errorf("%s is not a loopback, private or link-local address, and the demo's CA signs only those: choose one of this machine's LAN addresses", ip)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("making the certificate directory: %w", err)
	}
	c := &Cert{
		Dir:      dir,
		CAFile:   filepath.Join(dir, caCertName),
		CertFile: filepath.Join(dir, leafCertName),
		KeyFile:  filepath.Join(dir, leafKeyName),
	}
	ca, caKey, err := loadPair(c.CAFile, filepath.Join(dir, caKeyName))
	if err != nil || !ca.IsCA || !valid(ca, now) {
		if ca, caKey, err = makeCA(now); err != nil {
			return nil, err
		}
		if err := writePair(c.CAFile, filepath.Join(dir, caKeyName), ca, nil, caKey); err != nil {
			return nil, err
		}
		c.NewCA = true
	}
	c.CA = ca

	names := leafIPs(ips)
	leaf, leafKey, err := loadPair(c.CertFile, c.KeyFile)
	if c.NewCA || err != nil || !valid(leaf, now) || !coversAll(leaf, names) || leaf.CheckSignatureFrom(ca) != nil {
		if leaf, leafKey, err = makeLeaf(ca, caKey, names, now); err != nil {
			return nil, err
		}
		if err := writePair(c.CertFile, c.KeyFile, leaf, ca, leafKey); err != nil {
			return nil, err
		}
		c.NewLeaf = true
	}
	c.Leaf = leaf
	c.TLS = tls.Certificate{
		Certificate: [][]byte{leaf.Raw, ca.Raw},
		PrivateKey:  leafKey,
		Leaf:        leaf,
	}
	return c, nil
}

// leafIPs is ips with loopback added, without repeats.
func leafIPs(ips []netip.Addr) []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	for _, ip := range ips {
		ip = ip.Unmap()
		if !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}

func valid(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && now.Add(renewBefore).Before(c.NotAfter)
}

// coversAll reports whether the leaf names every address of ips.
func coversAll(leaf *x509.Certificate, ips []netip.Addr) bool {
	for _, ip := range ips {
		found := false
		for _, have := range leaf.IPAddresses {
			if a, ok := netip.AddrFromSlice(have); ok && a.Unmap() == ip {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("making a serial number: %w", err)
	}
	return n, nil
}

func makeCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("making the CA key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	var permitted []*net.IPNet
	for _, s := range permittedRanges {
		_, n, _ := net.ParseCIDR(s)
		permitted = append(permitted, n)
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject: pkix.Name{
			Organization: []string{"scanin demo"},
			CommonName:   "scanin demo CA (" + host + ")",
		},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(caLifetime),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges:           permitted,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("making the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("reading back the CA certificate: %w", err)
	}
	return cert, key, nil
}

func makeLeaf(ca *x509.Certificate, caKey crypto.Signer, ips []netip.Addr, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("making the certificate's key: %w", err)
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	var addrs []net.IP
	for _, ip := range ips {
		addrs = append(addrs, net.IP(ip.AsSlice()))
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"scanin demo"}, CommonName: ips[len(ips)-1].String()},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  addrs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("making the certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("reading back the certificate: %w", err)
	}
	return cert, key, nil
}

// loadPair reads a certificate (the first of the PEM file) and its ECDSA
// key.
func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("the key is not the certificate's")
	}
	return cert, key, nil
}

// writePair writes a certificate (followed by issuer, if not nil) and its
// key, each to a temporary file renamed into place, so that a demo
// starting at the same time reads the old files or the new, never half.
func writePair(certFile, keyFile string, cert, issuer *x509.Certificate, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding the key: %w", err)
	}
	var certPEM bytes.Buffer
	pem.Encode(&certPEM, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if issuer != nil {
		pem.Encode(&certPEM, &pem.Block{Type: "CERTIFICATE", Bytes: issuer.Raw})
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	if err := writeFile(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(certFile, certPEM.Bytes(), 0o644)
}

func writeFile(name string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// LANAddr returns this machine's LAN address: the first IPv4 address of a
// private range (RFC 1918, then the shared 100.64.0.0/10 range VPNs use)
// on an interface that is up and not loopback. It fails when there is
// none, saying what to do.
func LANAddr() (netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("listing the network interfaces: %w", err)
	}
	var list []Interface
	for _, ifc := range ifaces {
		in := Interface{Name: ifc.Name, Up: ifc.Flags&net.FlagUp != 0, Loopback: ifc.Flags&net.FlagLoopback != 0}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					in.Addrs = append(in.Addrs, ip.Unmap())
				}
			}
		}
		list = append(list, in)
	}
	if ip, ok := PickLANAddr(list); ok {
		return ip, nil
	}
	return netip.Addr{}, errors.New("this machine has no private IPv4 address on a network interface that is up (is it on Wi-Fi or Ethernet?): connect it to the phone's network, or name the address with --lan-ip")
}

// Interface is a network interface as PickLANAddr sees it.
type Interface struct {
	Name         string
	Up, Loopback bool
	Addrs        []netip.Addr
}

// PickLANAddr is LANAddr's choice among ifaces: the first private IPv4
// address (RFC 1918) of an interface that is up and not loopback, else the
// first such address in 100.64.0.0/10.
func PickLANAddr(ifaces []Interface) (netip.Addr, bool) {
	var shared netip.Addr
	for _, ifc := range ifaces {
		if !ifc.Up || ifc.Loopback {
			continue
		}
		for _, ip := range ifc.Addrs {
			ip = ip.Unmap()
			switch {
			case !ip.Is4() || ip.IsLoopback():
			case ip.IsPrivate():
				return ip, true
			case !shared.IsValid() && netip.MustParsePrefix("100.64.0.0/10").Contains(ip):
				shared = ip
			}
		}
	}
	return shared, shared.IsValid()
}
