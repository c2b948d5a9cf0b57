package mobile

import "testing"

func TestDescribeBrowser(t *testing.T) {
	for _, tc := range []struct{ ua, want string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on macOS"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome on iPhone"},
		{"Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox on iPad"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera on Windows"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on ChromeOS"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Headless Chrome on Linux"},
		{"scanin-receive/1 (Linux)", "scanin terminal on Linux"},
		{"scanin-receive/1 (macOS)", "scanin terminal on macOS"},
		{"curl/8.5.0", "curl"},
		{"", "Unknown browser"},
		{"Go-http-client/1.1", "Unknown browser"},
		// A forged agent can only pick among fixed names.
		{"Your bank <b>verified</b> this login (Windows)", "Unknown browser on Windows"},
	} {
		if got := DescribeBrowser(tc.ua); got != tc.want {
			t.Errorf("DescribeBrowser(%q) = %q, want %q", tc.ua, got, tc.want)
		}
	}
}

func TestSameNetwork(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"203.0.113.5", "203.0.113.5", true},
		{"203.0.113.5", "203.0.113.200", true},
		{"203.0.113.5", "203.0.114.5", false},
		{"10.0.0.1", "10.0.1.1", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"::ffff:203.0.113.5", "203.0.113.9", true},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"fe80::1%eth0", "fe80::2", true},
		{"::1", "::1", true},
		{"::1", "127.0.0.1", false},
		{"203.0.113.5", "2001:db8::1", false},
		{"", "", false},
		{"not an ip", "not an ip", false},
		{"203.0.113.5", "", false},
	} {
		if got := SameNetwork(tc.a, tc.b); got != tc.want {
			t.Errorf("SameNetwork(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := SameNetwork(tc.b, tc.a); got != tc.want {
			t.Errorf("SameNetwork(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}
