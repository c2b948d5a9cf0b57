package rules

import (
	"strings"
	"time"

	"github.com/scanin/scanin/protocol"
)

// App is an integrator's application as the operator configures it. The
// JSON names are the config file's (docs/protocol.md 13).
type App struct {
	// ID is the app id, [a-z0-9][a-z0-9-]{0,31}.
	ID string `json:"id"`
	// Name is what a phone shows the person ("Demo Shop").
	Name string `json:"name"`
	// Origins are the page origins allowed to embed the widget: exact
	// origins or "scheme://host:*" for any port.
	Origins []string `json:"origins"`
	// WidgetOrigins are the origins the widget page itself may be served
	// from, checked against a listener's Origin header. The relay's own
	// public origin is always one.
	WidgetOrigins []string `json:"widget_origins"`
	// LinkBase is where the QR code's link opens: the app's universal
	// link. Empty means {public-url}/link.
	LinkBase string `json:"link_base"`
	// TTL is the default session lifetime in seconds (15..300); 0 means
	// the relay's default.
	TTL int `json:"ttl"`
	// NativeReceivers allows listens without a page origin (the terminal
	// receiver, a native app). False, the default in a config file, keeps
	// a web-only app web-only: such a listen gets origin_denied.
	NativeReceivers bool `json:"native_receivers"`
	// ScanHint is the widget's instruction under the code; "{name}" stands
	// for Name. Empty means protocol.DefaultScanHint.
	ScanHint string `json:"scan_hint"`
	// Logo is a square image for the code's centre: an https URL, or a
	// path on the relay ("/logo.png"). Empty means none.
	Logo string `json:"logo"`
	// IOSAppStoreURL is the app's App Store page (https), for /link.
	IOSAppStoreURL string `json:"ios_app_store_url"`
	// PlayStoreURL is the app's Google Play page (https), for /link.
	PlayStoreURL string `json:"play_store_url"`
	// AppLink is what /link's button opens: the app's custom scheme
	// ("shop://scanin") or an https universal link. Empty means none.
	AppLink string `json:"app_link"`
}

// DemoAppID is the id of the app a relay with no configured apps serves.
const DemoAppID = "demo"

// DemoApp is the built-in app a relay with no configured apps serves, so
// the demo runs with no setup: pages on loopback may embed it, and the
// widget may be served from the relay or from loopback.
func DemoApp() App {
	loopback := []string{"http://localhost:*", "http://127.0.0.1:*"}
	return App{
		ID:            DemoAppID,
		Name:          "Demo Shop",
		Origins:       loopback,
		WidgetOrigins: append([]string(nil), loopback...),
		// The demo's receivers include the terminal (scanin receive).
		NativeReceivers: true,
	}
}

// AllowsOrigin reports whether a page of origin may embed the app's widget:
// the listen's origin parameter.
func (a *App) AllowsOrigin(origin string) bool {
	return protocol.OriginAllowed(a.Origins, origin)
}

// AllowsWidgetOrigin reports whether a listen whose handshake carries the
// Origin header origin may listen for the app: the widget is served from
// one of the app's WidgetOrigins, or from the relay itself, whose origin is
// relayOrigin ("https://relay.example").
func (a *App) AllowsWidgetOrigin(origin, relayOrigin string) bool {
	return protocol.OriginAllowed(a.WidgetOrigins, origin) ||
		protocol.OriginAllowed([]string{relayOrigin}, origin)
}

// Config is the app as GET /v1/apps/{app} publishes it, for a relay whose
// public base URL is relayBase: the widget origins stay the operator's, an
// empty LinkBase becomes relayBase + "/link", the scan hint gets its
// default and the app's name, and a logo on the relay ("/logo.png")
// becomes an absolute URL.
func (a *App) Config(relayBase string) protocol.AppConfig {
	link := a.LinkBase
	if link == "" {
		link = relayBase + "/link"
	}
	logo := a.Logo
	if strings.HasPrefix(logo, "/") {
		logo = relayBase + logo
	}
	return protocol.AppConfig{
		ID: a.ID, Name: a.Name, Origins: a.Origins, LinkBase: link, TTL: a.TTL,
		NativeReceivers: a.NativeReceivers,
		ScanHint:        protocol.ScanHintFor(a.ScanHint, a.Name),
		Logo:            logo,
		IOSAppStoreURL:  a.IOSAppStoreURL,
		PlayStoreURL:    a.PlayStoreURL,
		AppLink:         a.AppLink,
	}
}

// Apps are the apps a relay serves, by id. The zero value serves none.
type Apps struct {
	byID map[string]*App
}

// NewApps makes the table of apps a relay serves: apps, or DemoApp when
// there are none. An app whose TTL is 0 gets defaultTTL, in whole seconds.
// The caller has checked the apps (ids unique and well formed, origins
// valid), as the relay's configuration does; NewApps copies them.
func NewApps(apps []App, defaultTTL time.Duration) Apps {
	if len(apps) == 0 {
		apps = []App{DemoApp()}
	}
	t := Apps{byID: make(map[string]*App, len(apps))}
	for _, a := range apps {
		a := a
		if a.TTL == 0 {
			a.TTL = int(defaultTTL / time.Second)
		}
		t.byID[a.ID] = &a
	}
	return t
}

// Get returns the app with id, or nil. It checks nothing else; a request
// that names an app uses Lookup.
func (t Apps) Get(id string) *App { return t.byID[id] }

// Lookup finds the app a request names: bad_request when id is not an app
// id, not_found when the relay has no such app.
func (t Apps) Lookup(id string) (*App, *protocol.Error) {
	if err := protocol.CheckAppID(id); err != nil {
		return nil, newError(protocol.CodeBadRequest, "bad app: "+err.Error())
	}
	a := t.byID[id]
	if a == nil {
		return nil, newError(protocol.CodeNotFound, "no such app")
	}
	return a, nil
}

func newError(code protocol.Code, msg string) *protocol.Error {
	return &protocol.Error{Code: code, Message: msg}
}
