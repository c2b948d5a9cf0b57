package protocol

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// SessionInfo is the body of GET {relay}/v1/sessions/{sid}: what a phone
// shows the person before they confirm.
type SessionInfo struct {
	App       string    `json:"app"`
	AppName   string    `json:"app_name"`
	State     State     `json:"state"`      // waiting or scanned
	ExpiresAt int64     `json:"expires_at"` // Unix milliseconds
	Requester Requester `json:"requester"`
	Sender    Peer      `json:"sender"`
}

// AppendJSON appends the info as the body of GET {relay}/v1/sessions/{sid},
// the bytes encoding/json writes for it, without encoding/json.
func (i SessionInfo) AppendJSON(dst []byte) []byte {
	w := newJSONObject(dst)
	w.str("app", i.App)
	w.str("app_name", i.AppName)
	w.str("state", string(i.State))
	w.int("expires_at", i.ExpiresAt)
	r := newJSONObject(nil)
	r.str("ip", i.Requester.IP)
	r.str("user_agent", i.Requester.UserAgent)
	r.str("origin", i.Requester.Origin)
	w.raw("requester", r.close())
	p := newJSONObject(nil)
	p.str("ip", i.Sender.IP)
	w.raw("sender", p.close())
	return w.close()
}

// Requester is what the relay saw of the receiver when it started listening.
type Requester struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
	Origin    string `json:"origin"`
}

// Peer is what the relay sees of a caller.
type Peer struct {
	IP string `json:"ip"`
}

// StateBody is the body of a successful POST or deny: {"state": ...}.
type StateBody struct {
	State State `json:"state"` // delivered, pending or denied
}

// AppConfig is an integrator's application as the relay publishes it at
// GET {relay}/v1/apps/{app}.
type AppConfig struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Origins  []string `json:"origins"`
	LinkBase string   `json:"link_base"`
	TTL      int      `json:"ttl"` // seconds
	// NativeReceivers allows listens without a page origin: a terminal or
	// a native app (docs/protocol.md).
	NativeReceivers bool `json:"native_receivers"`
	// ScanHint is the widget's instruction under the code ("Open Demo Shop
	// on your phone and tap Scan"), with the app's name filled in.
	ScanHint string `json:"scan_hint"`
	// Logo is the absolute URL of a square image for the code's centre;
	// empty for none.
	Logo string `json:"logo,omitempty"`
	// IOSAppStoreURL and PlayStoreURL are the app's store pages, for the
	// /link page; empty when the app has none.
	IOSAppStoreURL string `json:"ios_app_store_url,omitempty"`
	PlayStoreURL   string `json:"play_store_url,omitempty"`
	// AppLink is what the /link page's button opens: the app's custom
	// scheme ("shop://scanin") or universal link; empty for none.
	AppLink string `json:"app_link,omitempty"`
}

// DefaultScanHint is the widget's instruction for an app whose config has
// no scan_hint. "{name}" stands for the app's name.
const DefaultScanHint = "Open {name} on your phone and tap Scan"

// ScanHintFor fills the app's name into a scan hint (hint, or
// DefaultScanHint when hint is empty).
func ScanHintFor(hint, name string) string {
	if hint == "" {
		hint = DefaultScanHint
	}
	return strings.ReplaceAll(hint, "{name}", name)
}

// AppendJSON appends the config as the body of GET {relay}/v1/apps/{app},
// the bytes encoding/json writes for it, without encoding/json (which the
// edge relay's wasm would otherwise link only for this).
func (a AppConfig) AppendJSON(dst []byte) []byte {
	w := newJSONObject(dst)
	w.str("id", a.ID)
	w.str("name", a.Name)
	if a.Origins == nil {
		w.raw("origins", []byte("null"))
	} else {
		w.strings("origins", a.Origins)
	}
	w.str("link_base", a.LinkBase)
	w.int("ttl", int64(a.TTL))
	w.raw("native_receivers", strconv.AppendBool(nil, a.NativeReceivers))
	w.str("scan_hint", a.ScanHint)
	for _, f := range [...]struct{ k, v string }{
		{"logo", a.Logo}, {"ios_app_store_url", a.IOSAppStoreURL},
		{"play_store_url", a.PlayStoreURL}, {"app_link", a.AppLink},
	} {
		if f.v != "" {
			w.str(f.k, f.v)
		}
	}
	return w.close()
}

