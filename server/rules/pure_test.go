package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/scanin/scanin/internal/gosource"
)

// TestPure keeps the package what its doc says, for the edge relay that
// links it into wasm and calls it once per event: few imports (no net/http,
// fmt or encoding/json), no goroutines, and no clock or timers of its own.
// It also checks that every exported name is documented.
func TestPure(t *testing.T) {
	allowed := map[string]bool{
		"net/netip": true, "strconv": true, "strings": true, "time": true,
		"github.com/scanin/scanin/protocol":       true,
		"github.com/scanin/scanin/server/session": true,
	}
	// time's types and constants are fine; these read the clock or start
	// timers.
	clock := map[string]bool{
		"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
		"Tick": true, "NewTimer": true, "NewTicker": true,
	}
	fset := token.NewFileSet()
	files, err := gosource.ParseFiles(fset, ".", parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := fset.File(f.Pos()).Name()
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); !allowed[path] {
				t.Errorf("%s imports %s: the rules stay small and transport-neutral", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: a go statement at %v: the rules run synchronously, once per event", name, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "time" && clock[n.Sel.Name] {
					t.Errorf("%s: time.%s at %v: the caller passes the time in", name, n.Sel.Name, fset.Position(n.Pos()))
				}
			}
			return true
		})
		for _, d := range f.Decls {
			checkDocumented(t, fset, d)
		}
	}
}

// checkDocumented fails for an exported declaration without a comment.
func checkDocumented(t *testing.T, fset *token.FileSet, d ast.Decl) {
	t.Helper()
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Name.IsExported() && d.Doc == nil {
			t.Errorf("%v: %s has no doc comment", fset.Position(d.Pos()), d.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			var names []*ast.Ident
			var doc *ast.CommentGroup
			switch s := s.(type) {
			case *ast.TypeSpec:
				names, doc = []*ast.Ident{s.Name}, s.Doc
			case *ast.ValueSpec:
				names, doc = s.Names, s.Doc
			}
			for _, n := range names {
				if n.IsExported() && doc == nil && d.Doc == nil {
					t.Errorf("%v: %s has no doc comment", fset.Position(n.Pos()), n.Name)
				}
			}
		}
	}
}
