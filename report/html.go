package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// HTMLFileName is the HTML report's name inside a run directory: the
// Markdown report as one self-contained page, to mail or attach to a CI
// job, its plots inlined and nothing to fetch.
const HTMLFileName = "report.html"

// markdown converts report.md with goldmark, the maintained CommonMark
// implementation for Go, and its GitHub table extension alone: Linkify
// would make links of names in the record, and raw HTML in the record's
// text is dropped as goldmark does by default. Headings get the ids
// GitHub gives them, so the report's own links (#scenario) work.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
)

// htmlStyle keeps wide tables readable: they scroll on their own, and
// their rows and headers stand out.
const htmlStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.45;color:#1f2328;max-width:1280px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;display:block;overflow-x:auto;margin:1em 0;font-size:.85em}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;white-space:nowrap}
th{background:#f6f8fa}
tbody tr:nth-child(even){background:#f6f8fa}
img{max-width:100%;height:auto}
pre{background:#f6f8fa;padding:1em;overflow-x:auto}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
blockquote{margin:1em 0;padding:0 1em;border-left:.25em solid #d0d7de;color:#59636e}
`

// WriteHTML writes md, a Markdown report, as one HTML page to w. Every
// image it names is read from dir and inlined as a data: URI, so the page
// needs nothing else; an image that cannot be read is an error, never a
// broken picture.
func WriteHTML(w io.Writer, md []byte, dir string) error {
	doc := markdown.Parser().Parse(text.NewReader(md))
	title := "clusterbench report"
	var inlineErr error
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			if n.Level == 1 && title == "clusterbench report" {
				title = plainText(n, md)
			}
		case *ast.Image:
			uri, err := dataURI(dir, string(n.Destination))
			if err != nil {
				inlineErr = err
				return ast.WalkStop, nil
			}
			n.Destination = []byte(uri)
		}
		return ast.WalkContinue, nil
	})
	if err == nil {
		err = inlineErr
	}
	if err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	var body bytes.Buffer
	if err := markdown.Renderer().Render(&body, md, doc); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err = fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n%s</body>\n</html>\n",
		html.EscapeString(title), htmlStyle, body.Bytes())
	return err
}

// dataURI reads the image name, a file of dir as the report names its
// plots, and returns it as a data: URI. Only a PNG in dir itself is
// inlined: the report names nothing else.
func dataURI(dir, name string) (string, error) {
	if name == "" || name != filepath.Base(name) || name == ".." || !strings.HasSuffix(name, ".png") {
		return "", fmt.Errorf("image %q: not a PNG of the run directory", name)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("image: %w", err)
	}
	if kind := http.DetectContentType(data); kind != "image/png" {
		return "", fmt.Errorf("image %s: %s, not a PNG", name, kind)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(data), nil
}

// plainText is a heading's text without its Markdown.
func plainText(n ast.Node, source []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(source))
			if c.SoftLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}
