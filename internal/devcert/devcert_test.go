package devcert

import (
	"bytes"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func verify(t *testing.T, c *Cert, name string) error {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(c.CA)
	_, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: c.Leaf.NotBefore.Add(2 * time.Hour)})
	return err
}

func TestEnsureMakesKeepsAndRenews(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scanin", "devcert")
	lan := netip.MustParseAddr("192.168.1.5")
	now := time.Now()

	c, err := Ensure(dir, []netip.Addr{lan}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c.NewCA || !c.NewLeaf {
		t.Errorf("first run: NewCA %v NewLeaf %v, want both made", c.NewCA, c.NewLeaf)
	}
	for _, name := range []string{"192.168.1.5", "127.0.0.1", "::1", "localhost"} {
		if err := verify(t, c, name); err != nil {
			t.Errorf("the leaf does not verify for %s against the CA: %v", name, err)
		}
	}
	if err := verify(t, c, "192.168.1.6"); err == nil {
		t.Errorf("the leaf verifies for an address it was not made for")
	}
	if fi, err := os.Stat(filepath.Join(dir, caKeyName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the CA key's mode: %v %v, want 0600", fi.Mode(), err)
	}
	caPEM, _ := os.ReadFile(c.CAFile)

	// A later run reuses both.
	again, err := Ensure(dir, []netip.Addr{lan}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.NewCA || again.NewLeaf || !again.Leaf.Equal(c.Leaf) || again.SPKIHash() != c.SPKIHash() {
		t.Errorf("the second run made new certificates (NewCA %v NewLeaf %v)", again.NewCA, again.NewLeaf)
	}

	// Another address: a new leaf from the same CA, which a phone that
	// installed the CA still trusts.
	moved, err := Ensure(dir, []netip.Addr{netip.MustParseAddr("10.0.0.7")}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if moved.NewCA || !moved.NewLeaf {
		t.Errorf("a new address: NewCA %v NewLeaf %v, want a new leaf only", moved.NewCA, moved.NewLeaf)
	}
	if err := verify(t, moved, "10.0.0.7"); err != nil {
		t.Errorf("the new leaf: %v", err)
	}
	if now, _ := os.ReadFile(c.CAFile); !bytes.Equal(now, caPEM) {
		t.Errorf("the CA file changed with the address")
	}

	// An expiring leaf is made again.
	later, err := Ensure(dir, []netip.Addr{netip.MustParseAddr("10.0.0.7")}, moved.Leaf.NotAfter.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if later.NewCA || !later.NewLeaf {
		t.Errorf("near expiry: NewCA %v NewLeaf %v, want a new leaf only", later.NewCA, later.NewLeaf)
	}

	// A broken CA file: a new CA and leaf, not an error.
	if err := os.WriteFile(c.CAFile, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, err := Ensure(dir, []netip.Addr{lan}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !fresh.NewCA || !fresh.NewLeaf {
		t.Errorf("after a broken CA file: NewCA %v NewLeaf %v, want both made", fresh.NewCA, fresh.NewLeaf)
	}
}

func TestCAIsConstrainedToPrivateAddresses(t *testing.T) {
	if _, err := Ensure(t.TempDir(), []netip.Addr{netip.MustParseAddr("8.8.8.8")}, time.Now()); err == nil || !strings.Contains(err.Error(), "private") {
		t.Errorf("a public address: %v, want a refusal", err)
	}
	c, err := Ensure(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Even a leaf the CA's key signed for a public name fails to verify.
	ca, caKey, err := loadPair(c.CAFile, filepath.Join(c.Dir, caKeyName))
	if err != nil {
		t.Fatal(err)
	}
	evil, _, err := makeLeaf(ca, caKey, []netip.Addr{netip.MustParseAddr("93.184.216.34")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := evil.Verify(x509.VerifyOptions{DNSName: "93.184.216.34", Roots: roots}); err == nil {
		t.Errorf("a leaf for a public address verifies against the demo CA")
	}
}

func TestPermitted(t *testing.T) {
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "172.32.0.1": false,
		"192.168.0.10": true, "100.100.1.1": true, "169.254.3.3": true, "8.8.8.8": false,
		"::1": true, "fd00::1": true, "2001:db8::1": false, "::ffff:192.168.1.1": true,
	} {
		if got := Permitted(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Permitted(%s) = %v, want %v", ip, got, want)
		}
	}
}

func TestDefaultDirFollowsXDGConfigHome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	got, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "scanin", "devcert"); got != want {
		t.Errorf("DefaultDir() = %q, want %q", got, want)
	}
}

func TestPickLANAddr(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name   string
		ifaces []Interface
		want   string
	}{
		{"none", nil, ""},
		{"loopback only", []Interface{{Name: "lo", Up: true, Loopback: true, Addrs: []netip.Addr{a("127.0.0.1"), a("10.0.0.1")}}}, ""},
		{"public only", []Interface{{Name: "eth0", Up: true, Addrs: []netip.Addr{a("192.0.2.2"), a("fd00::1")}}}, ""},
		{"down", []Interface{{Name: "wlan0", Addrs: []netip.Addr{a("192.168.1.5")}}}, ""},
		{"wifi", []Interface{
			{Name: "lo", Up: true, Loopback: true, Addrs: []netip.Addr{a("127.0.0.1")}},
			{Name: "eth0", Up: true, Addrs: []netip.Addr{a("192.0.2.2"), a("fe80::1")}},
			{Name: "wlan0", Up: true, Addrs: []netip.Addr{a("fd00::5"), a("::ffff:192.168.1.5")}},
		}, "192.168.1.5"},
		{"private before shared", []Interface{
			{Name: "tailscale0", Up: true, Addrs: []netip.Addr{a("100.101.102.103")}},
			{Name: "wlan0", Up: true, Addrs: []netip.Addr{a("10.1.2.3")}},
		}, "10.1.2.3"},
		{"shared alone", []Interface{{Name: "tailscale0", Up: true, Addrs: []netip.Addr{a("100.101.102.103")}}}, "100.101.102.103"},
	} {
		got, ok := PickLANAddr(tc.ifaces)
		if (tc.want == "") == ok || (ok && got.String() != tc.want) {
			t.Errorf("%s: PickLANAddr = %v, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
}
