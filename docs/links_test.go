package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Every relative link of every Markdown file of the repository resolves: its file or
// directory exists and its #fragment names a heading of the target, as GitHub makes
// heading anchors. Links inside code (fenced blocks, code spans) and HTML comments
// are not links; http(s), mailto and other schemes are not checked.
func TestLinks_Resolve(t *testing.T) {
	files := markdownFiles(t, "..")
	if len(files) == 0 {
		t.Fatal("no Markdown file found")
	}
	for _, p := range checkLinks("..", files) {
		t.Error(p)
	}
}

// The README starts a newcomer; the rest lives under docs/ (issue 25).
func TestREADME_AtMost250Lines(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte("\n")); n > 250 {
		t.Errorf("README.md has %d lines; at most 250: move the details to docs/", n)
	}
}

// The checker itself, on pages made for it: it catches a missing file and a missing
// heading, and leaves fenced code, code spans and comments alone.
func TestLinks_Checker(t *testing.T) {
	got := checkLinks("testdata/links", []string{"page.md"})
	want := []string{
		`page.md:9: missing.md: no such file or directory`,
		`page.md:10: sub/other.md#no-such-heading: no heading with that anchor in sub/other.md`,
		`page.md:11: #not-here: no heading with that anchor in page.md`,
		`page.md:12: img/missing.png: no such file or directory`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct{ heading, slug string }{
		{"Getting started", "getting-started"},
		{"`keyward keys create`", "keyward-keys-create"},
		{"GET /v1/keys/{id}", "get-v1keysid"},
		{"What's new? (2.0)", "whats-new-20"},
		{"Keys & [tokens](x.md)", "keys--tokens"},
		{"snake_case and-dash", "snake_case-and-dash"},
	} {
		if got := slug(c.heading); got != c.slug {
			t.Errorf("slug(%q) = %q, want %q", c.heading, got, c.slug)
		}
	}
}

// markdownFiles lists the repository's Markdown files, from root: git's (tracked, and
// new ones not ignored), else a walk; testdata is left out (its pages break on purpose).
func markdownFiles(t *testing.T, root string) []string {
	var files []string
	out, err := exec.Command("git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "*.md").Output()
	if err == nil {
		for _, f := range strings.Fields(string(out)) {
			if _, err := os.Stat(filepath.Join(root, f)); err == nil {
				files = append(files, f)
			}
		}
	} else {
		t.Logf("git ls-files: %v; walking the tree", err)
		err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(p, ".md") {
				rel, _ := filepath.Rel(root, p)
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var kept []string
	for _, f := range files {
		if !strings.Contains("/"+f, "/testdata/") {
			kept = append(kept, f)
		}
	}
	return kept
}

var (
	inlineLink = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]+(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)`)
	refDef     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
	htmlAttr   = regexp.MustCompile(`(?i)<(?:img|a|source)\b[^>]*?\s(?:src|href)\s*=\s*["']([^"']+)["']`)
	codeSpan   = regexp.MustCompile("(`+)[^`]+?(`+)")
	comment    = regexp.MustCompile(`<!--.*?-->`)
	scheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// checkLinks checks the links of files (relative to root) and returns each problem as
// "file:line: link: what".
func checkLinks(root string, files []string) []string {
	var problems []string
	anchors := map[string]map[string]bool{} // by file, from root
	for _, f := range files {
		lines, err := proseLines(filepath.Join(root, f))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		for _, l := range lines {
			for _, link := range linksOf(l.text) {
				if p := checkLink(root, f, link, anchors); p != "" {
					problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", f, l.n, link, p))
				}
			}
		}
	}
	return problems
}

type line struct {
	n    int
	text string
}

// proseLines are a Markdown file's lines outside fenced code blocks and HTML comments.
func proseLines(path string) ([]line, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []line
	fence := ""
	inComment := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		trimmed := strings.TrimLeft(text, " ")
		if fence != "" {
			if len(text)-len(trimmed) <= 3 && strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
				fence = ""
			}
			continue
		}
		if len(text)-len(trimmed) <= 3 && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")) {
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, trimmed[:1]))]
			continue
		}
		if inComment {
			end := strings.Index(text, "-->")
			if end < 0 {
				continue
			}
			text, inComment = text[end+3:], false
		}
		text = comment.ReplaceAllString(text, "")
		if i := strings.Index(text, "<!--"); i >= 0 {
			text, inComment = text[:i], true
		}
		out = append(out, line{n, text})
	}
	return out, sc.Err()
}

