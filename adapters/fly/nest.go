package fly

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"

	"github.com/polar-gosling/polar-gosling/domain"
)

// nestFile is one .fly file of a Nest to load.
type nestFile struct {
	path string     // as reported in diagnostics: dir joined with rel
	rel  string     // relative to the Nest root, '/'-separated
	pl   *placement // where it is in the layout
	want string     // the name its label must equal ("" for UF and MG)

	file  *hcl.File
	res   *parsed
	diags hcl.Diagnostics
}

// LoadNest loads the Nest in dir: every .fly file, parsed concurrently,
// each checked against the layout (FLY.md: Eggs/<name>/config.fly,
// Jobs/<name>.fly, UF/config.fly, MG/config.fly, labels equal to the folder
// or file name), then checked across files: egg and job names unique,
// eggs_entities naming eggs or buckets of the Nest, no GitLab project or
// group claimed twice on one server. A .fly file anywhere else is an error;
// other files are ignored, and so are hidden files and folders (.git).
//
// It returns the typed Nest, or nil when any diagnostic is an error; the
// parser holds the files for rendering the diagnostics, which are every
// problem of every file, sorted by file and position (at most
// MaxDiagnosticsPerFile per file). A cancelled ctx stops the parsing between
// files and blocks; the load then fails with one diagnostic.
func LoadNest(ctx context.Context, dir string) (*domain.Nest, *Parser, hcl.Diagnostics) {
	p := NewParser()
	files, eggDirs, diags := walkNest(ctx, dir)
	parseNestFiles(ctx, files)
	return assembleNest(ctx, p, dir, files, eggDirs, diags)
}

// loadCancelled is the one diagnostic of a cancelled load.
func loadCancelled(err error) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Load cancelled", Detail: "Loading the Nest stopped before the end: " + err.Error() + "."}}
}

// assembleNest checks the parsed files' placement and across files, and
// builds the Nest (LoadNest, LoadNestFiles).
func assembleNest(ctx context.Context, p *Parser, dir string, files []nestFile, eggDirs map[string]bool, diags hcl.Diagnostics) (*domain.Nest, *Parser, hcl.Diagnostics) {
	if err := ctx.Err(); err != nil {
		return nil, p, loadCancelled(err)
	}
	nest := &domain.Nest{
		Dir:     dir,
		Eggs:    map[string]domain.EggConfig{},
		Buckets: map[string]domain.EggsBucketConfig{},
		Jobs:    map[string]domain.JobConfig{},
		Files:   make([]string, 0, len(files)),
	}
	x := crossCheck{nest: nest, entityAt: map[string]located{}, jobAt: map[string]located{}, claims: map[string]located{}, broken: map[string]bool{}}
	for i := range files {
		f := &files[i]
		p.keep(f.path, f.file)
		diags = append(diags, f.diags...)
		nest.Files = append(nest.Files, f.rel)
		if f.res == nil {
			if f.pl == &eggPlacement {
				x.broken[f.want] = true // its egg exists, unreadable: do not report references to it
			}
			continue
		}
		diags = append(diags, f.pl.check(f.path, f.res.blocks, f.want)...)
		x.add(f)
	}
	diags = append(diags, x.diags...)
	diags = append(diags, x.checkEntities()...)
	for dir, hasConfig := range eggDirs {
		if !hasConfig {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning, Summary: "Egg folder without config.fly",
				Detail:  fmt.Sprintf("%s has no config.fly, so it describes no egg; add one or remove the folder.", dir),
				Subject: fileStart(dir).Ptr(),
			})
		}
	}
	if len(files) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Empty Nest",
			Detail: fmt.Sprintf("%s holds no .fly file (Eggs/<name>/config.fly, Jobs/<name>.fly, UF/config.fly, MG/config.fly); is it a Nest?", dir)})
	}
	diags = capDiagnostics(diags)
	if diags.HasErrors() {
		return nil, p, diags
	}
	return nest, p, diags
}

