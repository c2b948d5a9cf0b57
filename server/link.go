package server

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The landing page a phone reaches from a QR code when no app claimed the
// link. The link's secrets are in its fragment, which never reaches the
// server: the page is the same for everyone, and its script reads the
// fragment only to show which app the code is for and to hand the whole
// fragment to the app. It loads nothing from elsewhere and sends no
// referrer.

const linkStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:0 auto;padding:1.5em;color:#1b1b1f;background:#fff}
h1{font-size:1.4em}a.button{display:inline-block;padding:.75em 1.25em;border-radius:.5em;background:#1b5fd1;color:#fff;text-decoration:none;font-weight:600}
.muted{color:#5a5a66;font-size:.9em}@media(prefers-color-scheme:dark){body{background:#16161a;color:#eee}.muted{color:#aaa}}`

// linkScript fills in the app and the button. The app scheme "scanin:"
// opens the scanin app with the same fragment; an integrator's own app is
// reached through its universal link (its link_base), not this page.
const linkScript = `(function(){
var h=location.hash.slice(1),p={};
h.split("&").forEach(function(kv){var i=kv.indexOf("=");if(i>0)p[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1));});
var ok=p.v==="1"&&p.a&&p.s&&p.k&&p.r;
document.getElementById(ok?"code":"nocode").hidden=false;
if(!ok)return;
document.getElementById("app").textContent=p.a;
document.getElementById("open").href="scanin://link#"+h;
if(/^[a-z0-9][a-z0-9-]{0,31}$/.test(p.a)){fetch("/v1/apps/"+p.a).then(function(r){return r.ok?r.json():null}).then(function(c){if(c&&c.name)document.getElementById("app").textContent=c.name;}).catch(function(){});}
})();`

const linkPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sign in with your phone · scanin</title>
<style>` + linkStyle + `</style>
</head>
<body>
<h1>Sign in with your phone</h1>
<div id="code" hidden>
<p>You scanned a sign-in code for <strong id="app">an app</strong>. It lets the browser that shows the code sign in with the account you use on this phone, without typing a password.</p>
<p>The app handles the code. If it is installed, open the code there:</p>
<p><a class="button" id="open" href="#">Open in the app</a></p>
<p class="muted">Nothing happens until you confirm in the app. The code is end-to-end encrypted: this page and the relay never see what the app sends, and the code works only once and only for a minute or so.</p>
<p class="muted">Don't have the app? Install it from your app store, then scan the code again.</p>
</div>
<div id="nocode" hidden>
<p>This is the landing page for scanin sign-in codes. Scan the code a website shows you with your phone's camera or the app.</p>
</div>
<noscript><p>Open this link in the app that made the code, or scan the code again with that app.</p></noscript>
<script>` + linkScript + `</script>
</body>
</html>
`

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// linkCSP allows exactly the page's own style and script.
var linkCSP = "default-src 'none'; script-src " + cspHash(linkScript) + "; style-src " + cspHash(linkStyle) +
	"; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (rl *Relay) serveLink(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h, rl.https(r))
	linkHeader(h)
	_, _ = w.Write([]byte(linkPage))
}

// linkHeader sets the landing page's headers but the security headers.
func linkHeader(h http.Header) {
	h.Set("Content-Security-Policy", linkCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
}
