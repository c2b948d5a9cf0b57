//go:build !js

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/internal/devcert"
)

// `scanin demo --lan` as a person with a phone meets it: the relay and the
// shop over HTTPS on this machine's LAN address, with the certificate of
// the demo's own CA. The browser trusts that certificate as a phone does
// once its owner accepted it (Chromium headless cannot import a CA, so it
// is told to accept this one leaf by its public key:
// --ignore-certificate-errors-spki-list), and the test checks in Go that
// the leaf chains to the CA file the demo printed, for the LAN address.
func TestDemoLAN(t *testing.T) {
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config) // the demo's child process inherits it

	ip, err := devcert.LANAddr()
	if err != nil {
		// A machine without a LAN (a CI container): loopback stands in.
		ip = netip.MustParseAddr("127.0.0.1")
		t.Logf("no private LAN address here (%v); testing --lan on %s", err, ip)
	} else {
		t.Logf("testing --lan on this machine's LAN address %s", ip)
	}
	any0 := netip.AddrPortFrom(ip, 0).String()
	d := startDemo(t, "--lan-ip", ip.String(), "--relay-addr", any0, "--shop-addr", any0)
	for name, u := range map[string]string{"shop": d.shop, "relay": d.relay, "phone": d.phone} {
		if !strings.HasPrefix(u, "https://"+ip.String()+":") {
			t.Fatalf("the demo's %s is %s, want https on %s", name, u, ip)
		}
	}

	// The certificate the demo serves chains to its CA, for the address.
	dir := filepath.Join(config, "scanin", "devcert")
	ca := readPEMCert(t, filepath.Join(dir, "ca.pem"))
	leaf := readPEMCert(t, filepath.Join(dir, "cert.pem"))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: ip.String()}); err != nil {
		t.Fatalf("the demo's certificate does not verify for %s against its CA: %v", ip, err)
	}
	cert := &devcert.Cert{Leaf: leaf}

	// A browser that trusts that certificate, and only it.
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		append(browserFlags(filepath.Join(t.TempDir(), "chromium"), true),
			chromedp.Flag("ignore-certificate-errors-spki-list", cert.SPKIHash()))...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("failed to start Chromium: %v", err)
	}
	newTab := func() context.Context {
		ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("failed to open a tab: %v", err)
		}
		return ctx
	}

	shop := newTab()
	must(t, shop, chromedp.Navigate(d.shop+"/?storage=localStorage"))
	waitFor(t, shop, "the shop's sign-in page over https", `!document.getElementById("signed-out").hidden`, 15*time.Second)
	if !eval[bool](t, shop, `window.isSecureContext && location.protocol === "https:"`) {
		t.Fatalf("the shop is not a secure context over https")
	}
	link := readCodeIn(t, shop, "#login iframe", "")
	if link.Relay != d.relay {
		t.Errorf("the code's relay is %q, want the demo's https relay %q", link.Relay, d.relay)
	}
	if !strings.HasPrefix(link.String(), d.phone+"#") {
		t.Fatalf("the code opens %q, want the demo phone page %s", link.String(), d.phone)
	}

	// The phone opens the code's link: the phone page over https, a
	// secure context, as a camera page needs.
	phone := newTab()
	must(t, phone, chromedp.EmulateViewport(390, 720, chromedp.EmulateMobile), chromedp.Navigate(link.String()))
	waitFor(t, phone, "the confirmation screen", `!document.getElementById("confirm").hidden`, 15*time.Second)
	if !eval[bool](t, phone, `window.isSecureContext`) {
		t.Errorf("the phone page is not a secure context")
	}
	if got, want := eval[string](t, phone, `document.getElementById("c-origin").textContent`), d.shop; got != want {
		t.Errorf("the phone shows the origin %q, want %q", got, want)
	}
	must(t, phone, chromedp.Click(chromedp.CSS("#approve")))
	waitFor(t, shop, "'Signed in as Ada Lovelace'",
		`document.getElementById("welcome").textContent === "Signed in as Ada Lovelace"`, 20*time.Second)
	if token := storedToken(t, shop, "localStorage"); !strings.HasPrefix(token, "demo.") {
		t.Errorf("localStorage holds %q, want the phone's demo token", token)
	}
}

// readPEMCert reads the first certificate of a PEM file.
func readPEMCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("the demo kept no %s: %v", filepath.Base(name), err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s is not PEM", name)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}