// walkNest lists the .fly files of the Nest in lexical order, reporting
// those outside the layout, and the egg folders (with whether they hold a
// config.fly). A symbolic link to a .fly file is read through; links to
// folders are not followed (a loop, or a way out of the Nest), and a link
// in the layout folders that cannot be followed or leads to a folder is an
// error rather than silently nothing.
func walkNest(ctx context.Context, dir string) ([]nestFile, map[string]bool, hcl.Diagnostics) {
	var files []nestFile
	var diags hcl.Diagnostics
	eggDirs := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read Nest", Detail: err.Error(), Subject: fileStart(path).Ptr()})
			return nil
		}
		if path == dir {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/")
		if d.Type()&fs.ModeSymlink != 0 {
			if diag := checkLink(path, rel, parts); diag != nil {
				diags = append(diags, diag)
				return nil
			}
		}
		if d.IsDir() {
			if len(parts) == 2 && parts[0] == "Eggs" {
				eggDirs[path] = false
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".fly") {
			return nil
		}
		f, diag := placeFile(path, rel)
		if diag != nil {
			diags = append(diags, diag)
			return nil
		}
		if f.pl == &eggPlacement {
			eggDirs[filepath.Dir(path)] = true
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read Nest", Detail: err.Error()})
	}
	return files, eggDirs, diags
}

// checkLink reports a symbolic link that the walk cannot use: one that
// does not resolve (a loop, a missing target) or that leads to a folder,
// when it is a .fly file or lies in a layout folder (Eggs, Jobs, UF, MG).
func checkLink(path, rel string, parts []string) *hcl.Diagnostic {
	if !strings.HasSuffix(rel, ".fly") && !slices.Contains([]string{"Eggs", "Jobs", "UF", "MG"}, parts[0]) {
		return nil
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Broken symbolic link",
			Detail:  fmt.Sprintf("%s is a symbolic link that cannot be followed (%v); replace it with the file or folder it should be.", rel, err),
			Subject: fileStart(path).Ptr()}
	case fi.IsDir():
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Symbolic link to a folder",
			Detail:  fmt.Sprintf("%s is a symbolic link to a folder; a Nest's folders are real folders (links to them are not followed), so nothing in it would be loaded.", rel),
			Subject: fileStart(path).Ptr()}
	}
	return nil
}

// placeFile says where the .fly file rel (relative to the Nest root, '/'
// separated; path is how diagnostics name it) belongs in the layout, or
// reports it outside the layout.
func placeFile(path, rel string) (nestFile, *hcl.Diagnostic) {
	parts := strings.Split(rel, "/")
	f := nestFile{path: path, rel: rel}
	switch {
	case len(parts) == 3 && parts[0] == "Eggs" && parts[2] == "config.fly":
		f.pl, f.want = &eggPlacement, parts[1]
	case len(parts) == 2 && parts[0] == "Jobs":
		f.pl, f.want = &jobPlacement, strings.TrimSuffix(parts[1], ".fly")
	case rel == "UF/config.fly":
		f.pl = &ufPlacement
	case rel == "MG/config.fly":
		f.pl = &mgPlacement
	default:
		return f, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "File outside the Nest layout",
			Detail: ".fly files live in Eggs/<name>/config.fly, Jobs/<name>.fly, UF/config.fly and MG/config.fly; " +
				rel + " is none of these." + layoutHint(parts),
			Subject: fileStart(path).Ptr(),
		}
	}
	return f, nil
}

func layoutHint(parts []string) string {
	for _, top := range []string{"Eggs", "Jobs", "UF", "MG"} {
		if parts[0] != top && strings.EqualFold(parts[0], top) {
			return " Folder names are case-sensitive: did you mean " + top + "/?"
		}
	}
	switch {
	case parts[0] == "Eggs" && len(parts) == 3:
		return " An egg folder holds its egg in config.fly."
	case parts[0] == "Eggs" && len(parts) == 2:
		return " An egg lives in its own folder: Eggs/" + strings.TrimSuffix(parts[1], ".fly") + "/config.fly."
	case parts[0] == "Jobs":
		return " Jobs/ holds job files directly, without sub-folders."
	}
	return ""
}

// parseNestFiles reads and parses the files on GOMAXPROCS goroutines,
// until ctx is cancelled.
func parseNestFiles(ctx context.Context, files []nestFile) {
	forEachParallel(len(files), func(i int) {
		if ctx.Err() != nil {
			return
		}
		f := &files[i]
		src, err := os.ReadFile(f.path)
		if err != nil {
			f.diags = hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read file", Detail: err.Error(), Subject: fileStart(f.path).Ptr()}}
			return
		}
		f.file, f.res, f.diags = parseSource(ctx, f.path, src)
	})
}

// forEachParallel calls fn(i) for every i in [0, n) on GOMAXPROCS goroutines.
func forEachParallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// located is where a name or claim was first defined.
type located struct {
	path  string
	rng   hcl.Range
	owner string
}

func (l located) at() string { return fmt.Sprintf("%s:%d", l.path, l.rng.Start.Line) }

// crossCheck assembles the Nest and checks names and claims across files.
type crossCheck struct {
	nest     *domain.Nest
	entityAt map[string]located
	jobAt    map[string]located
	claims   map[string]located
	entities []entityRef     // of the uglyfox block
	broken   map[string]bool // egg folders whose config.fly did not parse
	diags    hcl.Diagnostics
}

