//go:build !js

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/scanin/scanin/internal/devcert"
)

// `scanin demo --lan` as a person with a phone meets it: the relay and the
// shop over HTTPS on this machine's LAN address, with the certificate of
// the demo's own CA. The browser trusts that CA as a phone does once its
// owner installed it: Chromium on Linux reads its trust anchors from the
// NSS database in $HOME/.pki/nssdb, so the test's Chromium runs with a HOME
// of its own whose database holds the demo's ca.pem (certutil, Debian's
// libnss3-tools), and nothing else is relaxed. The CA is name-constrained
// to private and loopback addresses, which the address served must meet. A
// Chromium without the CA must refuse the same page.
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

	// A browser without the CA refuses the demo's certificate.
	untrusting := startChromiumHome(t, nssHome(t, ""))
	ctx, cancel := chromedp.NewContext(untrusting)
	t.Cleanup(cancel)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(d.shop+"/")); err == nil || !strings.Contains(err.Error(), "ERR_CERT_") {
		t.Fatalf("a Chromium without the demo's CA opened %s: %v, want a certificate error", d.shop, err)
	}

	// A browser that trusts the CA, as an installed root.
	bctx := startChromiumHome(t, nssHome(t, filepath.Join(dir, "ca.pem")))
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

// nssHome makes a home directory for a Chromium process whose NSS database
// ($HOME/.pki/nssdb, which Chromium on Linux reads its trust anchors from)
// trusts the CA in the PEM file ca to issue server certificates, or trusts
// nothing more than Chromium's own roots when ca is "".
func nssHome(t *testing.T, ca string) string {
	t.Helper()
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Fatalf("certutil is not installed (install it with: sudo apt-get install -y libnss3-tools; ./build.sh test does this when run as root): %v", err)
	}
	home := t.TempDir()
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(certutil, append([]string{"-d", "sql:" + db}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("-N", "--empty-password")
	if ca != "" {
		run("-A", "-t", "C,,", "-n", "scanin-demo", "-i", ca)
	}
	return home
}

// startChromiumHome starts a Chromium of the test's own (site isolation
// on, as users run it) whose HOME is home, and returns its context.
func startChromiumHome(t *testing.T, home string) context.Context {
	t.Helper()
	actx, acancel := chromedp.NewExecAllocator(context.Background(),
		append(browserFlags(filepath.Join(t.TempDir(), "chromium"), true), chromedp.Env("HOME="+home))...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("failed to start Chromium: %v", err)
	}
	return bctx
}
