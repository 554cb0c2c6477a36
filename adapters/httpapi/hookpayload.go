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
	r := fieldReader{obj: v}
	p := hookPayload{
		ObjectKind:  r.str("object_kind"),
		ProjectID:   r.int("project_id"),
		GroupID:     r.int("group_id"),
		Ref:         r.str("ref"),
		BuildID:     r.int("build_id"),
		BuildStatus: r.str("build_status"),
		Tags:        r.strs("tags"),
	}
	if proj := r.object("project"); proj != nil {
		pr := fieldReader{obj: proj, path: "project."}
		p.Project = &hookProject{ID: pr.int("id"), WebURL: pr.str("web_url"), Homepage: pr.str("homepage"), NamespaceID: pr.int("namespace_id")}
		r.err = pr.firstErr(r.err)
	}
	if repo := r.object("repository"); repo != nil {
		rr := fieldReader{obj: repo, path: "repository."}
		p.Repository = &hookRepository{Homepage: rr.str("homepage"), GitHTTPURL: rr.str("git_http_url")}
		r.err = rr.firstErr(r.err)
	}
	return p, r.err
}

// fieldReader reads typed fields of one object, keeping the first type error.
type fieldReader struct {
	obj  *fastjson.Value
	path string
	err  error
}

func (r *fieldReader) firstErr(err error) error {
	if err != nil {
		return err
	}
	return r.err
}

// get returns the field, or nil when it is absent or null.
func (r *fieldReader) get(key string, want fastjson.Type) *fastjson.Value {
	v := r.obj.Get(key)
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	if v.Type() != want && r.err == nil {
		r.err = fmt.Errorf("%s%s is a JSON %s, want %s", r.path, key, v.Type(), want)
	}
	if v.Type() != want {
		return nil
	}
	return v
}

func (r *fieldReader) str(key string) string {
	v := r.get(key, fastjson.TypeString)
	if v == nil {
		return ""
	}
	b, _ := v.StringBytes() // the type is checked
	return string(b)
}

func (r *fieldReader) int(key string) int64 {
	v := r.get(key, fastjson.TypeNumber)
	if v == nil {
		return 0
	}
	// Integer literals only, as encoding/json reads an int64: 1e3 and 1.0
	// are refused.
	n, err := v.Int64()
	if err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("%s%s is %s, want an integer", r.path, key, v)
		}
		return 0
	}
	return n
}

func (r *fieldReader) strs(key string) []string {
	v := r.get(key, fastjson.TypeArray)
	if v == nil {
		return nil
	}
	items, _ := v.Array() // the type is checked
	out := make([]string, 0, len(items))
	for i, it := range items {
		b, err := it.StringBytes()
		if err != nil {
			if r.err == nil {
				r.err = fmt.Errorf("%s%s[%d] is a JSON %s, want string", r.path, key, i, it.Type())
			}
			return nil
		}
		out = append(out, string(b))
	}
	return out
}

func (r *fieldReader) object(key string) *fastjson.Value {
	return r.get(key, fastjson.TypeObject)
}