// AllowsOrigin reports whether origin may embed this app's widget.
func (a *AppConfig) AllowsOrigin(origin string) bool {
	return OriginAllowed(a.Origins, origin)
}

var errAppConfig = errors.New("malformed app config")

// ParseAppConfig reads an app config body without encoding/json, for the
// widget. It requires id, name, origins and link_base, and a ttl in range.
// native_receivers, scan_hint, logo, ios_app_store_url, play_store_url and
// app_link may be missing (a relay before them): they are then false or
// empty (the relay always sends scan_hint, with its default filled in).
func ParseAppConfig(b []byte) (AppConfig, error) {
	v, err := parseJSON(b)
	if err != nil || v.kind != jsonObject {
		return AppConfig{}, errAppConfig
	}
	var c AppConfig
	for key, dst := range map[string]*string{
		"id": &c.ID, "name": &c.Name, "link_base": &c.LinkBase,
		"?scan_hint": &c.ScanHint, "?logo": &c.Logo, "?ios_app_store_url": &c.IOSAppStoreURL,
		"?play_store_url": &c.PlayStoreURL, "?app_link": &c.AppLink,
	} {
		name, optional := strings.CutPrefix(key, "?")
		f, ok := v.field(name)
		if optional && !ok {
			continue
		}
		if !ok || f.kind != jsonString {
			return AppConfig{}, errAppConfig
		}
		*dst = f.text
	}
	if f, ok := v.field("native_receivers"); ok {
		if f.kind != jsonBool {
			return AppConfig{}, errAppConfig
		}
		c.NativeReceivers = f.boolean
	}
	origins, ok := v.field("origins")
	if !ok || origins.kind != jsonArray {
		return AppConfig{}, errAppConfig
	}
	for _, o := range origins.items {
		if o.kind != jsonString {
			return AppConfig{}, errAppConfig
		}
		c.Origins = append(c.Origins, o.text)
	}
	ttl, ok := v.field("ttl")
	if !ok || ttl.kind != jsonNumber {
		return AppConfig{}, errAppConfig
	}
	d, err := ParseTTL(ttl.text) // the literal text, so 60.5, 6e1 and -60 are refused
	if err != nil {
		return AppConfig{}, errAppConfig
	}
	c.TTL = int(d / time.Second)
	if err := CheckAppID(c.ID); err != nil {
		return AppConfig{}, err
	}
	return c, nil
}

// SessionPath is the path of a session's resource below the relay's base URL.
func SessionPath(sid string) string { return "/v1/sessions/" + sid }

// ListenPath is the receiver's WebSocket path for a session.
func ListenPath(sid string) string { return SessionPath(sid) + "/listen" }

// DenyPath is the sender's path to deny a session.
func DenyPath(sid string) string { return SessionPath(sid) + "/deny" }

// AppPath is the path of an app's public configuration.
func AppPath(app string) string { return "/v1/apps/" + app }

// ListenParams are the query parameters of a listen request.
type ListenParams struct {
	App    string
	TTL    int    // seconds; 0 leaves it to the app's default
	Origin string // the embedding page's verified origin; empty for native receivers
	Resume string // set when reconnecting
}

// ListenURL builds the WebSocket URL a receiver connects to: the relay's base
// URL with http(s) turned into ws(s), the listen path and the parameters.
func ListenURL(relay, sid string, p ListenParams) string {
	base := strings.TrimSuffix(relay, "/")
	if rest, ok := strings.CutPrefix(base, "https://"); ok {
		base = "wss://" + rest
	} else if rest, ok := strings.CutPrefix(base, "http://"); ok {
		base = "ws://" + rest
	}
	u := base + ListenPath(sid) + "?app=" + QueryEscape(p.App)
	if p.TTL > 0 {
		u += "&ttl=" + strconv.Itoa(p.TTL)
	}
	if p.Origin != "" {
		u += "&origin=" + QueryEscape(p.Origin)
	}
	if p.Resume != "" {
		u += "&resume=" + QueryEscape(p.Resume)
	}
	return u
}
