package fly

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/events"
)

// LoadNestFiles loads a Nest held in memory (path relative to the Nest root,
// '/'-separated -> content), for instance the .fly files of one Git commit,
// with the same placement and cross-file checks as LoadNest. Diagnostics
// name the files by those relative paths. Paths that are not .fly files or
// that lie under a hidden folder are ignored, as LoadNest ignores them.
func LoadNestFiles(ctx context.Context, files map[string][]byte) (*domain.Nest, *Parser, hcl.Diagnostics) {
	srcs := make(map[string]Source, len(files))
	for p, b := range files {
		srcs[p] = Source{Src: b}
	}
	return NewCache().Load(ctx, srcs)
}

// Source is one file of an in-memory Nest. Key identifies its content (a Git
// blob hash); a Cache that already parsed the same path with the same Key
// does not need Src. An empty Key is never cached.
type Source struct {
	Key string
	Src []byte
}

// Cache keeps the parsed files of the last Load by path and Key, so that
// loading the next commit of a Nest parses only the files that changed.
// Parsed files are immutable, so reusing them is the same as parsing again.
// A Cache is safe for concurrent use; loads are serialised.
type Cache struct {
	mu sync.Mutex
	m  map[string]cachedFile
}

type cachedFile struct {
	key   string
	file  *hcl.File
	res   *parsed
	diags hcl.Diagnostics
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{m: map[string]cachedFile{}} }

// Missing returns the paths of keys (path -> Key) whose content the cache
// does not hold, sorted: the files a caller must read before Load.
func (c *Cache) Missing(keys map[string]string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for p, k := range keys {
		if !nestPath(p) {
			continue
		}
		if e, ok := c.m[p]; !ok || k == "" || e.key != k {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// nestPath reports whether p is a file LoadNest would look at: a .fly file
// outside hidden folders.
func nestPath(p string) bool {
	if !strings.HasSuffix(p, ".fly") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, ".") || seg == "" {
			return false
		}
	}
	return true
}

// Load loads the Nest made of files like LoadNestFiles, parsing only the
// files whose path and Key are not cached, and then keeps exactly these
// files in the cache. A file neither cached nor given with Src is reported
// as unreadable. A cancelled ctx stops the parsing between files and
// blocks; the load fails with one diagnostic and the cache is left as it was.
func (c *Cache) Load(ctx context.Context, files map[string]Source) (*domain.Nest, *Parser, hcl.Diagnostics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var diags hcl.Diagnostics
	paths := make([]string, 0, len(files))
	for p := range files {
		if nestPath(p) {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths) // LoadNest's lexical walk order
	list := make([]nestFile, 0, len(paths))
	var todo []int
	for _, p := range paths {
		f, diag := placeFile(p, p)
		if diag != nil {
			diags = append(diags, diag)
			continue
		}
		s := files[p]
		if e, ok := c.m[p]; ok && s.Key != "" && e.key == s.Key {
			f.file, f.res, f.diags = e.file, e.res, e.diags
		} else if s.Src == nil {
			f.diags = hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read file", Detail: "The content of " + p + " was not provided.", Subject: fileStart(p).Ptr()}}
		} else {
			todo = append(todo, len(list))
		}
		list = append(list, f)
	}
	parseInMemory(ctx, list, todo, files)
	if err := ctx.Err(); err != nil {
		return nil, NewParser(), loadCancelled(err)
	}
	next := make(map[string]cachedFile, len(list))
	for _, f := range list {
		if k := files[f.rel].Key; k != "" && (f.file != nil || f.res != nil) {
			next[f.rel] = cachedFile{key: k, file: f.file, res: f.res, diags: f.diags}
		}
	}
	c.m = next
	return assembleNest(ctx, NewParser(), "", list, map[string]bool{}, diags)
}

// parseInMemory parses list[i] for every i of todo on GOMAXPROCS goroutines.
func parseInMemory(ctx context.Context, list []nestFile, todo []int, files map[string]Source) {
	forEachParallel(len(todo), func(n int) {
		if ctx.Err() != nil {
			return
		}
		f := &list[todo[n]]
		f.file, f.res, f.diags = parseSource(ctx, f.path, files[f.rel].Src)
	})
}

// LoadNest is Load for callers that hold the blob keys and the contents
// apart (commands/nestsync's Loader): keys maps every path of the Nest to its
// Key, content holds the files Missing asked for. The diagnostics carry file
// names relative to the Nest root and positions; there is no Parser to
// render snippets with.
func (c *Cache) LoadNest(ctx context.Context, keys map[string]string, content map[string][]byte) (*domain.Nest, hcl.Diagnostics) {
	files := make(map[string]Source, len(keys))
	for p, k := range keys {
		files[p] = Source{Key: k, Src: content[p]}
	}
	nest, _, diags := c.Load(ctx, files)
	return nest, diags
}

// SyncLoader is a Cache as the Nest sync uses it: diagnostics come in the
// events' wire form, so the application layer needs no HCL.
type SyncLoader struct{ cache *Cache }

// NewSyncLoader returns a SyncLoader over a fresh Cache.
func NewSyncLoader() *SyncLoader { return &SyncLoader{cache: NewCache()} }

// Missing reports which files the cache lacks (see Cache.Missing).
func (l *SyncLoader) Missing(keys map[string]string) []string { return l.cache.Missing(keys) }

// LoadNest loads the Nest (see Cache.LoadNest) and converts its diagnostics.
func (l *SyncLoader) LoadNest(ctx context.Context, keys map[string]string, content map[string][]byte) (*domain.Nest, []events.Diagnostic) {
	nest, diags := l.cache.LoadNest(ctx, keys, content)
	return nest, EventDiagnostics(diags)
}

// MaxEventDiagnostics is how many diagnostics EventDiagnostics keeps; one
// more counts the rest. With MaxSummary and MaxDetail it bounds the size
// of a nest.sync_failed event to about 1.2 MB at worst (a few KiB usually).
const MaxEventDiagnostics = 1000

// EventDiagnostics converts HCL diagnostics into the events' form (file
// names as the parser saw them: relative to the Nest root), each with its
// texts bounded (MaxSummary, MaxDetail, quoted values cut), at most
// MaxEventDiagnostics of them and then one that counts the rest.
func EventDiagnostics(diags hcl.Diagnostics) []events.Diagnostic {
	out := make([]events.Diagnostic, 0, min(len(diags), MaxEventDiagnostics+1))
	for i, d := range diags {
		if i == MaxEventDiagnostics {
			more := events.Diagnostic{Severity: "warning", Summary: "Too many problems",
				Detail: fmt.Sprintf("%d more problems of this commit are not recorded; gosling validate lists them.", len(diags)-i)}
			for _, d := range diags[i:] {
				if d.Severity == hcl.DiagError {
					more.Severity = "error"
					break
				}
			}
			out = append(out, more)
			break
		}
		ev := events.Diagnostic{Severity: severity(d),
			Summary: boundText(shortenQuoted(d.Summary), MaxSummary), Detail: boundText(shortenQuoted(d.Detail), MaxDetail)}
		if d.Subject != nil {
			ev.File, ev.Line, ev.Column = boundText(d.Subject.Filename, MaxDetail), d.Subject.Start.Line, d.Subject.Start.Column
		}
		out = append(out, ev)
	}
	return out
}
