package httpapi

import (
	"fmt"

	"github.com/valyala/fastjson"
)

// hookParsers reuse fastjson's parse buffers across requests. A Job Hook
// body is about 2 KiB of which we read eight fields; encoding/json spent
// half the handler's CPU validating and walking the rest by reflection.
// fastjson validates the whole body as strictly in one pass, and the
// fields are then read by name with their types checked here.
var hookParsers fastjson.ParserPool

// parseHookPayload reads the fields of a GitLab webhook body we act on. The
// body must be one JSON object; a field of the wrong type is an error, a
// missing or null one is its zero value, as with encoding/json.
func parseHookPayload(body []byte) (hookPayload, error) {
	parser := hookParsers.Get()
	defer hookParsers.Put(parser)
	v, err := parser.ParseBytes(body)
	if err != nil {
		return hookPayload{}, err
	}
	if v.Type() != fastjson.TypeObject {
		return hookPayload{}, fmt.Errorf("the body is a JSON %s, not an object", v.Type())
	}
	var fieldErr error
	r := fieldReader{obj: v, err: &fieldErr}
	p := hookPayload{
		ObjectKind:  r.str("object_kind"),
		ProjectID:   r.int("project_id"),
		GroupID:     r.int("group_id"),
		Ref:         r.str("ref"),
		BuildID:     r.int("build_id"),
		BuildStatus: r.str("build_status"),
		Tags:        r.strs("tags"),
	}
	if proj, ok := r.object("project"); ok {
		p.Project = &hookProject{ID: proj.int("id"), WebURL: proj.str("web_url"), Homepage: proj.str("homepage"), NamespaceID: proj.int("namespace_id")}
	}
	if repo, ok := r.object("repository"); ok {
		p.Repository = &hookRepository{Homepage: repo.str("homepage"), GitHTTPURL: repo.str("git_http_url")}
	}
	return p, fieldErr
}

// fieldReader reads typed fields of one object (at path in the body). The
// first type error, of this object or a nested one, is kept in *err.
type fieldReader struct {
	obj  *fastjson.Value
	path string
	err  *error
}

func (r fieldReader) fail(format string, args ...any) {
	if *r.err == nil {
		*r.err = fmt.Errorf("%s"+format, append([]any{r.path}, args...)...)
	}
}

// get returns the field, or nil when it is absent, null or of another type
// (which is recorded).
func (r fieldReader) get(key string, want fastjson.Type) *fastjson.Value {
	v := r.obj.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	if v.Type() != want {
		r.fail("%s is a JSON %s, want %s", key, v.Type(), want)
		return nil
	}
	return v
}

func (r fieldReader) str(key string) string {
	v := r.get(key, fastjson.TypeString)
	if v == nil {
		return ""
	}
	b, _ := v.StringBytes() // the type is checked
	return string(b)
}

func (r fieldReader) int(key string) int64 {
	v := r.get(key, fastjson.TypeNumber)
	if v == nil {
		return 0
	}
	// Integer literals only, as encoding/json reads an int64: 1e3 and 1.0
	// are refused.
	n, err := v.Int64()
	if err != nil {
		r.fail("%s is %s, want an integer", key, v)
		return 0
	}
	return n
}

func (r fieldReader) strs(key string) []string {
	v := r.get(key, fastjson.TypeArray)
	if v == nil {
		return nil
	}
	items, _ := v.Array() // the type is checked
	out := make([]string, 0, len(items))
	for i, it := range items {
		b, err := it.StringBytes()
		if err != nil {
			r.fail("%s[%d] is a JSON %s, want string", key, i, it.Type())
			return nil
		}
		out = append(out, string(b))
	}
	return out
}

// object returns a reader of the nested object key, sharing the error slot.
func (r fieldReader) object(key string) (fieldReader, bool) {
	v := r.get(key, fastjson.TypeObject)
	if v == nil {
		return fieldReader{}, false
	}
	return fieldReader{obj: v, path: r.path + key + ".", err: r.err}, true
}
