package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Upcaster turns the payload of one event type into the payload of its next
// version. It must be pure: the stored event never changes, only how it is read.
type Upcaster func(payload json.RawMessage) (json.RawMessage, error)

type upcast struct {
	to string
	fn Upcaster
}

// Registry knows every event type by wire name and how to upcast old
// versions. It is built once (NewRegistry) and passed to whoever decodes.
type Registry struct {
	types    map[string]reflect.Type
	upcasts  map[string]upcast
	ordering []string
}

// NewEmptyRegistry returns a registry without types; NewRegistry is the one
// the product uses. Tests use this to build registries for upcasting cases.
func NewEmptyRegistry() *Registry {
	return &Registry{types: map[string]reflect.Type{}, upcasts: map[string]upcast{}}
}

// Register adds the type of sample under sample.EventName(). The name must
// end in a version suffix (".v1", ".v2", ...) and may be registered once.
func (r *Registry) Register(sample Event) error {
	name := sample.EventName()
	if _, err := splitVersion(name); err != nil {
		return err
	}
	if _, dup := r.types[name]; dup {
		return fmt.Errorf("events: %q registered twice", name)
	}
	t := reflect.TypeOf(sample)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	r.types[name] = t
	r.ordering = append(r.ordering, name)
	return nil
}

// RegisterUpcaster declares that events stored as from are read as to, after
// fn rewrites their payload. to must be the next version of the same name.
func (r *Registry) RegisterUpcaster(from, to string, fn Upcaster) error {
	fv, err := splitVersion(from)
	if err != nil {
		return err
	}
	tv, err := splitVersion(to)
	if err != nil {
		return err
	}
	if baseName(from) != baseName(to) || tv != fv+1 {
		return fmt.Errorf("events: upcaster %q -> %q must go to the next version of the same name", from, to)
	}
	if _, dup := r.upcasts[from]; dup {
		return fmt.Errorf("events: upcaster from %q registered twice", from)
	}
	r.upcasts[from] = upcast{to: to, fn: fn}
	return nil
}

// Names returns every registered wire name, sorted.
func (r *Registry) Names() []string {
	out := append([]string(nil), r.ordering...)
	sort.Strings(out)
	return out
}

// Known reports whether name can be decoded, directly or by upcasting.
func (r *Registry) Known(name string) bool {
	for range 64 {
		if _, ok := r.types[name]; ok {
			return true
		}
		u, ok := r.upcasts[name]
		if !ok {
			return false
		}
		name = u.to
	}
	return false
}

// New returns a pointer to a zero payload of the named type.
func (r *Registry) New(name string) (Event, error) {
	t, ok := r.types[name]
	if !ok {
		return nil, &UnknownTypeError{Type: name}
	}
	ev, ok := reflect.New(t).Interface().(Event)
	if !ok {
		return nil, fmt.Errorf("events: %s does not implement Event on its pointer", t)
	}
	return ev, nil
}

func splitVersion(name string) (int, error) {
	i := strings.LastIndex(name, ".v")
	if i <= 0 {
		return 0, fmt.Errorf("events: name %q has no version suffix", name)
	}
	var v int
	if _, err := fmt.Sscanf(name[i+2:], "%d", &v); err != nil || v < 1 || fmt.Sprint(v) != name[i+2:] {
		return 0, fmt.Errorf("events: name %q has a bad version suffix", name)
	}
	return v, nil
}

func baseName(name string) string { return name[:strings.LastIndex(name, ".v")] }
