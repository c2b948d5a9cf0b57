//go:build js && wasm

// Command wasm is the demo phone page's logic: the mobile SDK (the same Go
// code an Android or iOS app binds with gomobile) compiled to WebAssembly
// and exposed to phone.js as globalThis.scaninPhone. Its net/http requests
// go through the browser's fetch. It also decodes QR codes from camera
// frames and pictures with gozxing, for browsers without BarcodeDetector.
//
// Size is no concern here (it is a demo page, not the widget), so it uses
// the standard library freely.
package main

import (
	"errors"
	"syscall/js"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/scanin/scanin/internal/words"
	"github.com/scanin/scanin/mobile"
)

// phone holds the session the person is looking at. It is touched only from
// the goroutines the JS callbacks start, one at a time, because phone.js
// waits for each promise before offering the next action.
type phone struct {
	client  *mobile.Client
	session *mobile.Session
}

func main() {
	p := &phone{client: mobile.ClientForAnyApp()}
	api := js.Global().Get("Object").New()
	api.Set("inspect", promiseFunc(p.inspect))
	api.Set("approve", promiseFunc(p.approve))
	api.Set("approveAssertion", promiseFunc(p.approveAssertion))
	api.Set("deny", promiseFunc(p.deny))
	api.Set("decodeQR", js.FuncOf(decodeQR))
	// What phone.js shows when the code runs out while the person looks
	// at it, in the same words as the relay's expired answer.
	api.Set("expired", js.ValueOf(map[string]any{"title": words.PhoneExpiredTitle, "text": words.PhoneExpiredText}))
	js.Global().Set("scaninPhone", api)
	if ready := js.Global().Get("scaninPhoneReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {} // JS callbacks stop firing once main returns.
}

// promiseFunc wraps a blocking function as a JS function returning a
// Promise. The work runs on its own goroutine: a JS callback must never
// block, or the browser's event loop (and fetch with it) would stall.
func promiseFunc(f func(args []js.Value) map[string]any) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		return js.Global().Get("Promise").New(js.FuncOf(func(_ js.Value, cb []js.Value) any {
			resolve := cb[0]
			go func() { resolve.Invoke(js.ValueOf(f(args))) }()
			return nil
		}))
	})
}

func (p *phone) inspect(args []js.Value) map[string]any {
	if len(args) < 1 || args[0].Type() != js.TypeString {
		return map[string]any{"error": "No link to read."}
	}
	s, err := p.client.Inspect(args[0].String())
	if err != nil {
		return map[string]any{"error": describeError(err)}
	}
	p.session = s
	return map[string]any{
		"appName":     s.AppName(),
		"origin":      s.Origin(),
		"browser":     s.Browser(),
		"requesterIP": s.RequesterIP(),
		"senderIP":    s.SenderIP(),
		"sameNetwork": s.SameNetwork(),
		"secondsLeft": s.SecondsLeft(),
	}
}

func (p *phone) approve(args []js.Value) map[string]any {
	if p.session == nil || len(args) < 4 {
		return outcomeResult(&mobile.Outcome{Code: mobile.CodeBadRequest, Message: "nothing to approve"})
	}
	return outcomeResult(p.session.Approve(args[0].String(), args[1].String(), args[2].String(), args[3].String()))
}

// approveAssertion signs an assertion with the page's device key and
// delivers it (the shop's backend mode): args are the device id, the
// user's id at the shop, the device's name and type, and the signer, a JS
// object {publicKey: Uint8Array (the 65-byte P-256 point), sign(Uint8Array):
// Promise<ArrayBuffer> (WebCrypto's ECDSA with SHA-256, R||S)}. The SDK
// makes the claims from the inspected session, as an app's would.
func (p *phone) approveAssertion(args []js.Value) map[string]any {
	if p.session == nil || len(args) < 5 || args[4].Type() != js.TypeObject {
		return outcomeResult(&mobile.Outcome{Code: mobile.CodeBadRequest, Message: "nothing to approve"})
	}
	signer := jsSigner{pub: bytesOf(args[4].Get("publicKey")), obj: args[4]}
	return outcomeResult(p.session.ApproveAssertion(signer, args[0].String(), args[1].String(), args[2].String(), args[3].String()))
}

// jsSigner is a mobile.Signer whose key is the page's WebCrypto key, which
// never leaves the browser (it is not extractable).
type jsSigner struct {
	pub []byte
	obj js.Value
}

// PublicKey implements mobile.Signer.
func (s jsSigner) PublicKey() ([]byte, error) {
	if len(s.pub) != 65 {
		return nil, errors.New("the page's public key is not a 65-byte P-256 point")
	}
	return s.pub, nil
}

