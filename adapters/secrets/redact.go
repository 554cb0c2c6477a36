package secrets

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// MinRedacted is the shortest value the log handler redacts: shorter
// values (a "1", a "true") would blank unrelated words of every line.
const MinRedacted = 6

// maxRedactions bounds the values remembered; past it the oldest URI's
// values are dropped (a process resolving that many secrets is unusual).
const maxRedactions = 4096

// Redacted replaces a secret value in a log line.
const Redacted = "[REDACTED]"

// Redactions is the set of secret values this process resolved, for
// RedactingHandler: defence in depth behind the rule that values are
// never logged. A rotated secret's previous value stays in the set.
type Redactions struct {
	mu     sync.RWMutex
	byURI  map[string][]string
	order  []string
	values map[string]int // value -> URIs holding it

	replacer atomic.Pointer[strings.Replacer] // nil: nothing to redact
}

// NewRedactions returns an empty set.
func NewRedactions() *Redactions {
	return &Redactions{byURI: map[string][]string{}, values: map[string]int{}}
}

// Add remembers value, resolved from uri. A nil set ignores it.
func (r *Redactions) Add(uri string, value []byte) {
	if r == nil {
		return
	}
	v := strings.TrimSpace(string(value))
	if len(v) < MinRedacted || r.holds(uri, v) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	held := r.byURI[uri]
	if slices.Contains(held, v) {
		return
	}
	if held == nil {
		r.order = append(r.order, uri)
	}
	r.byURI[uri] = append(held, v)
	r.values[v]++
	for len(r.order) > maxRedactions {
		old := r.order[0]
		r.order = r.order[1:]
		for _, h := range r.byURI[old] {
			if r.values[h]--; r.values[h] <= 0 {
				delete(r.values, h)
			}
		}
		delete(r.byURI, old)
	}
	pairs := make([]string, 0, 2*len(r.values))
	for v := range r.values {
		pairs = append(pairs, v, Redacted)
	}
	r.replacer.Store(strings.NewReplacer(pairs...))
}

// holds reports whether uri's value v is remembered already: the common
// case (env:// and file:// secrets are read, and so added, at every
// webhook) takes a shared lock only.
func (r *Redactions) holds(uri, v string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Contains(r.byURI[uri], v)
}

// Redact returns s with every remembered value replaced.
func (r *Redactions) Redact(s string) string {
	if r == nil {
		return s
	}
	rep := r.replacer.Load()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// RedactingHandler wraps h: every remembered secret value in a record's
// message or attributes (strings, errors, anything formatted) is replaced
// by [REDACTED] before h sees it.
func RedactingHandler(h slog.Handler, r *Redactions) slog.Handler {
	return &redactingHandler{next: h, r: r}
}

type redactingHandler struct {
	next slog.Handler
	r    *Redactions
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	if h.r.replacer.Load() == nil {
		return h.next.Handle(ctx, rec)
	}
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &redactingHandler{next: h.next.WithAttrs(red), r: h.r}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name), r: h.r}
}

// attr redacts one attribute: strings directly, groups member by member,
// anything else (errors, Stringers, structs) through its formatted text
// when that text holds a value.
func (h *redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, m := range g {
			out[i] = h.attr(m)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		s := v.String()
		if red := h.r.Redact(s); red != s {
			return slog.String(a.Key, red)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
