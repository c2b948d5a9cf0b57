package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/scanin/scanin/internal/proctest"
)

// The relay's ACME client is tested against Let's Encrypt's own test CA,
// pebble, built from its Go module (a tool in go.mod), on loopback. Pebble
// really validates: it looks relay.example up in a DNS server of the
// test's, which answers 127.0.0.1, and completes a TLS-ALPN-01 challenge
// against the relay's --addr, or an HTTP-01 challenge against its
// --acme-http-addr. Nothing needs root or port 80 or 443.

const acmeDomain = "relay.example"

// freePort returns a loopback port nothing listens on now. Pebble's
// config needs the relay's port before the relay starts.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// goOut runs the go command and returns its trimmed output.
func goOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// fakeDNS answers every A question with 127.0.0.1 (and AAAA with
// nothing), over TCP as pebble asks. It returns its address.
func fakeDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Net: "tcp", Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// pebbleCA is a running pebble.
type pebbleCA struct {
	dir   string // its ACME directory URL
	mgmt  string // its management API's base URL
	roots string // the PEM file of the root of pebble's own HTTPS
	stop  func()
}

// startPebble runs pebble, whose TLS-ALPN-01 checks connect to tlsPort
// and whose HTTP-01 checks to httpPort, and waits until its directory
// answers.
func startPebble(t *testing.T, tlsPort, httpPort int) *pebbleCA {
	t.Helper()
	bin := goOut(t, "tool", "-n", "pebble") // builds it once, then cached
	modDir := goOut(t, "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2")
	if modDir == "" {
		t.Fatal("go list found no directory for pebble's module: run go mod download")
	}
	api, mgmt := freePort(t), freePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + strconv.Itoa(api),
		"managementListenAddress":        "127.0.0.1:" + strconv.Itoa(mgmt),
		"certificate":                    filepath.Join(modDir, "test", "certs", "localhost", "cert.pem"),
		"privateKey":                     filepath.Join(modDir, "test", "certs", "localhost", "key.pem"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(t.TempDir(), "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgFile, "-strict=false", "-dnsserver", fakeDNS(t))
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	logs := &proctest.Output{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p := &pebbleCA{
		dir:   fmt.Sprintf("https://127.0.0.1:%d/dir", api),
		mgmt:  fmt.Sprintf("https://127.0.0.1:%d", mgmt),
		roots: filepath.Join(modDir, "test", "certs", "pebble.minica.pem"),
	}
	p.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("pebble's log:\n%s", logs.String())
		}
	})

	pemBytes, err := os.ReadFile(p.roots)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c := tlsClient(pool)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.dir, nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-exited:
			t.Fatalf("pebble exited: %s", logs.String())
		case <-ctx.Done():
			t.Fatalf("pebble's directory did not answer: %s", logs.String())
		case <-time.After(50 * time.Millisecond): // polling: another process
		}
	}
}

// pebbleRoot returns the root pebble issues certificates under (made anew
// each time pebble starts), from its management API.
func (p *pebbleCA) pebbleRoot(t *testing.T) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(p.roots)
	if err != nil {
		t.Fatal(err)
	}
	mini := x509.NewCertPool()
	mini.AppendCertsFromPEM(pemBytes)
	resp, err := tlsClient(mini).Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	root, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(root) {
		t.Fatalf("pebble's /roots/0 is not PEM: %s", root)
	}
	return pool
}

