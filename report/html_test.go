package report

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// element is one start tag of a page, with its attributes.
type element struct {
	tag   string
	attrs map[string]string
}

// elements lists the start tags of an HTML page, as a browser's
// tokenizer reads them, and the text of its <pre> blocks.
func elements(t *testing.T, page []byte) (tags []element, pre []string) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	inPre := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return tags, pre
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			e := element{tag: tok.Data, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Key] = a.Val
			}
			tags = append(tags, e)
			if tok.Data == "pre" {
				inPre = true
				pre = append(pre, "")
			}
		case html.EndTagToken:
			if z.Token().Data == "pre" {
				inPre = false
			}
		case html.TextToken:
			if inPre {
				pre[len(pre)-1] += z.Token().Data
			}
		}
	}
}

// TestHTMLReportIsSelfContained renders the fixture's report.html: every
// plot is inlined as a PNG data: URI, nothing refers to another file or
// to the network, and the Markdown's tables are HTML tables.
func TestHTMLReportIsSelfContained(t *testing.T) {
	r := fixture(t)
	r.ScenarioText = "# a `scenario` with ``` inside\nexperiments: []\n"
	dir := t.TempDir()
	if err := Write(dir, r); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFileName))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	tags, pre := elements(t, page)
	count := map[string]int{}
	ids := map[string]bool{}
	for _, e := range tags {
		ids[e.attrs["id"]] = true
	}
	for _, e := range tags {
		count[e.tag]++
		if href, ok := e.attrs["href"]; ok && strings.HasPrefix(href, "#") && !ids[href[1:]] {
			t.Errorf("link to %s: no element has that id", href)
		}
		for _, key := range []string{"src", "href", "srcset", "action", "poster", "data"} {
			v, ok := e.attrs[key]
			if !ok {
				continue
			}
			if key == "src" && e.tag == "img" {
				if !strings.HasPrefix(v, "data:image/png;base64,iVBORw0KGgo") { // the PNG signature, in base64
					t.Errorf("<img src=%.60q>: want a PNG data: URI", v)
				}
				continue
			}
			if key != "href" || !strings.HasPrefix(v, "#") { // only links within the page
				t.Errorf("<%s %s=%.60q>: refers outside the page", e.tag, key, v)
			}
		}
	}
	if want := len(Plots(r)); count["img"] != want || want == 0 {
		t.Errorf("%d images; want the %d plots", count["img"], want)
	}
	// Each image is its plot's file, byte for byte, in the Markdown's order.
	names := regexp.MustCompile(`(?m)^!\[[^\]]*\]\(([^)]+\.png)\)$`).FindAllSubmatch(md, -1)
	i := 0
	for _, e := range tags {
		if e.tag != "img" || i >= len(names) {
			continue
		}
		file, err := os.ReadFile(filepath.Join(dir, string(names[i][1])))
		if err != nil {
			t.Fatal(err)
		}
		inlined, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(e.attrs["src"], "data:image/png;base64,"))
		if err != nil || !bytes.Equal(inlined, file) {
			t.Errorf("image %d is not %s (%d bytes inlined, want %d; %v)", i+1, names[i][1], len(inlined), len(file), err)
		}
		i++
	}
	if i != len(names) {
		t.Errorf("%d images for the Markdown's %d", i, len(names))
	}
	for _, tag := range []string{"script", "link", "iframe", "object", "embed", "base"} {
		if count[tag] > 0 {
			t.Errorf("%d <%s> elements; want none", count[tag], tag)
		}
	}
	// A table's delimiter row, "|:---|:---|", under its header row.
	if tables := len(regexp.MustCompile(`(?m)^\|\s*:?-+:?\s*\|`).FindAll(md, -1)); count["table"] != tables || tables == 0 {
		t.Errorf("%d <table> elements; want the Markdown's %d tables", count["table"], tables)
	}
	if count["title"] != 1 || !bytes.Contains(page, []byte("<title>clusterbench report: "+r.Scenario+"</title>")) {
		t.Errorf("the page's title is not the report's")
	}
	if strings.Contains(string(page), "\n| ") {
		t.Error("a Markdown table was left as text")
	}
	if len(pre) == 0 || pre[len(pre)-1] != r.ScenarioText {
		t.Errorf("the scenario's block reads %q; want %q", pre, r.ScenarioText)
	}
	var again bytes.Buffer
	if err := WriteHTML(&again, md, dir); err != nil || !bytes.Equal(again.Bytes(), page) {
		t.Errorf("a second rendering differs (%v)", err)
	}
}

// The record's text is the user's: HTML in it stays text.
func TestHTMLReportEscapesTheRecord(t *testing.T) {
	r := fixture(t)
	r.Scenario = `<script>alert(1)</script><img src="http://example.com/x.png">`
	r.Host.CPUModel = `<a href="https://example.com">CPU</a>`
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WritePlots(dir, r); err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, md.Bytes(), dir); err != nil {
		t.Fatal(err)
	}
	tags, _ := elements(t, page.Bytes())
	for _, e := range tags {
		if e.tag == "script" || e.tag == "a" && !strings.HasPrefix(e.attrs["href"], "#") ||
			e.tag == "img" && !strings.HasPrefix(e.attrs["src"], "data:image/png;base64,") {
			t.Errorf("the record's text became an element: <%s %v>", e.tag, e.attrs)
		}
	}
	if !strings.Contains(page.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the scenario's name is not shown as text")
	}
}

// An image the page cannot inline fails the rendering: a report never
// shows a broken picture or fetches one.
func TestHTMLRefusesImagesItCannotInline(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fake.png"), []byte("GIF89a not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, md := range []string{
		"![missing](missing.png)\n",
		"![remote](https://example.com/plot.png)\n",
		"![elsewhere](../plot.png)\n",
		"![not a PNG](fake.png)\n",
	} {
		var b bytes.Buffer
		if err := WriteHTML(&b, []byte(md), dir); err == nil {
			t.Errorf("%q: rendered, want an error:\n%s", md, b.String())
		}
	}
}
