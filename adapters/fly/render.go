package fly

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/mitchellh/go-wordwrap"
)

// Bounds of what a diagnostic prints or records: a hostile file can hold
// values of megabytes and terminal escape sequences.
const (
	// MaxQuotedValue is how many bytes of a value a diagnostic quotes;
	// a longer value is cut and followed by "… (N bytes)".
	MaxQuotedValue = 100
	// MaxSummary and MaxDetail bound a diagnostic's texts, in bytes.
	MaxSummary = 200
	MaxDetail  = 1000
	// maxSnippetLines and maxSnippetWidth bound the source a diagnostic
	// shows: lines of its range, and bytes of each line around the range.
	maxSnippetLines = 5
	maxSnippetWidth = 160
	snippetBefore   = 40 // bytes shown before the range on a cut line
)

// quoteValue is a value as a diagnostic quotes it: a Go string literal of
// at most MaxQuotedValue bytes of it, then "… (N bytes)" when it was cut.
func quoteValue(s string) string {
	if len(s) <= MaxQuotedValue {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", cutUTF8(s, MaxQuotedValue), len(s))
}

// cutUTF8 returns at most n bytes of s, not splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// boundText cuts s to max bytes, saying how long it was.
func boundText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return cutUTF8(s, max) + fmt.Sprintf("… (%d bytes)", len(s))
}

// boundDiagnostic bounds a diagnostic's texts in place: every quoted value
// (shortenQuoted), then the whole text.
func boundDiagnostic(d *hcl.Diagnostic) {
	d.Summary = boundText(shortenQuoted(d.Summary), MaxSummary)
	d.Detail = boundText(shortenQuoted(d.Detail), MaxDetail)
}

// shortenQuoted cuts every double-quoted string of s (a value quoted with
// %q, by us, package domain or HCL) longer than MaxQuotedValue bytes, as
// quoteValue does.
func shortenQuoted(s string) string {
	if len(s) <= MaxQuotedValue+2 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			break // not closed
		}
		if n := j - i - 1; n > MaxQuotedValue {
			cut := i + 1 + len(cutUTF8(s[i+1:j], MaxQuotedValue))
			if k := strings.LastIndexByte(s[cut-min(10, cut-i-1):cut], '\\'); k >= 0 {
				cut -= min(10, cut-i-1) - k // not inside an escape
			}
			b.WriteString(s[last:cut])
			fmt.Fprintf(&b, `"… (%d bytes)`, n)
			last = j + 1
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// escapeControls makes s safe to print on a terminal: control characters
// (C0 but tab and, with keepNewlines, newline; DEL; C1), bidirectional
// overrides and invalid UTF-8 are shown as Go escapes (\x1b, \u009b).
func escapeControls(s string, keepNewlines bool) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r, keepNewlines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r, keepNewlines):
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unsafeRune(r rune, keepNewlines bool) bool {
	switch {
	case r == '\t', r == '\n' && keepNewlines:
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == utf8.RuneError:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		return true // bidirectional overrides
	}
	return false
}

// WriteDiagnosticsText renders diagnostics as compilers print them, one
// line each that editors and terminals jump to:
//
//	FILE:LINE:COL: error: SUMMARY: DETAIL
//
// ("warning" for a warning; COL counts characters from 1, as HCL does; a
// diagnostic without a position starts at "error:"). The first line of the
// detail is on that line; further lines of it follow indented by four
// spaces (wrapped at width, 0: no wrapping; the first line never is). Then,
// when the file is in files (Parser.Files), the source lines of the range
// (at most 5, each cut to 160 bytes around the range) with the start line's
// part of the range marked by carets, and a blank line. Control characters,
// bidi overrides and invalid UTF-8 of the file, the name and the texts are
// printed escaped; each line is found without scanning the file from its
// start. color adds terminal colors (the severity, the highlighted range).
func WriteDiagnosticsText(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) error {
	bw := bufio.NewWriter(w)
	for _, d := range diags {
		writeDiagnostic(bw, files, d, width, color)
	}
	return bw.Flush()
}

