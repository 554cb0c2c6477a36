package httpapi

import (
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// parseHookPayload reads the fields of a GitLab webhook body we act on, in
// one pass over the body that allocates only the strings it keeps. It is
// held to encoding/json (json.Unmarshal(body, &hookPayload{})), which
// FuzzWebhook checks on every body it is given:
//
//   - the same bodies are refused: anything that is not one JSON value
//     (RFC 8259 as encoding/json's scanner reads it: raw control characters
//     in strings, bad escapes, leading zeros, trailing data, a byte order
//     mark, nesting deeper than 10,000), a top-level value that is not an
//     object or null, and a field of the wrong type (an id that is not an
//     integer literal within int64, a string field that is no string, ...);
//   - the same values are read: keys match field names case-insensitively
//     (Unicode simple folding, so "OBJECT_KIND" and a Kelvin sign for k
//     count), a repeated key is decoded again over the earlier value (into
//     the same project object, into the same tags slice), null leaves a
//     string or number as it was and clears tags or an object, and strings
//     are unescaped with invalid UTF-8 and lone surrogates replaced by
//     U+FFFD.
//
// The work is linear in the body's length; nesting is bounded (maxDepth) and
// the recursion with it.
func parseHookPayload(body []byte) (hookPayload, error) {
	d := hookDecoder{data: body}
	var p hookPayload
	d.ws()
	switch {
	case d.off < len(d.data) && d.data[d.off] == '{':
		d.object(1, func(key []byte, depth int) { d.hookField(&p, key, depth) })
	case d.off < len(d.data) && d.data[d.off] == 'n':
		d.value(1) // null is no object and no error, as in encoding/json
	default:
		kind := d.kind()
		d.value(1)
		if d.err == nil {
			d.err = fmt.Errorf("the body is a JSON %s, not an object", kind)
		}
	}
	d.ws()
	if d.err == nil && d.off < len(d.data) {
		d.syntax("after the top-level value")
	}
	if d.err != nil {
		return hookPayload{}, d.err
	}
	return p, nil
}

// maxDepth is encoding/json's nesting limit: deeper bodies are refused.
const maxDepth = 10000

// hookDecoder is a strict JSON reader over one body. The first error stops
// it: every method returns at once once err is set.
type hookDecoder struct {
	data    []byte
	off     int
	err     error
	scratch []byte // unescaped keys
}

func (d *hookDecoder) syntax(what string) {
	if d.err != nil {
		return
	}
	if d.off >= len(d.data) {
		d.err = fmt.Errorf("unexpected end of JSON input %s", what)
		return
	}
	d.err = fmt.Errorf("invalid character %q %s at offset %d", d.data[d.off], what, d.off)
}

func (d *hookDecoder) mistyped(path, key string, got string, want string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s%s is a JSON %s, want %s", path, key, got, want)
	}
}

// ws skips JSON whitespace: space, tab, newline and carriage return only.
func (d *hookDecoder) ws() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\n', '\r':
			d.off++
		default:
			return
		}
	}
}

// kind names the JSON type of the value at off, for type errors.
func (d *hookDecoder) kind() string {
	if d.off >= len(d.data) {
		return "nothing"
	}
	switch c := d.data[d.off]; {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "number"
	}
	return "value"
}

// value checks and skips one value whose containers, if it is one, are at
// nesting depth. It keeps its own stack (of open brackets) rather than
// recursing, so a deeply nested body costs a byte per level, not a frame.
func (d *hookDecoder) value(depth int) {
	var open []byte // the open containers, '{' or '['
	for d.err == nil {
		// A value is expected at off.
		if d.off >= len(d.data) {
			d.syntax("looking for the beginning of a value")
			return
		}
		switch c := d.data[d.off]; {
		case c == '{' || c == '[':
			if depth+len(open) > maxDepth {
				d.err = fmt.Errorf("the body nests deeper than %d at offset %d", maxDepth, d.off)
				return
			}
			open = append(open, c)
			d.off++
			d.ws()
			if d.off < len(d.data) && d.data[d.off] == c+2 { // } or ]
				d.off++
				open = open[:len(open)-1]
				break
			}
			if c == '{' {
				d.key()
			}
			continue
		case c == '"':
			d.str()
		case c == '-' || '0' <= c && c <= '9':
			d.number()
		case c == 't':
			d.literal("true")
		case c == 'f':
			d.literal("false")
		case c == 'n':
			d.literal("null")
		default:
			d.syntax("looking for the beginning of a value")
		}
		// A value ended: close what it ends, or go on to the next one.
		for d.err == nil {
			if len(open) == 0 {
				return
			}
			d.ws()
			top := open[len(open)-1]
			if d.off < len(d.data) && d.data[d.off] == ',' {
				d.off++
				d.ws()
				if top == '{' {
					d.key()
				}
				break
			}
			if d.off < len(d.data) && d.data[d.off] == top+2 {
				d.off++
				open = open[:len(open)-1]
				continue
			}
			if top == '{' {
				d.syntax("after an object value")
			} else {
				d.syntax("after an array element")
			}
		}
	}
}

