package mobile

import (
	"go/ast"
	"go/token"
	"sort"
	"strings"
	"testing"

	"github.com/scanin/scanin/internal/gosource"
	"github.com/scanin/scanin/protocol"
)

// mobileCodes is every Code* constant by name. TestCodesListed keeps it
// complete, so the checks below see each code the SDK exports.
var mobileCodes = map[string]string{
	"CodeDelivered":         CodeDelivered,
	"CodePending":           CodePending,
	"CodeDenied":            CodeDenied,
	"CodeExpired":           CodeExpired,
	"CodeAlreadyUsed":       CodeAlreadyUsed,
	"CodeNotFound":          CodeNotFound,
	"CodeRejected":          CodeRejected,
	"CodeRateLimited":       CodeRateLimited,
	"CodeTooLarge":          CodeTooLarge,
	"CodeBadRequest":        CodeBadRequest,
	"CodeUnavailable":       CodeUnavailable,
	"CodeConflict":          CodeConflict,
	"CodeOriginDenied":      CodeOriginDenied,
	"CodeNetworkError":      CodeNetworkError,
	"CodeCancelled":         CodeCancelled,
	"CodeUnexpected":        CodeUnexpected,
	"CodeLinkMalformed":     CodeLinkMalformed,
	"CodeLinkVersion":       CodeLinkVersion,
	"CodeLinkMissing":       CodeLinkMissing,
	"CodeLinkRepeated":      CodeLinkRepeated,
	"CodeLinkSessionID":     CodeLinkSessionID,
	"CodeLinkKey":           CodeLinkKey,
	"CodeLinkApp":           CodeLinkApp,
	"CodeLinkInsecureRelay": CodeLinkInsecureRelay,
	"CodeLinkRelay":         CodeLinkRelay,
	"CodeLinkWrongApp":      CodeLinkWrongApp,
}

// sdkOnlyCodes are the codes for what never reaches the relay, which the
// protocol therefore has no name for.
var sdkOnlyCodes = map[string]bool{CodeNetworkError: true, CodeCancelled: true, CodeUnexpected: true}

// TestCodesListed fails when package mobile exports a Code* constant that
// mobileCodes lacks, or mobileCodes names one that is gone.
func TestCodesListed(t *testing.T) {
	fset := token.NewFileSet()
	files, err := gosource.ParseFiles(fset, ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, f := range files {
		for _, decl := range f.Decls {
			d, ok := decl.(*ast.GenDecl)
			if !ok || d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					if id.IsExported() && strings.HasPrefix(id.Name, "Code") {
						exported = append(exported, id.Name)
					}
				}
			}
		}
	}
	if len(exported) < 20 {
		t.Fatalf("found only %d Code* constants: the parse missed them", len(exported))
	}
	sort.Strings(exported)
	for _, name := range exported {
		if _, ok := mobileCodes[name]; !ok {
			t.Errorf("%s is exported but missing from mobileCodes", name)
		}
	}
	if len(exported) != len(mobileCodes) {
		t.Errorf("package mobile exports %d Code* constants, mobileCodes lists %d", len(exported), len(mobileCodes))
	}
}

// TestCodesMatchProtocol: every name the protocol gives an outcome or a
// refusal (relay error codes, link rules, the states a POST or deny is
// answered with) is a mobile code with the same spelling, and every mobile
// code is one of those names or one of the SDK's own.
func TestCodesMatchProtocol(t *testing.T) {
	values := map[string]string{} // value → constant name
	for name, v := range mobileCodes {
		if other, dup := values[v]; dup {
			t.Errorf("%s and %s are both %q", name, other, v)
		}
		values[v] = name
	}

	protocolNames := map[string]string{} // name → where the protocol defines it
	for _, c := range protocol.Codes {
		protocolNames[string(c)] = "protocol.Code"
	}
	for _, r := range protocol.LinkRules {
		protocolNames[string(r)] = "protocol.LinkRule"
	}
	for _, s := range protocol.States {
		// Waiting and scanned are what Session.State reports, not outcomes.
		if s != protocol.StateWaiting && s != protocol.StateScanned {
			protocolNames[string(s)] = "protocol.State"
		}
	}

	for name, from := range protocolNames {
		if _, ok := values[name]; !ok {
			t.Errorf("%s %q has no mobile code", from, name)
		}
	}
	for v, name := range values {
		if _, ok := protocolNames[v]; !ok && !sdkOnlyCodes[v] {
			t.Errorf("%s = %q is neither a protocol name nor one of the SDK's own", name, v)
		}
		if _, ok := protocolNames[v]; ok && sdkOnlyCodes[v] {
			t.Errorf("%s = %q is listed as the SDK's own but the protocol names it", name, v)
		}
	}
	for _, r := range protocol.LinkRules {
		if !(&ScanError{Code: string(r)}).IsLinkError() {
			t.Errorf("%q: IsLinkError is false", r)
		}
	}
	for _, c := range protocol.Codes {
		if (&ScanError{Code: string(c)}).IsLinkError() {
			t.Errorf("%q: IsLinkError is true", c)
		}
	}
}