// Sign implements mobile.Signer: WebCrypto returns R||S, which the SDK
// takes as it is.
func (s jsSigner) Sign(message []byte) ([]byte, error) {
	arr := js.Global().Get("Uint8Array").New(len(message))
	js.CopyBytesToJS(arr, message)
	v, err := await(s.obj.Call("sign", arr))
	if err != nil {
		return nil, errors.New("the page's key did not sign: " + err.Error())
	}
	return bytesOf(v), nil
}

// await waits for a JS promise. It blocks this goroutine only: the
// browser's event loop runs on, and settles the promise.
func await(promise js.Value) (js.Value, error) {
	type settled struct {
		v   js.Value
		err error
	}
	ch := make(chan settled, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- settled{v: a[0]}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- settled{err: errors.New(a[0].Call("toString").String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	promise.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}

// bytesOf copies an ArrayBuffer or a Uint8Array to Go.
func bytesOf(v js.Value) []byte {
	if v.Type() != js.TypeObject {
		return nil
	}
	u8 := js.Global().Get("Uint8Array").New(v)
	if v.InstanceOf(js.Global().Get("Uint8Array")) {
		u8 = v
	}
	b := make([]byte, u8.Get("length").Int())
	js.CopyBytesToGo(b, u8)
	return b
}

func (p *phone) deny(args []js.Value) map[string]any {
	if p.session == nil {
		return outcomeResult(&mobile.Outcome{Code: mobile.CodeBadRequest, Message: "nothing to deny"})
	}
	return outcomeResult(p.session.Deny())
}

// outcomeResult turns an outcome into what the person reads, in the words
// the browser's widget uses for the same moment (package words).
func outcomeResult(o *mobile.Outcome) map[string]any {
	title, text := "Something went wrong", o.Message
	switch o.Code {
	case mobile.CodeDelivered:
		title, text = words.PhoneSignedInTitle, words.PhoneSignedInText
	case mobile.CodePending:
		// The browser has not acknowledged yet: in verify mode it waits
		// for its user to check the number; or it is offline.
		title, text = words.PhoneWaitingTitle, words.Fill(words.PhoneWaitingText, "", o.CheckCode)
	case mobile.CodeDenied:
		title, text = words.PhoneDeclinedTitle, words.PhoneDeclinedText
	case mobile.CodeExpired:
		title, text = words.PhoneExpiredTitle, words.PhoneExpiredText
	case mobile.CodeAlreadyUsed:
		title, text = "Already used", "This code was used already. Scan the new code in the browser."
	case mobile.CodeNotFound:
		title, text = "Unknown code", "The relay does not know this code."
	case mobile.CodeRejected:
		title, text = "Not accepted", "The browser could not open the message: scan its current code."
	case mobile.CodeRateLimited:
		title = "Slow down"
	case mobile.CodeNetworkError:
		title = "No connection"
	}
	return map[string]any{"code": o.Code, "title": title, "text": text, "checkCode": o.CheckCode}
}

// describeError is the sentence the phone shows when a link cannot be read.
func describeError(err error) string {
	switch mobile.ErrorCode(err) {
	case mobile.CodeExpired:
		return words.PhoneExpiredTitle + ". " + words.PhoneExpiredText
	case mobile.CodeAlreadyUsed:
		return "This code was used already."
	case mobile.CodeNotFound:
		return "The relay does not know this code."
	case mobile.CodeNetworkError:
		return "Could not reach the relay: " + err.Error()
	}
	return err.Error()
}

// decodeQR decodes a QR code from RGBA pixels (an ImageData's data): dark
// on light, or inverted (light on dark, as a terminal with a dark theme
// draws `scanin receive`'s code).
func decodeQR(_ js.Value, args []js.Value) any {
	if len(args) < 3 {
		return nil
	}
	width, height := args[1].Int(), args[2].Int()
	if width <= 0 || height <= 0 || args[0].Get("length").Int() != width*height*4 {
		return nil
	}
	rgba := make([]byte, width*height*4)
	js.CopyBytesToGo(rgba, args[0]) // accepts the Uint8ClampedArray of ImageData
	lum := make([]byte, width*height)
	for i := range lum {
		r, g, b := int(rgba[4*i]), int(rgba[4*i+1]), int(rgba[4*i+2])
		lum[i] = byte((r*299 + g*587 + b*114) / 1000)
	}
	if text, ok := decodeLuminance(lum, width, height); ok {
		return text
	}
	for i, l := range lum {
		lum[i] = 255 - l
	}
	if text, ok := decodeLuminance(lum, width, height); ok {
		return text
	}
	return nil
}

// decodeLuminance decodes a QR code from one byte of luminance a pixel.
func decodeLuminance(lum []byte, width, height int) (string, bool) {
	src, err := gozxing.NewPlanarYUVLuminanceSource(lum, width, height, 0, 0, width, height, false)
	if err != nil {
		return "", false
	}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return "", false
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	result, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", false
	}
	return result.GetText(), true
}