// fetchAsDomain GETs path from the relay at addr as a browser that
// resolved acmeDomain to it would: SNI and Host are the domain, and the
// certificate must chain to roots.
func fetchAsDomain(t *testing.T, addr, path string, roots *x509.CertPool) *http.Response {
	t.Helper()
	c := &http.Client{
		Timeout: 90 * time.Second, // the first handshake waits for the certificate
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: acmeDomain},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
		},
	}
	resp, err := c.Get("https://" + acmeDomain + path)
	if err != nil {
		t.Fatalf("GET https://%s%s at %s: %v", acmeDomain, path, addr, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestRelayACMEHTTP01: where the CA cannot reach --addr (TLS-ALPN-01
// fails), the relay gets its certificate by HTTP-01 on --acme-http-addr.
func TestRelayACMEHTTP01(t *testing.T) {
	t.Parallel()
	relayPort, httpPort := freePort(t), freePort(t)
	pebble := startPebble(t, freePort(t), httpPort) // TLS-ALPN-01 checks reach nothing
	relayAddr := "127.0.0.1:" + strconv.Itoa(relayPort)
	startServer(t, nil, "scanin relay: listening on ", "relay", "--addr", relayAddr,
		"--acme-domain", acmeDomain, "--acme-dir", pebble.dir, "--acme-ca-roots", pebble.roots,
		"--acme-cache", t.TempDir(), "--acme-http-addr", "127.0.0.1:"+strconv.Itoa(httpPort))
	resp := fetchAsDomain(t, relayAddr, "/healthz", pebble.pebbleRoot(t))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz over ACME TLS: %s", resp.Status)
	}
	if leaf := resp.TLS.PeerCertificates[0]; !strings.Contains(leaf.Issuer.CommonName, "Pebble") || leaf.VerifyHostname(acmeDomain) != nil {
		t.Errorf("the served certificate is for %v from %q, want %s from pebble", leaf.DNSNames, leaf.Issuer.CommonName, acmeDomain)
	}
}

// TestRelayACME: scanin relay --acme-domain gets its certificate from an
// ACME CA, validated by TLS-ALPN-01, serves the relay with it, answers
// HTTP-01 paths and redirects the rest to https on --acme-http-addr, and
// keeps the certificate in --acme-cache for the next start.
func TestRelayACME(t *testing.T) {
	t.Parallel()
	relayPort, httpPort := freePort(t), freePort(t)
	pebble := startPebble(t, relayPort, freePort(t)) // HTTP-01 checks reach nothing
	cache := t.TempDir()
	relayAddr := "127.0.0.1:" + strconv.Itoa(relayPort)
	args := []string{"relay", "--addr", relayAddr,
		"--acme-domain", acmeDomain, "--acme-dir", pebble.dir, "--acme-ca-roots", pebble.roots,
		"--acme-cache", cache, "--acme-email", "ops@relay.example",
		"--acme-http-addr", "127.0.0.1:" + strconv.Itoa(httpPort)}
	relay, line := startServer(t, nil, "scanin relay: listening on ", args...)
	if want := "scanin relay: listening on https://" + relayAddr; line != want {
		t.Errorf("the relay printed %q, want %q", line, want)
	}
	// It gets the certificate when it starts, before anyone visits.
	waitFor(t, "the relay's log line for its ACME certificate", func() bool {
		return strings.Contains(relay.stderr.String(), `"msg":"ACME certificate","domain":"relay.example"`)
	})

	root := pebble.pebbleRoot(t)
	resp := fetchAsDomain(t, relayAddr, "/healthz", root)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz over ACME TLS: %s", resp.Status)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if err := leaf.VerifyHostname(acmeDomain); err != nil {
		t.Errorf("the served certificate: %v", err)
	}
	if !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("the served certificate was issued by %q, want pebble's intermediate", leaf.Issuer.CommonName)
	}
	// The public URL is https://{domain}: the codes' /link is there.
	var app struct {
		LinkBase string `json:"link_base"`
	}
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: root, ServerName: acmeDomain},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, relayAddr)
		},
	}}
	getJSON(t, c, "https://"+acmeDomain+"/v1/apps/demo", &app)
	if want := "https://" + acmeDomain + "/link"; app.LinkBase != want {
		t.Errorf("link_base %q, want %q", app.LinkBase, want)
	}

	// The HTTP-01 listener redirects what is not a challenge to https.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(httpPort)+"/healthz", nil)
	req.Host = acmeDomain
	hresp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	if loc := hresp.Header.Get("Location"); hresp.StatusCode != http.StatusFound || loc != "https://"+acmeDomain+"/healthz" {
		t.Errorf("plain http on --acme-http-addr: %s to %q, want a redirect to https://%s/healthz", hresp.Status, loc, acmeDomain)
	}

	// Restarted with the CA gone, the relay serves the cached certificate.
	relay.cmd.Process.Signal(syscall.SIGINT)
	<-relay.exited
	pebble.stop()
	startServer(t, nil, "scanin relay: listening on ", args...)
	again := fetchAsDomain(t, relayAddr, "/healthz", root)
	if !again.TLS.PeerCertificates[0].Equal(leaf) {
		t.Errorf("after a restart the relay serves another certificate than the cached one")
	}
}
