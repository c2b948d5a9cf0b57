package mobile

import (
	"bytes"
	"go/ast"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scanin/scanin/internal/gosource"
)

// TestGobind runs gobind on this package for Java and Objective-C, as
// gomobile bind would, and fails when it errors or skips anything: gobind
// leaves out an exported name it cannot bind with only a comment in the
// generated code, so an API change that breaks the binding would
// otherwise go unnoticed until an app build.
//
// gobind is the module's own tool (go.mod: tool golang.org/x/mobile/cmd/gobind).
func TestGobind(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	gobind := buildGobind(t, root)

	out := t.TempDir()
	cmd := exec.Command(gobind, "-lang=java,objc", "-outdir", out, "./mobile")
	cmd.Dir = root // gobind loads ./mobile in this module, read-only
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gobind failed: %v\n%s", err, output)
	}

	java := readGenerated(t, filepath.Join(out, "java", "mobile"), ".java")
	objc := readGenerated(t, filepath.Join(out, "src", "gobind"), "Mobile.objc.h")
	all := readGenerated(t, out, "")
	for _, skipped := range regexp.MustCompile(`skipped \w+ [\w.]+ with unsupported[^\n]*`).FindAllString(all, -1) {
		t.Errorf("gobind %s", skipped)
	}

	names := exportedAPI(t, ".")
	if len(names) < 40 {
		// The parse found too little: the check below would pass vacuously.
		t.Fatalf("found only %d exported names in package mobile", len(names))
	}
	for _, n := range names {
		if !n.java.MatchString(java) {
			t.Errorf("%s is missing from the Java binding (want %s)", n.name, n.java)
		}
		if !n.objc.MatchString(objc) {
			t.Errorf("%s is missing from the Objective-C binding (want %s)", n.name, n.objc)
		}
	}
}

// buildGobind builds gobind, a tool of this module (go.mod's tool
// directive pins its version), so the check needs nothing installed and
// works offline once the module cache holds it.
func buildGobind(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gobind")
	cmd := exec.Command("go", "build", "-o", bin, "golang.org/x/mobile/cmd/gobind")
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to build gobind: %v\n%s", err, output)
	}
	return bin
}

// readGenerated concatenates the generated files below dir whose names
// end in suffix.
func readGenerated(t *testing.T, dir, suffix string) string {
	t.Helper()
	var b bytes.Buffer
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, suffix) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		b.Write(data)
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("gobind wrote no *%s below %s", suffix, dir)
	}
	return b.String()
}

// boundName is an exported Go name and how it must appear in each binding.
type boundName struct {
	name       string
	java, objc *regexp.Regexp
}

// exportedAPI lists the package's exported functions, types, methods,
// fields and constants, with the form gobind gives each in Java and
// Objective-C. Names match case-insensitively: gobind lowercases leading
// initialisms its own way ("OK" becomes "ok").
func exportedAPI(t *testing.T, dir string) []boundName {
	t.Helper()
	fset := token.NewFileSet()
	files, err := gosource.ParseFiles(fset, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	q := regexp.QuoteMeta
	re := func(s string) *regexp.Regexp { return regexp.MustCompile("(?i)" + s) }
	var names []boundName
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				n := d.Name.Name
				if d.Recv == nil {
					names = append(names, boundName{n, re(`\b` + q(n) + `\(`), re(`\bMobile` + q(n) + `\(`)})
					continue
				}
				recv := receiverName(d.Recv.List[0].Type)
				if !ast.IsExported(recv) {
					continue
				}
				names = append(names, boundName{recv + "." + n,
					re(`\b` + q(n) + `\(`),
					re(`\)` + q(n) + `[;:]`)})
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.ValueSpec:
						if d.Tok != token.CONST {
							continue
						}
						for _, id := range s.Names {
							if id.IsExported() {
								names = append(names, boundName{id.Name,
									re(`\b` + q(id.Name) + ` = `),
									re(`\bMobile` + q(id.Name) + `;`)})
							}
						}
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						tn := s.Name.Name
						names = append(names, boundName{tn,
							re(`\b(class|interface) ` + q(tn) + `\b`), // a Go interface is a Java interface
							re(`@interface Mobile` + q(tn) + `\b`)})
						st, ok := s.Type.(*ast.StructType)
						if !ok {
							continue
						}
						for _, field := range st.Fields.List {
							for _, id := range field.Names {
								if id.IsExported() {
									names = append(names, boundName{tn + "." + id.Name,
										re(`\bget` + q(id.Name) + `\(`),
										re(`@property \(nonatomic\) [^;]*\b` + q(id.Name) + `;`)})
								}
							}
						}
					}
				}
			}
		}
	}
	return names
}

func receiverName(e ast.Expr) string {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
