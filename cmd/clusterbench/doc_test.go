package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArchitectureNamesRealCode keeps docs/architecture.md true to the code:
// every Go name it quotes (`pkg.Func`, `Type.Method`, `fillMeasurement`)
// must be declared in this module, in the package it names.
func TestArchitectureNamesRealCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	declared := declaredNames(t, "../..")
	identifier := regexp.MustCompile(`^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$`)
	checked := 0
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(string(doc), -1) {
		name := m[1]
		if !identifier.MatchString(name) || isFileName(name) || strings.ToUpper(name) == name {
			continue // a command, a flag, a file or a signal, not a Go name
		}
		checked++
		if !declared[name] {
			t.Errorf("docs/architecture.md names `%s`, which the code does not declare", name)
		}
	}
	if checked < 40 {
		t.Errorf("checked only %d names; the parsing of the document is broken", checked)
	}
}

func isFileName(s string) bool {
	for _, ext := range []string{".json", ".md", ".txt", ".yaml", ".js", ".go", ".png"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}

// declaredNames lists every package, and every declaration as Name,
// pkg.Name, Type.Name and pkg.Type.Name (and a member's Name alone), where Type.Name is a method, a
// struct field or an interface method.
func declaredNames(t *testing.T, root string) map[string]bool {
	names := map[string]bool{}
	add := func(pkg string, parts ...string) {
		n := strings.Join(parts, ".")
		names[n], names[pkg+"."+n], names[parts[len(parts)-1]] = true, true, true
	}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		pkg := filepath.Base(filepath.Dir(path))
		names[pkg] = true
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					add(pkg, d.Name.Name)
					continue
				}
				recv := d.Recv.List[0].Type
				if star, ok := recv.(*ast.StarExpr); ok {
					recv = star.X
				}
				if id, ok := recv.(*ast.Ident); ok {
					add(pkg, id.Name, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						add(pkg, s.Name.Name)
						addMembers(s, func(member string) { add(pkg, s.Name.Name, member) })
					case *ast.ValueSpec:
						for _, n := range s.Names {
							add(pkg, n.Name)
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// addMembers calls add for each field of a struct type and each method of
// an interface type.
func addMembers(s *ast.TypeSpec, add func(string)) {
	var fields *ast.FieldList
	switch ty := s.Type.(type) {
	case *ast.StructType:
		fields = ty.Fields
	case *ast.InterfaceType:
		fields = ty.Methods
	default:
		return
	}
	for _, f := range fields.List {
		for _, n := range f.Names {
			add(n.Name)
		}
		if len(f.Names) == 0 { // embedded: named by its type
			if sel, ok := f.Type.(*ast.SelectorExpr); ok {
				add(sel.Sel.Name)
			}
		}
	}
}