// key reads an object key and its colon, leaving off at the value.
func (d *hookDecoder) key() {
	if d.off >= len(d.data) || d.data[d.off] != '"' {
		d.syntax("looking for the beginning of an object key")
		return
	}
	d.str()
	d.ws()
	if d.err == nil && (d.off >= len(d.data) || d.data[d.off] != ':') {
		d.syntax("after an object key")
		return
	}
	d.off++
	d.ws()
}

func (d *hookDecoder) literal(lit string) {
	for i := 0; i < len(lit); i++ {
		if d.off >= len(d.data) || d.data[d.off] != lit[i] {
			d.syntax("in literal " + lit)
			return
		}
		d.off++
	}
}

// object reads the object at off (at nesting depth), calling field with
// each key (unescaped; valid until the next call) and off at its value,
// which field must read or skip.
func (d *hookDecoder) object(depth int, field func(key []byte, depth int)) {
	if depth > maxDepth {
		d.err = fmt.Errorf("the body nests deeper than %d at offset %d", maxDepth, d.off)
		return
	}
	d.off++ // {
	d.ws()
	if d.off < len(d.data) && d.data[d.off] == '}' {
		d.off++
		return
	}
	for d.err == nil {
		if d.off >= len(d.data) || d.data[d.off] != '"' {
			d.syntax("looking for the beginning of an object key")
			return
		}
		raw, plain := d.str()
		if d.err != nil {
			return
		}
		key := raw
		if !plain {
			d.scratch = unquote(d.scratch[:0], raw)
			key = d.scratch
		}
		d.ws()
		if d.off >= len(d.data) || d.data[d.off] != ':' {
			d.syntax("after an object key")
			return
		}
		d.off++
		d.ws()
		field(key, depth+1)
		if d.err != nil {
			return
		}
		d.ws()
		if d.off < len(d.data) && d.data[d.off] == ',' {
			d.off++
			d.ws()
			continue
		}
		if d.off < len(d.data) && d.data[d.off] == '}' {
			d.off++
			return
		}
		d.syntax("after an object value")
	}
}

// array reads the array at off, calling elem with off at each element.
func (d *hookDecoder) array(depth int, elem func(depth int)) {
	if depth > maxDepth {
		d.err = fmt.Errorf("the body nests deeper than %d at offset %d", maxDepth, d.off)
		return
	}
	d.off++ // [
	d.ws()
	if d.off < len(d.data) && d.data[d.off] == ']' {
		d.off++
		return
	}
	for d.err == nil {
		elem(depth + 1)
		if d.err != nil {
			return
		}
		d.ws()
		if d.off < len(d.data) && d.data[d.off] == ',' {
			d.off++
			d.ws()
			continue
		}
		if d.off < len(d.data) && d.data[d.off] == ']' {
			d.off++
			return
		}
		d.syntax("after an array element")
	}
}

// str checks the string at off and returns its bytes between the quotes;
// plain reports that they need no unquoting (no escape, valid UTF-8).
func (d *hookDecoder) str() (raw []byte, plain bool) {
	d.off++ // "
	start := d.off
	plain, ascii := true, true
	for d.off < len(d.data) {
		c := d.data[d.off]
		switch {
		case c == '"':
			raw = d.data[start:d.off]
			d.off++
			if !ascii && plain {
				plain = utf8.Valid(raw)
			}
			return raw, plain
		case c == '\\':
			plain = false
			d.off++
			if d.off >= len(d.data) {
				d.syntax("in a string escape")
				return nil, false
			}
			switch d.data[d.off] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.off++
			case 'u':
				d.off++
				for range 4 {
					if d.off >= len(d.data) || unhex(d.data[d.off]) < 0 {
						d.syntax("in a \\u escape")
						return nil, false
					}
					d.off++
				}
			default:
				d.syntax("in a string escape")
				return nil, false
			}
		case c < 0x20:
			d.syntax("in a string literal")
			return nil, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			d.off++
		}
	}
	d.syntax("in a string literal")
	return nil, false
}

