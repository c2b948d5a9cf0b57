// Package words is scanin's vocabulary: what a person reads in the
// widget, on the phone (the demo phone page, an app built on the mobile
// SDK) and in the CLI, in one table, so that both ends of a sign-in tell
// the same story in the same words.
//
// The words are chosen once:
//
//   - "Sign in" is the action, everywhere ("Log in" and "login" are not
//     used).
//   - "declined" is what the person did on the phone when they said no; the
//     protocol's state and event keep their name, denied.
//   - "expired" is a code whose time ran out: the phone that scans it late,
//     and the widget that stopped showing codes (its scanin:expired event).
//   - "timed out" is not used for sign-in: a rotation is silent, and a
//     stopped widget says that its code expired, as its event does.
//   - "browser" is the other end, seen from the phone.
//
// The widget does not link this package (every byte of Go in it is
// downloaded by each visitor): its words live in widget.html, as data-*
// attributes the widget reads, and a test checks that they are these. The
// demo phone page and the CLI use the constants.
package words

import "strings"

// The widget's status line, by the state it shows.
const (
	WidgetLoading      = "Loading the sign-in code…"
	WidgetScanned      = "Confirm on your phone"
	WidgetVerifying    = "Check the number on your phone"
	WidgetReconnecting = "Reconnecting…"
	WidgetSuccess      = "Signed in"
	WidgetDeclined     = "Sign-in was declined on your phone."
	WidgetExpired      = "The code expired."
)

// The widget's badge over the dimmed code, and its buttons.
const (
	BadgeScanned  = "Scanned"
	ButtonNewCode = "Show a new code"
	ButtonMatches = "It matches"
	ButtonNoMatch = "It doesn't match"
	ButtonOpenApp = "Open in app"
)

// The phone's confirmation screen and its outcomes. "{app}" stands for the
// app's name, "{check}" for the check code.
const (
	PhoneQuestion = "Sign in to {app}?"
	PhoneApprove  = "Sign in"
	PhoneDecline  = "Decline"

	PhoneSignedInTitle = "Signed in"
	PhoneSignedInText  = "The browser is now signed in as you."
	PhoneWaitingTitle  = "Waiting for the browser"
	PhoneWaitingText   = "Check that it shows {check}. A browser that went offline signs in when it reconnects."
	PhoneDeclinedTitle = "Sign-in declined"
	PhoneDeclinedText  = "The browser shows it was declined."
	PhoneExpiredTitle  = "The code expired"
	PhoneExpiredText   = "Scan the new code in the browser."
)

// The CLI's (scanin send) lines for the same outcomes.
const (
	CLIQuestion = "Sign in? [y/N] "
	CLISignedIn = "Signed in: the browser has it (check code {check})."
	CLIWaiting  = "Waiting for the browser: check that it shows {check}. (A browser that went offline gets it when it reconnects.)"
	CLIDeclined = "Sign-in declined: the browser shows it was declined."
)

// Fill replaces "{app}" and "{check}" in s.
func Fill(s, app, check string) string {
	return strings.NewReplacer("{app}", app, "{check}", check).Replace(s)
}
