package mobile

import "strings"

// TerminalUserAgentProduct starts the User-Agent of scanin's terminal
// receiver ("scanin-receive/1 (Linux)"), so a phone can name it.
const TerminalUserAgentProduct = "scanin-receive"

// DescribeBrowser turns a User-Agent header into what a person recognises:
// "Chrome on Windows", "Safari on iPhone", "Firefox on Linux". The answer
// is built only from fixed names, so a forged User-Agent cannot put words
// on the phone's screen; at worst it names the wrong browser. An agent it
// cannot read is "Unknown browser", with the system when that is known.
func DescribeBrowser(userAgent string) string {
	browser, system := browserName(userAgent), systemName(userAgent)
	if system == "" {
		return browser
	}
	return browser + " on " + system
}

// browserName picks the browser. Order matters: Chromium-based browsers
// also say "Chrome" and "Safari", and Chrome says "Safari" too.
func browserName(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has(TerminalUserAgentProduct + "/"):
		return "scanin terminal"
	case has("EdgA/"), has("EdgiOS/"), has("Edg/"), has("Edge/"):
		return "Edge"
	case has("OPR/"), has("OPiOS/"), has("Opera"):
		return "Opera"
	case has("SamsungBrowser/"):
		return "Samsung Internet"
	case has("Vivaldi/"):
		return "Vivaldi"
	case has("YaBrowser/"):
		return "Yandex Browser"
	case has("FxiOS/"), has("Firefox/"):
		return "Firefox"
	case has("HeadlessChrome/"):
		return "Headless Chrome"
	case has("CriOS/"), has("Chrome/"):
		return "Chrome"
	case has("Chromium/"):
		return "Chromium"
	case has("Safari/") && (has("Version/") || has("iPhone") || has("iPad")):
		return "Safari"
	case has("curl/"):
		return "curl"
	}
	return "Unknown browser"
}

// systemName picks the operating system, or "" when the agent does not say.
func systemName(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("iPhone"):
		return "iPhone"
	case has("iPad"):
		return "iPad"
	case has("iPod"):
		return "iPod"
	case has("Android"):
		return "Android"
	case has("Windows"):
		return "Windows"
	case has("CrOS"):
		return "ChromeOS"
	case has("Macintosh"), has("Mac OS X"), has("macOS"):
		return "macOS"
	case has("Linux"):
		return "Linux"
	case has("FreeBSD"):
		return "FreeBSD"
	}
	return ""
}