// number checks the number at off and returns its text:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *hookDecoder) number() []byte {
	start := d.off
	digits := func() bool {
		n := d.off
		for d.off < len(d.data) && '0' <= d.data[d.off] && d.data[d.off] <= '9' {
			d.off++
		}
		return d.off > n
	}
	if d.data[d.off] == '-' {
		d.off++
	}
	switch {
	case d.off < len(d.data) && d.data[d.off] == '0':
		d.off++
	case !digits():
		d.syntax("in numeric literal")
		return nil
	}
	if d.off < len(d.data) && d.data[d.off] == '.' {
		d.off++
		if !digits() {
			d.syntax("after decimal point in numeric literal")
			return nil
		}
	}
	if d.off < len(d.data) && (d.data[d.off] == 'e' || d.data[d.off] == 'E') {
		d.off++
		if d.off < len(d.data) && (d.data[d.off] == '+' || d.data[d.off] == '-') {
			d.off++
		}
		if !digits() {
			d.syntax("in exponent of numeric literal")
			return nil
		}
	}
	return d.data[start:d.off]
}

// hookField decodes the top-level field key into p, or skips it.
func (d *hookDecoder) hookField(p *hookPayload, key []byte, depth int) {
	var folded [maxFieldName]byte
	switch name, _ := foldKey(folded[:0], key); string(name) {
	case "OBJECT_KIND":
		d.strField(&p.ObjectKind, "", "object_kind")
	case "PROJECT_ID":
		d.intField(&p.ProjectID, "", "project_id")
	case "GROUP_ID":
		d.intField(&p.GroupID, "", "group_id")
	case "REF":
		d.strField(&p.Ref, "", "ref")
	case "BUILD_ID":
		d.intField(&p.BuildID, "", "build_id")
	case "BUILD_STATUS":
		d.strField(&p.BuildStatus, "", "build_status")
	case "TAGS":
		d.strsField(&p.Tags, depth, "tags")
	case "PROJECT":
		if d.objField("project", func() { p.Project = nil }) {
			if p.Project == nil {
				p.Project = new(hookProject)
			}
			pr := p.Project
			d.object(depth, func(key []byte, depth int) {
				var folded [maxFieldName]byte
				switch name, _ := foldKey(folded[:0], key); string(name) {
				case "ID":
					d.intField(&pr.ID, "project.", "id")
				case "WEB_URL":
					d.strField(&pr.WebURL, "project.", "web_url")
				case "HOMEPAGE":
					d.strField(&pr.Homepage, "project.", "homepage")
				case "NAMESPACE_ID":
					d.intField(&pr.NamespaceID, "project.", "namespace_id")
				default:
					d.value(depth)
				}
			})
		}
	case "REPOSITORY":
		if d.objField("repository", func() { p.Repository = nil }) {
			if p.Repository == nil {
				p.Repository = new(hookRepository)
			}
			re := p.Repository
			d.object(depth, func(key []byte, depth int) {
				var folded [maxFieldName]byte
				switch name, _ := foldKey(folded[:0], key); string(name) {
				case "HOMEPAGE":
					d.strField(&re.Homepage, "repository.", "homepage")
				case "GIT_HTTP_URL":
					d.strField(&re.GitHTTPURL, "repository.", "git_http_url")
				default:
					d.value(depth)
				}
			})
		}
	default:
		d.value(depth)
	}
}

// strField reads a string into *dst; null leaves it as it was.
func (d *hookDecoder) strField(dst *string, path, key string) {
	switch d.kind() {
	case "string":
		raw, plain := d.str()
		if d.err == nil {
			*dst = decodeString(raw, plain)
		}
	case "null":
		d.literal("null")
	default:
		d.mistyped(path, key, d.kind(), "string")
	}
}

// intField reads an integer literal within int64 into *dst; null leaves it
// as it was. 1.0, 1e3 and 2^63 are refused, as encoding/json refuses them.
func (d *hookDecoder) intField(dst *int64, path, key string) {
	switch d.kind() {
	case "number":
		num := d.number()
		if d.err != nil {
			return
		}
		n, ok := parseInt64(num)
		if !ok {
			if d.err == nil {
				d.err = fmt.Errorf("%s%s is %s, want an integer", path, key, num)
			}
			return
		}
		*dst = n
	case "null":
		d.literal("null")
	default:
		d.mistyped(path, key, d.kind(), "an integer")
	}
}

