package ports_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The core (events, domain, commands, projections, ports and their
// subpackages) imports the standard library, itself and nothing else: no
// transport (watermill), no SDK (aws, ydb, go-git, hcl, terraform-exec,
// gorilla, prometheus, client-go, ...) and no adapter. What a core package
// may import beyond that is listed here, with the reason.
var coreAllowed = map[string]string{}

// corePackages are the layers of ARCHITECTURE.md that import no adapter.
var corePackages = []string{"./events/...", "./domain/...", "./commands/...", "./projections/...", "./ports/..."}

const module = "github.com/polar-gosling/polar-gosling/"

// TestLayering_core_imports_no_SDK_and_no_adapter reads every dependency of
// the core packages (not of their tests, which use real adapters) with go
// list and names each import that breaks the rule, with the package that
// imports it.
func TestLayering_core_imports_no_SDK_and_no_adapter(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH; the layering is checked where it is (make test, CI)")
	}
	// Each line: a package of the core or one it depends on, then its imports.
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, corePackages...)...)
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	for _, bad := range layeringViolations(string(out)) {
		t.Error(bad)
	}
}

// layeringViolations reads go list's lines (a package, then its imports)
// and returns, for every package of this module that is core, each import
// that is neither standard library, core, nor in coreAllowed.
func layeringViolations(list string) []string {
	var bad []string
	for line := range strings.Lines(list) {
		fields := strings.Fields(line)
		if len(fields) == 0 || !isCore(fields[0]) {
			continue
		}
		for _, imp := range fields[1:] {
			if isStd(imp) || isCore(imp) {
				continue
			}
			if _, ok := coreAllowed[imp]; ok {
				continue
			}
			bad = append(bad, fields[0]+" imports "+imp)
		}
	}
	return bad
}

func isCore(path string) bool {
	rest, ok := strings.CutPrefix(path, module)
	if !ok {
		return false
	}
	for _, layer := range []string{"events", "domain", "commands", "projections", "ports"} {
		if rest == layer || strings.HasPrefix(rest, layer+"/") {
			return true
		}
	}
	return false
}

// isStd: standard library paths have no dot in their first element.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// The check fails on what it is for.
func TestLayering_names_offending_imports(t *testing.T) {
	list := module + "commands context " + module + "domain github.com/ThreeDotsLabs/watermill/pubsub/gochannel\n" +
		module + "projections " + module + "adapters/sqlite\n" +
		module + "ports/porttest testing " + module + "events\n" +
		module + "adapters/sqlite modernc.org/sqlite\n" +
		"github.com/ThreeDotsLabs/watermill/pubsub/gochannel github.com/google/uuid\n"
	got := layeringViolations(list)
	want := []string{
		module + "commands imports github.com/ThreeDotsLabs/watermill/pubsub/gochannel",
		module + "projections imports " + module + "adapters/sqlite",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("violations\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
