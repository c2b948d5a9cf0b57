package protocol

import (
	"strings"
	"testing"
)

func TestNormalizeOrigin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://shop.example", "https://shop.example"},
		{"HTTPS://Shop.Example", "https://shop.example"},
		{"https://shop.example:443", "https://shop.example"},
		{"http://shop.example:80", "http://shop.example"},
		{"https://shop.example:80", "https://shop.example:80"},
		{"http://shop.example:443", "http://shop.example:443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"http://[::1]:80", "http://[::1]"},
		{"http://[2001:DB8::1]", "http://[2001:db8::1]"},
		{"http://localhost:1", "http://localhost:1"},
		{"http://localhost:65535", "http://localhost:65535"},
	} {
		got, err := NormalizeOrigin(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, says string }{
		{"", "not an http or https origin"},
		{"null", "not an http or https origin"},
		{"ftp://shop.example", "not an http or https origin"},
		{"https//shop.example", "not an http or https origin"},
		{"https://", "no host"},
		{"https://:8080", "no host"},
		{"https://shop.example/", "nothing may follow the host"},
		{"https://shop.example?x", "nothing may follow the host"},
		{"https://shop.example#x", "nothing may follow the host"},
		{"https://user@shop.example", "nothing may follow the host"},
		{"https://shop.example:", "an empty port"},
		{"https://shop.example:99999", "port 99999 is out of range"},
		{"https://shop.example:65536", "port 65536 is out of range"},
		{"https://shop.example:123456", "out of range"},
		{"https://shop.example:0", "port 0 is out of range"},
		{"https://shop.example:0080", "port 0080 has a leading zero"},
		{"https://shop.example:08", "leading zero"},
		{"https://shop.example:-1", "not a number"},
		{"https://shop.example:8a", "not a number"},
		{"https://shop.example:*", "a wildcard port"},
		{"https://*.shop.example", "a wildcard in the host"},
		{"http://::1", "must be in brackets"},
		{"http://::1:8080", "must be in brackets"},
		{"http://[::1", "a bad IPv6 host"},
		{"http://[::g]:80", "a bad IPv6 host"},
		{"http://[]:80", "no host"},
	} {
		got, err := NormalizeOrigin(c.in)
		if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), `"`+c.in+`"`) {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want an error quoting it that says %q", c.in, got, err, c.says)
		}
	}
}

func TestNormalizeOriginPattern(t *testing.T) {
	for in, want := range map[string]string{
		"http://LocalHost:*":    "http://localhost:*",
		"http://[::1]:*":        "http://[::1]:*",
		"https://shop.example":  "https://shop.example",
		"https://a.example:443": "https://a.example",
	} {
		if got, err := NormalizeOriginPattern(in); err != nil || got != want {
			t.Errorf("NormalizeOriginPattern(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"http://*:*", "http://localhost:0*", "http://localhost:**", "https://*.example"} {
		if got, err := NormalizeOriginPattern(in); err == nil {
			t.Errorf("NormalizeOriginPattern(%q) = %q, want an error", in, got)
		}
	}
}
