package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/devcert"
	"github.com/scanin/scanin/internal/proctest"
	"github.com/scanin/scanin/protocol"
)

// serverProc is a scanin relay or demo running as a process, with the lines
// it printed.
type serverProc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr proctest.Output
	exited chan struct{}
}

// startServer runs scanin with args and env (added to the test's) and
// waits for the line that starts with ready, which it returns. The test
// stops the process with SIGINT, as Ctrl-C does.
func startServer(t *testing.T, env []string, ready string, args ...string) (*serverProc, string) {
	t.Helper()
	s := &serverProc{cmd: exec.Command(scaninBinary, args...), lines: make(chan string, 64), exited: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stderr = &s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default: // a test that reads no more lines
			}
		}
		io.Copy(io.Discard, stdout)
		s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(25 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			t.Errorf("scanin %s did not stop on SIGINT", args[0])
		}
	})
	return s, s.waitLine(t, ready)
}

// waitLine returns the next printed line that starts with prefix.
func (s *serverProc) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line := <-s.lines:
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-s.exited:
			t.Fatalf("%s exited before printing %q: %s", s.cmd, prefix, s.stderr.String())
		case <-timeout:
			t.Fatalf("%s printed no %q in 60 s: %s", s.cmd, prefix, s.stderr.String())
		}
	}
}

// tlsClient trusts only the certificates of roots.
func tlsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	}
}

// getJSON GETs url with c and decodes its JSON answer into v, failing the
// test on anything but 200.
func getJSON(t *testing.T, c *http.Client, url string, v any) *http.Response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, body)
		}
	}
	return resp
}

// testCert makes a CA and a leaf for 127.0.0.1 and localhost in a
// directory of the test's.
func testCert(t *testing.T) (*devcert.Cert, *x509.CertPool) {
	t.Helper()
	c, err := devcert.Ensure(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.CA)
	return c, roots
}

// TestRelayTLS: --tls-cert and --tls-key serve HTTPS; the printed line and
// the default public URL (the codes' /link) say https.
func TestRelayTLS(t *testing.T) {
	t.Parallel()
	cert, roots := testCert(t)
	_, line := startServer(t, nil, "scanin relay: listening on ",
		"relay", "--addr", "127.0.0.1:0", "--tls-cert", cert.CertFile, "--tls-key", cert.KeyFile)
	base := strings.TrimPrefix(line, "scanin relay: listening on ")
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("the relay says it listens on %q, want https://127.0.0.1:PORT", base)
	}
	c := tlsClient(roots)
	resp := getJSON(t, c, base+"/healthz", nil)
	if resp.TLS == nil || !resp.TLS.PeerCertificates[0].Equal(cert.Leaf) {
		t.Errorf("/healthz was not served with --tls-cert's certificate")
	}
	var app protocol.AppConfig
	getJSON(t, c, base+"/v1/apps/"+"demo", &app)
	if want := base + "/link"; app.LinkBase != want {
		t.Errorf("the demo app's link_base is %q, want %q (the default public URL is https)", app.LinkBase, want)
	}
	// Plain http to the TLS port is not served.
	if resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain http to the TLS port answered 200")
		}
	}
}

// TestRelayTLSErrors: a missing, unreadable or mismatched pair, or flags
// that do not go together, are refused saying which flag is wrong.
func TestRelayTLSErrors(t *testing.T) {
	t.Parallel()
	a, _ := testCert(t)
	b, _ := testCert(t)
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(t.TempDir(), "dir.pem")
	if err := os.Mkdir(unreadable, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"cert without key", []string{"--tls-cert", a.CertFile}, 2, []string{"--tls-cert and --tls-key go together"}},
		{"key without cert", []string{"--tls-key", a.KeyFile}, 2, []string{"--tls-cert and --tls-key go together"}},
		{"missing cert", []string{"--tls-cert", missing, "--tls-key", a.KeyFile}, 1, []string{"--tls-cert: ", "no such file"}},
		{"missing key", []string{"--tls-cert", a.CertFile, "--tls-key", missing}, 1, []string{"--tls-key: ", "no such file"}},
		{"unreadable cert", []string{"--tls-cert", unreadable, "--tls-key", a.KeyFile}, 1, []string{"--tls-cert: ", "is a directory"}},
		{"mismatched", []string{"--tls-cert", a.CertFile, "--tls-key", b.KeyFile}, 1, []string{"are not a pair", "not the certificate's"}},
		{"not PEM", []string{"--tls-cert", junk, "--tls-key", a.KeyFile}, 1, []string{"want a PEM certificate"}},
		{"acme and tls", []string{"--tls-cert", a.CertFile, "--tls-key", a.KeyFile, "--acme-domain", "relay.example"}, 2, []string{"not both"}},
		{"acme flag without domain", []string{"--acme-email", "ops@relay.example"}, 2, []string{"--acme-email needs --acme-domain"}},
		{"acme domain is an IP", []string{"--acme-domain", "192.0.2.7"}, 2, []string{"not IP addresses"}},
		{"acme domain is a URL", []string{"--acme-domain", "https://relay.example"}, 2, []string{"bare domain name"}},
		{"acme roots not PEM", []string{"--acme-domain", "relay.example", "--acme-ca-roots", junk, "--acme-cache", t.TempDir(), "--addr", "127.0.0.1:0"}, 1, []string{"--acme-ca-roots", "no PEM certificate"}},
	} {
		r := scanin(t, "", append([]string{"relay", "--addr", "127.0.0.1:0"}, tc.args...)...)
		wantExit(t, tc.name, r, tc.code)
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not say %q:\n%s", tc.name, w, r.stderr)
			}
		}
	}
}