// linksOf lists the link targets of one line of prose, code spans left out.
func linksOf(text string) []string {
	text = codeSpan.ReplaceAllString(text, "")
	var out []string
	for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
		out = append(out, strings.Trim(m[1], "<>"))
	}
	if m := refDef.FindStringSubmatch(text); m != nil {
		out = append(out, strings.Trim(m[1], "<>"))
	}
	for _, m := range htmlAttr.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkLink says what is wrong with link in file f, or "".
func checkLink(root, f, link string, anchors map[string]map[string]bool) string {
	if link == "" || scheme.MatchString(link) {
		return ""
	}
	target, frag, _ := strings.Cut(link, "#")
	if i := strings.Index(target, "?"); i >= 0 {
		target = target[:i]
	}
	if t, err := url.PathUnescape(target); err == nil {
		target = t
	}
	rel := f
	switch {
	case strings.HasPrefix(target, "/"):
		rel = filepath.Clean(strings.TrimPrefix(target, "/"))
	case target != "":
		rel = filepath.Join(filepath.Dir(f), target)
	}
	fi, err := os.Stat(filepath.Join(root, rel))
	if err != nil {
		return "no such file or directory"
	}
	if frag == "" || fi.IsDir() || !strings.HasSuffix(rel, ".md") {
		return "" // GitHub's anchors of other files (#L10) are not headings
	}
	if anchors[rel] == nil {
		anchors[rel] = headingAnchors(filepath.Join(root, rel))
	}
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if !anchors[rel][strings.ToLower(frag)] {
		return "no heading with that anchor in " + filepath.ToSlash(rel)
	}
	return ""
}

var (
	atxHeading    = regexp.MustCompile(`^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$`)
	setextLine    = regexp.MustCompile(`^ {0,3}(?:=+|-+)\s*$`)
	htmlAnchor    = regexp.MustCompile(`(?i)<a\s[^>]*(?:name|id)\s*=\s*["']([^"']+)["']`)
	headingLink   = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	headingTag    = regexp.MustCompile(`<[^>]+>`)
	listOrQuoteRe = regexp.MustCompile(`^\s*(?:[-*+>]|\d+[.)])\s`)
)

// headingAnchors are the anchors GitHub gives the headings of a Markdown file (and
// its explicit <a name|id> anchors).
func headingAnchors(path string) map[string]bool {
	out := map[string]bool{}
	lines, err := proseLines(path)
	if err != nil {
		return out
	}
	count := map[string]int{}
	add := func(heading string) {
		s := slug(heading)
		if n := count[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		count[s]++
	}
	for i, l := range lines {
		for _, m := range htmlAnchor.FindAllStringSubmatch(l.text, -1) {
			out[strings.ToLower(m[1])] = true
		}
		if m := atxHeading.FindStringSubmatch(l.text); m != nil && strings.HasPrefix(strings.TrimSpace(l.text), "#") {
			add(m[1])
			continue
		}
		// A setext heading: a paragraph line underlined with === or ---.
		if i+1 < len(lines) && lines[i+1].n == l.n+1 && setextLine.MatchString(lines[i+1].text) &&
			strings.TrimSpace(l.text) != "" && !listOrQuoteRe.MatchString(l.text) && !strings.Contains(l.text, "|") &&
			!setextLine.MatchString(l.text) && (i == 0 || strings.TrimSpace(lines[i-1].text) == "" || lines[i-1].n != l.n-1) {
			add(l.text)
		}
	}
	return out
}

// slug is GitHub's anchor of a heading: its text as rendered (links by their text,
// no code marks, tags or emphasis), lower case, spaces to dashes, and punctuation
// other than - and _ dropped.
func slug(heading string) string {
	h := headingLink.ReplaceAllString(heading, "$1")
	h = headingTag.ReplaceAllString(h, "")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
