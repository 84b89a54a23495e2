package probe

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// page is what the probe reads from an easel HTML page.
type page struct {
	csrfInput   string // <input name="csrf_token" value=…>
	csrfMeta    string // <meta name="csrf-token" content=…>
	hasImage    bool   // an element with id="image"
	imageDigest string // its data-digest
	imageSrc    string // its src
	noImage     bool   // an element with id="no-image"
	footer      bool   // <footer id="replica">
	servedBy    string // the footer's data-served-by
	session     string // the footer's data-session
}

// csrf returns the page's CSRF token, preferring the form field.
func (p page) csrf() string {
	if p.csrfInput != "" {
		return p.csrfInput
	}
	return p.csrfMeta
}

// parsePage scans an HTML document for the elements of the easel contract.
// It uses the tokenizer rather than patterns so that attribute order and
// quoting do not matter.
func parsePage(body []byte) page {
	var p page
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return p
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		attr := func(name string) (string, bool) {
			for _, a := range tok.Attr {
				if strings.EqualFold(a.Key, name) {
					return a.Val, true
				}
			}
			return "", false
		}
		id, _ := attr("id")
		name, _ := attr("name")
		switch {
		case tok.Data == "input" && name == "csrf_token":
			if v, ok := attr("value"); ok && p.csrfInput == "" {
				p.csrfInput = v
			}
		case tok.Data == "meta" && name == "csrf-token":
			p.csrfMeta, _ = attr("content")
		case id == "image":
			p.hasImage = true
			p.imageDigest, _ = attr("data-digest")
			p.imageSrc, _ = attr("src")
		case id == "no-image":
			p.noImage = true
		case tok.Data == "footer" && id == "replica":
			p.footer = true
			p.servedBy, _ = attr("data-served-by")
			p.session, _ = attr("data-session")
		}
	}
}
