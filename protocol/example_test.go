package protocol_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/scanin/scanin/protocol"
)

// A sender reads the link from a QR code. It accepts only links for the
// apps it is built for, and tells the person which rule a bad link broke.
func ExampleParseLink() {
	raw := "https://relay.example/link#v=1&a=demo&s=AAECAwQFBgcICQoLDA0ODw" +
		"&k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8&r=https%3A%2F%2Frelay.example"
	link, err := protocol.ParseLink(raw, []string{"demo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("app:", link.App)
	fmt.Println("session:", link.SessionID)
	fmt.Println("relay:", link.Relay)
	fmt.Println("key bytes:", len(link.PublicKey))

	_, err = protocol.ParseLink(raw, []string{"shop"})
	var linkErr *protocol.LinkError
	if errors.As(err, &linkErr) && errors.Is(err, protocol.ErrLinkWrongApp) {
		fmt.Println("refused:", linkErr.Param, "-", err)
	}
	// Output:
	// app: demo
	// session: AAECAwQFBgcICQoLDA0ODw
	// relay: https://relay.example
	// key bytes: 32
	// refused: a - parameter "a" (the app id) names an app this program is not built for
}

// The receiver makes a key and a session id and shows the link; the sender
// seals a message to the link's key; the receiver opens it. Both ends can
// show the same two-digit check code.
func ExampleSealMessage() {
	key, err := protocol.GenerateKey()
	if err != nil {
		panic(err)
	}
	defer key.Destroy()
	sid := protocol.NewSessionID()

	now := time.Now()
	msg := protocol.Message{
		Kind:     protocol.KindToken,
		Data:     "session-token",
		IssuedAt: now.Unix(),
		Device:   &protocol.Device{Name: "Pixel 9", Type: "android"},
	}
	sealed, senderCode, err := protocol.SealMessage(key.PublicKey(), "demo", sid, msg)
	if err != nil {
		panic(err)
	}

	got, receiverCode, err := protocol.OpenMessage(key, "demo", sid, sealed, now)
	if err != nil {
		// Tell the relay why: {"type":"reject","reason":...}.
		fmt.Println("reject:", protocol.RejectReasonFor(err))
		return
	}
	fmt.Println(got.Kind, got.Data, "from", got.Device.Name)
	fmt.Println("check codes match:", senderCode == receiverCode)

	// The same message is refused in another session.
	_, _, err = protocol.OpenMessage(key, "demo", protocol.NewSessionID(), sealed, now)
	fmt.Println("other session:", protocol.RejectReasonFor(err))
	// Output:
	// token session-token from Pixel 9
	// check codes match: true
	// other session: decrypt
}