// TestRefusesRelayURLsPhonesCannotUse: plain http off loopback is refused
// by the relay and the demo, saying why and what to do; loopback http
// still runs.
func TestRefusesRelayURLsPhonesCannotUse(t *testing.T) {
	t.Parallel()
	why := "phones refuse plain-http relays, and the camera page needs a secure context"
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"relay", "--public-url", "http://192.168.1.5:8080"}, []string{"--public-url http://192.168.1.5:8080", why, "--tls-cert", "--acme-domain", "reverse proxy", "scanin demo --lan"}},
		{[]string{"relay", "--addr", "192.0.2.1:8080"}, []string{"public URL http://192.0.2.1:8080", why, "--public-url"}},
		{[]string{"relay", "--addr", "0.0.0.0:0"}, []string{"every interface", "--public-url https://"}},
		{[]string{"relay", "--addr", ":0", "--tls-cert", "x", "--tls-key", "y"}, []string{"every interface", "--public-url https://"}},
		{[]string{"demo", "--relay-addr", "0.0.0.0:0"}, []string{"every interface", "scanin demo --lan", "--public-url https://"}},
		{[]string{"demo", "--public-url", "http://10.0.0.2:8080"}, []string{why, "scanin demo --lan"}},
	} {
		r := scanin(t, "", tc.args...)
		wantExit(t, strings.Join(tc.args, " "), r, 1)
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not say %q:\n%s", strings.Join(tc.args, " "), w, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "link_base") {
			t.Errorf("%s: the error is about the config's link_base, not the flag:\n%s", strings.Join(tc.args, " "), r.stderr)
		}
	}
	// Loopback http stays allowed.
	_, line := startServer(t, nil, "scanin relay: listening on ", "relay", "--addr", "127.0.0.1:0", "--public-url", "http://localhost:8080")
	if !strings.HasPrefix(line, "scanin relay: listening on http://127.0.0.1:") {
		t.Errorf("the relay printed %q", line)
	}
}

// TestAddressInUseNamesTheFlag: a taken port's error names the flag to
// change, for each listener of relay and demo.
func TestAddressInUseNamesTheFlag(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	lanEnv := []string{"XDG_CONFIG_HOME=" + t.TempDir()}
	for _, tc := range []struct {
		flag string
		env  []string
		args []string
	}{
		{"addr", nil, []string{"relay", "--addr", taken}},
		{"addr", nil, []string{"relay", "--addr", taken, "--acme-domain", "relay.example", "--acme-http-addr", "127.0.0.1:0", "--acme-cache", t.TempDir()}},
		{"acme-http-addr", nil, []string{"relay", "--addr", "127.0.0.1:0", "--acme-domain", "relay.example", "--acme-http-addr", taken, "--acme-cache", t.TempDir()}},
		{"metrics-addr", nil, []string{"relay", "--addr", "127.0.0.1:0", "--metrics-addr", taken}},
		{"relay-addr", nil, []string{"demo", "--relay-addr", taken, "--shop-addr", "127.0.0.1:0"}},
		{"shop-addr", nil, []string{"demo", "--relay-addr", "127.0.0.1:0", "--shop-addr", taken}},
		{"relay-addr", lanEnv, []string{"demo", "--lan-ip", "127.0.0.1", "--relay-addr", taken, "--shop-addr", "127.0.0.1:0"}},
		{"shop-addr", lanEnv, []string{"demo", "--lan-ip", "127.0.0.1", "--relay-addr", "127.0.0.1:0", "--shop-addr", taken}},
	} {
		c := scaninCommand(t, tc.args...)
		c.cmd.Env = append(os.Environ(), tc.env...)
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := c.wait()
		what := strings.Join(tc.args, " ")
		wantExit(t, what, r, 1)
		for _, w := range []string{"--" + tc.flag + " " + taken + ": address already in use", "choose another port with --" + tc.flag} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not say %q:\n%s", what, w, r.stderr)
			}
		}
	}
}