// strsField reads an array of strings into *dst the way encoding/json
// decodes into a slice: element i overwrites (*dst)[i] in place (a null
// element leaves what was there: "" for a new element, an earlier value of a
// repeated key otherwise), the slice is then cut to the array's length, and
// an empty array is an empty, non-nil slice. null sets it to nil.
func (d *hookDecoder) strsField(dst *[]string, depth int, key string) {
	switch d.kind() {
	case "array":
	case "null":
		d.literal("null")
		*dst = nil
		return
	default:
		d.mistyped("", key, d.kind(), "array")
		return
	}
	s := *dst
	i := 0
	d.array(depth, func(int) {
		switch {
		case i >= cap(s):
			s = append(s, "")
		case i >= len(s):
			s = s[:i+1]
		}
		switch d.kind() {
		case "string":
			raw, plain := d.str()
			if d.err == nil {
				s[i] = decodeString(raw, plain)
			}
		case "null":
			d.literal("null")
		default:
			d.mistyped("", fmt.Sprintf("%s[%d]", key, i), d.kind(), "string")
		}
		i++
	})
	if d.err != nil {
		return
	}
	if i == 0 {
		s = []string{}
	}
	*dst = s[:i]
}

// objField checks that the value at off is an object (true: the caller reads
// it) or null (clear is called); anything else is a type error.
func (d *hookDecoder) objField(key string, clear func()) bool {
	switch d.kind() {
	case "object":
		return true
	case "null":
		d.literal("null")
		clear()
	default:
		d.mistyped("", key, d.kind(), "object")
	}
	return false
}

// maxFieldName bounds folded keys: no field name is longer ("GIT_HTTP_URL").
const maxFieldName = 12

// foldKey appends key folded as encoding/json folds names (ASCII letters
// upper-cased, other runes to the smallest rune of their simple fold set),
// giving up (false) once it is longer than any field name.
func foldKey(out, key []byte) ([]byte, bool) {
	for i := 0; i < len(key); {
		if len(out) >= maxFieldName {
			return out[:0], false
		}
		c := key[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(key[i:])
		r = foldRune(r)
		if utf8.RuneLen(r) > maxFieldName-len(out) {
			return out[:0], false
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out, true
}

// foldRune returns the smallest rune of r's simple fold set (encoding/json's).
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// decodeString returns the string of raw (a string literal's bytes between
// the quotes, checked by str), unquoted unless plain.
func decodeString(raw []byte, plain bool) string {
	if plain {
		return string(raw)
	}
	return string(unquote(make([]byte, 0, len(raw)), raw))
}

// unquote appends the unescaped raw (checked by str) to out as encoding/json
// unquotes: a surrogate pair escape is one rune, a lone surrogate escape and
// each byte of invalid UTF-8 become U+FFFD.
func unquote(out, raw []byte) []byte {
	for r := 0; r < len(raw); {
		c := raw[r]
		switch {
		case c == '\\':
			switch raw[r+1] {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr := getu4(raw[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(raw[r:])); dec != unicode.ReplacementChar {
						out = utf8.AppendRune(out, dec)
						r += 6
						continue
					}
					rr = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, rr)
				continue
			default: // " \ /
				out = append(out, raw[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			r++
		default:
			rr, size := utf8.DecodeRune(raw[r:])
			out = utf8.AppendRune(out, rr)
			r += size
		}
	}
	return out
}

// getu4 reads the \uXXXX escape at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		h := unhex(c)
		if h < 0 {
			return -1
		}
		r = r*16 + h
	}
	return r
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

// parseInt64 reads a JSON number (checked by number) as strconv.ParseInt
// does: an integer literal within int64, "-0" included.
func parseInt64(num []byte) (int64, bool) {
	neg := num[0] == '-'
	if neg {
		num = num[1:]
	}
	const limit = 1 << 63 // |math.MinInt64|
	var n uint64
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false // a fraction or an exponent
		}
		if n > limit/10 {
			return 0, false
		}
		if n = n*10 + uint64(c-'0'); n > limit {
			return 0, false
		}
	}
	switch {
	case neg:
		return -int64(n), true // -(1<<63) wraps to itself: MinInt64
	case n == limit:
		return 0, false
	}
	return int64(n), true
}