func writeDiagnostic(w *bufio.Writer, files map[string]*hcl.File, d *hcl.Diagnostic, width uint, color bool) {
	sev, colorCode, bold, highlight, reset := "error", "", "", "", ""
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	if color {
		colorCode, bold, highlight, reset = "\x1b[1;31m", "\x1b[1m", "\x1b[1;4m", "\x1b[0m"
		if d.Severity == hcl.DiagWarning {
			colorCode = "\x1b[1;33m"
		}
	}
	if d.Subject != nil {
		fmt.Fprintf(w, "%s%s:%d:%d:%s ", bold, escapeControls(d.Subject.Filename, false), d.Subject.Start.Line, d.Subject.Start.Column, reset)
	}
	fmt.Fprintf(w, "%s%s:%s %s", colorCode, sev, reset, escapeControls(boundText(d.Summary, MaxSummary), false))
	first, rest, _ := strings.Cut(escapeControls(boundText(d.Detail, MaxDetail), true), "\n")
	if first != "" {
		w.WriteString(": " + first)
	}
	w.WriteByte('\n')
	if rest != "" {
		if width > 8 {
			rest = wordwrap.WrapString(rest, width-4)
		}
		for _, l := range strings.Split(rest, "\n") {
			if l = strings.TrimRight(l, " "); l != "" {
				w.WriteString("    " + l)
			}
			w.WriteByte('\n')
		}
	}
	if d.Subject != nil {
		if file := files[d.Subject.Filename]; file != nil && file.Bytes != nil {
			writeSnippet(w, file.Bytes, *d.Subject, highlight, reset)
		}
	}
	w.WriteByte('\n')
}

// writeSnippet prints the lines of rng (at most maxSnippetLines), each cut
// to a window around the range, with the range highlighted.
func writeSnippet(w *bufio.Writer, src []byte, rng hcl.Range, highlight, reset string) {
	start, end := rng.Start.Byte, rng.End.Byte
	if start < 0 || start > len(src) {
		return
	}
	end = max(min(end, len(src)), start)
	if end == start && end < len(src) && src[end] != '\n' {
		end++ // an empty range shows as its first character, as HCL shows it
	}
	// The start of the first line, looking back at most a window's width.
	from := start
	for from > 0 && src[from-1] != '\n' && start-from < snippetBefore {
		from--
	}
	cutBefore := from > 0 && src[from-1] != '\n'
	line := rng.Start.Line
	for n := 0; n < maxSnippetLines; n++ {
		// The end of this line (memchr: cheap even on a long line).
		eol := len(src)
		if i := bytes.IndexByte(src[from:], '\n'); i >= 0 {
			eol = from + i
		}
		to, cutAfter := eol, false
		if to > from && src[to-1] == '\r' {
			to-- // a CRLF line ending is not shown
		}
		if to-from > maxSnippetWidth {
			to, cutAfter = from+maxSnippetWidth, true
			for to > from && to < len(src) && !utf8.RuneStart(src[to]) {
				to--
			}
		}
		for from < to && !utf8.RuneStart(src[from]) {
			from++
		}
		hs, he := max(start, from), min(end, to)
		var b strings.Builder
		gutter := fmt.Sprintf("%4d: ", line)
		b.WriteString(gutter)
		if cutBefore {
			b.WriteString("…")
		}
		var before, marked string
		if hs < he {
			before, marked = escapeControls(string(src[from:hs]), false), escapeControls(string(src[hs:he]), false)
			b.WriteString(before + highlight + marked + reset)
			b.WriteString(escapeControls(string(src[he:to]), false))
		} else {
			before = escapeControls(string(src[from:min(max(hs, from), to)]), false)
			b.WriteString(escapeControls(string(src[from:to]), false))
		}
		if cutAfter {
			b.WriteString("…")
		}
		b.WriteByte('\n')
		if n == 0 {
			// Carets under the start line's part of the range: as many
			// columns in as what precedes it, tabs kept so they line up.
			b.WriteString(strings.Repeat(" ", len(gutter)))
			if cutBefore {
				b.WriteByte(' ')
			}
			for _, r := range before {
				if r == '\t' {
					b.WriteByte('\t')
				} else {
					b.WriteByte(' ')
				}
			}
			b.WriteString(highlight + strings.Repeat("^", max(1, utf8.RuneCountInString(marked))) + reset + "\n")
		}
		w.WriteString(b.String())
		if eol >= len(src) || eol+1 >= end {
			return
		}
		from, cutBefore, line = eol+1, false, line+1
	}
	if rng.End.Line > line {
		fmt.Fprintf(w, "      … (%d more lines)\n", rng.End.Line-line)
	}
}