// TestDemoLAN: scanin demo --lan serves the relay and the shop over HTTPS
// on the address given, with a certificate of a CA it keeps under
// XDG_CONFIG_HOME and reuses on the next run; the shop's origin may embed
// the widget.
func TestDemoLAN(t *testing.T) {
	t.Parallel()
	config := t.TempDir()
	env := []string{"XDG_CONFIG_HOME=" + config}
	args := []string{"demo", "--lan-ip", "127.0.0.1", "--relay-addr", "127.0.0.1:0", "--shop-addr", "127.0.0.1:0"}

	run := func() (shop, relay, caFile string, leaf *x509.Certificate) {
		s, _ := startServer(t, env, "scanin demo is running over HTTPS", args...)
		for {
			fields := strings.Fields(s.waitLine(t, ""))
			if len(fields) >= 2 {
				switch fields[0] {
				case "shop":
					shop = fields[1]
				case "relay":
					relay = fields[1]
				case "CA":
					caFile = fields[1]
				}
			}
			if len(fields) > 0 && fields[0] == "Press" {
				break
			}
		}
		if !strings.HasPrefix(shop, "https://127.0.0.1:") || !strings.HasPrefix(relay, "https://127.0.0.1:") {
			t.Fatalf("the demo's URLs: shop %q relay %q, want https on 127.0.0.1", shop, relay)
		}
		if want := filepath.Join(config, "scanin", "devcert", "ca.pem"); caFile != want {
			t.Fatalf("the CA file is %q, want %q", caFile, want)
		}
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(caPEM) {
			t.Fatalf("%s holds no certificate", caFile)
		}
		c := tlsClient(roots)
		resp := getJSON(t, c, relay+"/healthz", nil)
		leaf = resp.TLS.PeerCertificates[0]
		var app protocol.AppConfig
		getJSON(t, c, relay+"/v1/apps/"+"demo", &app)
		if !slices.Contains(app.Origins, shop) {
			t.Errorf("the demo app's origins %v do not allow the shop %s", app.Origins, shop)
		}
		if want := relay + "/phone"; app.LinkBase != want {
			t.Errorf("the demo app's link_base is %q, want %q", app.LinkBase, want)
		}
		page, err := c.Get(shop + "/")
		if err != nil {
			t.Fatalf("the shop over HTTPS: %v", err)
		}
		body, _ := io.ReadAll(page.Body)
		page.Body.Close()
		if !bytes.Contains(body, []byte(relay+"/embed.js")) {
			t.Errorf("the shop's page does not load embed.js from %s", relay)
		}
		served, err := c.Get(relay + "/demo-ca.pem")
		if err != nil {
			t.Fatal(err)
		}
		servedPEM, _ := io.ReadAll(served.Body)
		served.Body.Close()
		if !bytes.Equal(servedPEM, caPEM) {
			t.Errorf("the relay's /demo-ca.pem is not the CA file")
		}
		return shop, relay, caFile, leaf
	}
	_, _, caFile, leaf := run()
	ca1, _ := os.ReadFile(caFile)
	_, _, _, leaf2 := run()
	ca2, _ := os.ReadFile(caFile)
	if !bytes.Equal(ca1, ca2) || !leaf.Equal(leaf2) {
		t.Errorf("the second run made a new CA or certificate instead of reusing them")
	}

	// Outside the ranges the CA signs for, and not an address.
	r := scanin(t, "", "demo", "--lan-ip", "8.8.8.8")
	wantExit(t, "demo --lan-ip 8.8.8.8", r, 1)
	if !strings.Contains(r.stderr, "--lan-ip: 8.8.8.8 is not a loopback, private or link-local address") {
		t.Errorf("demo --lan-ip 8.8.8.8: %s", r.stderr)
	}
	r = scanin(t, "", "demo", "--lan-ip", "phone")
	wantExit(t, "demo --lan-ip phone", r, 2)
	if !strings.Contains(r.stderr, `--lan-ip "phone" is not an IP address`) {
		t.Errorf("demo --lan-ip phone: %s", r.stderr)
	}
}

// TestRelayTLSReloadsOnSIGHUP: SIGHUP reads --tls-cert and --tls-key
// again (a renewed certificate without a restart); a bad pair then keeps
// the certificate in use.
func TestRelayTLSReloadsOnSIGHUP(t *testing.T) {
	t.Parallel()
	a, rootsA := testCert(t)
	b, rootsB := testCert(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install := func(c *devcert.Cert) {
		t.Helper()
		for src, dst := range map[string]string{c.CertFile: certFile, c.KeyFile: keyFile} {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(a)
	relay, line := startServer(t, nil, "scanin relay: listening on ",
		"relay", "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	base := strings.TrimPrefix(line, "scanin relay: listening on ")
	served := func(roots *x509.CertPool) *x509.Certificate {
		t.Helper()
		// A new client each time: no TLS session to resume.
		return getJSON(t, tlsClient(roots), base+"/healthz", nil).TLS.PeerCertificates[0]
	}
	if !served(rootsA).Equal(a.Leaf) {
		t.Fatal("the relay does not serve --tls-cert's certificate")
	}

	install(b)
	relay.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the relay's log line for the reload", func() bool {
		return strings.Contains(relay.stderr.String(), "SIGHUP: certificate reloaded")
	})
	if !served(rootsB).Equal(b.Leaf) {
		t.Fatal("after SIGHUP the relay does not serve the new certificate")
	}

	if err := os.WriteFile(keyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	relay.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the relay's log line for the failed reload", func() bool {
		return strings.Contains(relay.stderr.String(), "SIGHUP: kept the old certificate")
	})
	if !served(rootsB).Equal(b.Leaf) {
		t.Fatal("after a SIGHUP with a bad key the relay no longer serves the certificate it had")
	}
}