func (x *crossCheck) errorf(rng hcl.Range, summary, format string, args ...any) {
	x.diags = append(x.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
}

// labelRanges returns the label ranges of the top-level blocks of typ, in
// order (one per decoded block of that type), padded to n.
func labelRanges(blocks []topBlock, typ string, n int) []hcl.Range {
	out := make([]hcl.Range, 0, n)
	for _, b := range blocks {
		if b.typ == typ {
			out = append(out, b.labelRange)
		}
	}
	for len(out) < n {
		out = append(out, hcl.Range{})
	}
	return out
}

// entity records an egg or bucket name; it reports a name defined in another file.
func (x *crossCheck) entity(f *nestFile, name string, rng hcl.Range) bool {
	if name == "" {
		return false
	}
	if prev, dup := x.entityAt[name]; dup {
		if prev.path != f.path { // same file: reported by the parser
			x.errorf(rng, "Duplicate egg name", "An egg or eggsbucket named %q is already defined at %s; names are unique across the Nest.", name, prev.at())
		}
		return false
	}
	x.entityAt[name] = located{path: f.path, rng: rng}
	return true
}

func (x *crossCheck) add(f *nestFile) {
	res := f.res
	eggRanges := labelRanges(res.blocks, "egg", len(res.file.Eggs))
	for i, e := range res.file.Eggs {
		if x.entity(f, e.Name, eggRanges[i]) {
			e.Path = f.rel
			x.nest.Eggs[e.Name] = e
		}
	}
	bucketRanges := labelRanges(res.blocks, "eggsbucket", len(res.file.Buckets))
	for i, b := range res.file.Buckets {
		if x.entity(f, b.Name, bucketRanges[i]) {
			b.Path = f.rel
			x.nest.Buckets[b.Name] = b
		}
	}
	jobRanges := labelRanges(res.blocks, "job", len(res.file.Jobs))
	for i, j := range res.file.Jobs {
		if j.Name == "" {
			continue
		}
		if prev, dup := x.jobAt[j.Name]; dup {
			if prev.path != f.path {
				x.errorf(jobRanges[i], "Duplicate job name", "A job named %q is already defined at %s; job names are unique across the Nest.", j.Name, prev.at())
			}
			continue
		}
		x.jobAt[j.Name] = located{path: f.path, rng: jobRanges[i]}
		j.Path = f.rel
		x.nest.Jobs[j.Name] = j
	}
	for _, u := range res.file.UglyFox {
		if x.nest.UglyFox == nil {
			u.Path = f.rel
			x.nest.UglyFox = &u
			x.entities = append(x.entities, res.entities...)
		}
	}
	for _, m := range res.file.MotherGoose {
		m.Path = f.rel
		x.nest.MotherGoose = append(x.nest.MotherGoose, m)
	}
	for _, d := range res.file.UglyFoxDeployments {
		d.Path = f.rel
		x.nest.UglyFoxDeployments = append(x.nest.UglyFoxDeployments, d)
	}
	for _, c := range res.claims {
		key := c.server + "\x00" + c.kind + "\x00" + fmt.Sprint(c.id)
		if prev, dup := x.claims[key]; dup {
			x.errorf(c.rng, "GitLab "+c.kind+" claimed twice",
				"GitLab %s %d on %s is already claimed by %s at %s; a project or group gets its runners from one egg only.",
				c.kind, c.id, c.server, prev.owner, prev.at())
			continue
		}
		x.claims[key] = located{path: f.path, rng: c.rng, owner: c.owner}
	}
}

// checkEntities checks the eggs_entities of the uglyfox block against the eggs and buckets.
func (x *crossCheck) checkEntities() hcl.Diagnostics {
	var diags hcl.Diagnostics
	names := x.nest.EntityNames()
	for _, ref := range x.entities {
		spec, ok := x.nest.Entity(ref.name)
		if !ok {
			if x.broken[ref.name] {
				continue // its file has syntax errors, already reported
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Unknown egg in eggs_entities",
				Detail:  fmt.Sprintf("No egg or eggsbucket named %q in this Nest (there is no Eggs/%s/config.fly).%s", ref.name, ref.name, suggestFrom(ref.name, names)),
				Subject: ref.rng.Ptr(),
			})
			continue
		}
		if spec.Type == domain.EggServerless {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning, Summary: "Serverless egg in runners condition",
				Detail:  fmt.Sprintf("%q is serverless: it has no Apex or Nadir pools, so runners_condition %q does not apply to it.", ref.name, ref.condition),
				Subject: ref.rng.Ptr(),
			})
		}
	}
	return diags
}
