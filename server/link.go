package server

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The landing page a phone reaches from a QR code when no app claimed the
// link (a camera app opens it). The link's secrets are in its fragment, which never reaches the
// server: the page is the same for everyone, and its script reads the
// fragment only to show which app the code is for and to hand the whole
// fragment to the app. It loads nothing from elsewhere and sends no
// referrer.

const linkStyle = `[hidden]{display:none!important}body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:0 auto;padding:1.5em;color:#1b1b1f;background:#fff}
h1{font-size:1.4em}.buttons{display:grid;gap:.75em;margin:1.25em 0}
a.button{display:block;padding:.8em 1.25em;border-radius:.6em;background:#1b5fd1;color:#fff;text-decoration:none;font-weight:600;text-align:center}
a.store{background:transparent;color:#1b5fd1;box-shadow:inset 0 0 0 2px #1b5fd1}
.muted{color:#5a5a66;font-size:.9em}@media(prefers-color-scheme:dark){body{background:#16161a;color:#eee}.muted{color:#aaa}a.store{color:#8ab4f8;box-shadow:inset 0 0 0 2px #8ab4f8}}`

// linkScript reads the fragment, then the app's configuration
// (GET /v1/apps/{a}): its name, its app_link (a custom scheme or universal
// link, which gets the whole fragment) and its store pages, each a button
// only when configured. An app with neither says to scan the code with
// the app; the demo app (no app of its own) points to the relay's demo
// phone page instead, when the relay serves one (scanin demo does). A new fragment in the same tab (another code) reloads
// the page, so that no button keeps the old code.
const linkScript = `(function(){
addEventListener("hashchange",function(){location.reload()});
var $=function(id){return document.getElementById(id)};
var h=location.hash.slice(1),p={};
h.split("&").forEach(function(kv){var i=kv.indexOf("=");if(i>0)p[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1));});
var ok=p.v==="1"&&p.a&&p.s&&p.k&&p.r&&/^[a-z0-9][a-z0-9-]{0,31}$/.test(p.a);
$(ok?"code":"nocode").hidden=false;
if(!ok)return;
var show=function(id,href){if(href){$(id).href=href;$(id).hidden=false;}};
var app=function(c){
var name=c&&c.name||p.a;
$("app").textContent=name;
var names=document.querySelectorAll(".name");for(var i=0;i<names.length;i++)names[i].textContent=name;
var link=c&&c.app_link||"";
if(link&&/^(javascript|data|vbscript|file|blob|http):/i.test(link))link="";
if(link)show("open",link.split("#")[0]+"#"+h);
var https=function(u){return typeof u==="string"&&/^https:\/\//.test(u)?u:""};
var ios=https(c&&c.ios_app_store_url),play=https(c&&c.play_store_url);
show("ios",ios);show("play",play);
$("install").hidden=!(ios||play);
if(link||ios||play)return;
if(p.a!=="demo"){$("scan-note").hidden=false;return;}
fetch("/phone",{method:"HEAD"}).then(function(r){
if(r.ok){show("demo","/phone#"+h);$("demo-note").hidden=false;}else{$("scan-note").hidden=false;}
}).catch(function(){$("scan-note").hidden=false;});
};
fetch("/v1/apps/"+p.a).then(function(r){return r.ok?r.json():null}).then(app,function(){app(null)});
})();`

const linkPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Sign in with your phone · scanin</title>
<style>` + linkStyle + `</style>
</head>
<body>
<h1>Sign in with your phone</h1>
<div id="code" hidden>
<p>You scanned a sign-in code for <strong id="app">an app</strong>. It signs the browser that shows the code in with the account you use in the <span class="name">app</span> app on this phone, without a password.</p>
<div class="buttons">
<a class="button" id="open" href="#" hidden>Open in <span class="name">the app</span></a>
<a class="button" id="demo" href="#" hidden>Open the demo phone</a>
</div>
<p id="demo-note" class="muted" hidden>This relay runs the demo: the demo phone page plays the app, with a demo user signed in.</p>
<p id="scan-note" hidden>Open the <span class="name">app</span> app on this phone and tap Scan, then scan the code again.</p>
<div id="install" hidden>
<p>Don't have <span class="name">the app</span>? Install it, then scan the code again:</p>
<div class="buttons">
<a class="button store" id="ios" href="#" hidden>Download on the App Store</a>
<a class="button store" id="play" href="#" hidden>Get it on Google Play</a>
</div>
</div>
<p class="muted">Nothing happens until you confirm in the app. The code is end-to-end encrypted: this page and the relay never see what the app sends, and the code works only once and only for a minute or so.</p>
</div>
<div id="nocode" hidden>
<p>This is the landing page for scanin sign-in codes. Scan the code a website shows you with the app it names.</p>
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
