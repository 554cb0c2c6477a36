package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// App is everything a command reads and writes besides its flags and
// arguments: the standard streams and what is known about them, the
// environment, the working directory and the clock. run builds it from the
// process; tests build it by hand (a strings.Reader as a "terminal", a temp
// directory as the working directory) and call Run.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// Interactive is true when stdin is a terminal: `add` may prompt for
	// what its flags leave out (never with --yes).
	Interactive bool
	// Color is true when stderr is a terminal and NO_COLOR is unset.
	Color bool
	// Width is the terminal width of stderr for wrapping diagnostics; 0 = no wrapping.
	Width int
	// Dir is the working directory: relative paths and the upward Nest
	// search start there. "" means the process's working directory.
	Dir string
	// Now is the clock (commit times of `init`).
	Now func() time.Time
	// LookupEnv reads the environment (`runner`'s GOSLING_* variables and
	// env:// secrets); nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)

	started bool // a command's own code ran: errors from here on are not cobra's usage errors
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Now: time.Now}
	if f, ok := stdin.(*os.File); ok {
		a.Interactive = term.IsTerminal(int(f.Fd()))
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		a.Color = os.Getenv("NO_COLOR") == "" // https://no-color.org: set and not empty disables color
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			a.Width = w
		}
	}
	return a.Run(ctx, args)
}

// errReported means the problems were already written to stderr
// (diagnostics, or the files `fmt --check` lists): exit 1, print nothing more.
var errReported = errors.New("problems reported above")

// usagef returns a usage error (exit status 2): a bad argument or flag value.
func usagef(format string, args ...any) error {
	return errs.Errorf(errs.EINVALID, format, args...)
}

// Run executes one command line and returns its exit status.
func (a *App) Run(ctx context.Context, args []string) int {
	if a.Now == nil {
		a.Now = time.Now
	}
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if errors.Is(err, errReported) {
		return 1
	}
	// Before a command's own code runs, every error is cobra's: an unknown
	// command or flag, a flag value that does not parse, wrong arguments.
	usage := !a.started || errs.Code(err) == errs.EINVALID
	fmt.Fprintf(a.Stderr, "%s: %s\n", cmd.CommandPath(), message(err))
	if usage {
		fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

// message is err for people: an *errs.Error without its code.
func message(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Message != "" {
		if e.Err != nil {
			return e.Message + ": " + e.Err.Error()
		}
		return e.Message
	}
	return err.Error()
}

func newRootCommand(a *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "gosling",
		Short: "Polar Gosling operator CLI (create and check a Nest of .fly files) and runner agent",
		Long: `gosling manages a Nest, the Git repository that describes GitLab runners as code:

  Eggs/<name>/config.fly   one egg or eggsbucket
  Jobs/<name>.fly          one scheduled job
  UF/config.fly            the uglyfox lifecycle policy
  MG/config.fly            the mothergoose control plane footprint

Commands that need a Nest find it from the current directory upward: the Nest
root is the nearest directory holding both Eggs/ and UF/, or a file named
.gosling. Exit status: 0 success, 1 invalid configuration, runtime error or
interrupted (SIGINT, SIGTERM),
2 usage error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			a.started = true
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return errs.Wrap(errs.EINVALID, err, "usage") })
	root.AddCommand(
		initCommand(a),
		addCommand(a),
		removeCommand(a),
		validateCommand(a),
		fmtCommand(a),
		parseCommand(a),
		versionCommand(a),
		statusCommand(a), eventsCommand(a), terminateCommand(a), retryCommand(a),
		planCommand(a), deployCommand(a), rollbackCommand(a),
		runnerCommand(a),
	)
	// cobra adds its `completion` command itself (bash, zsh, fish, powershell).
	root.CompletionOptions.DisableDefaultCmd = false
	return root
}

// path resolves p against the App's working directory.
func (a *App) path(p string) string {
	if a.Dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(a.Dir, p)
}

func (a *App) workDir() (string, error) {
	if a.Dir != "" {
		return a.Dir, nil
	}
	return os.Getwd()
}

// NestMarker is the file that marks a Nest root when Eggs/ or UF/ is missing
// (Git does not keep an empty Eggs/ directory).
const NestMarker = ".gosling"

// isNestRoot reports whether dir is a Nest root: it holds both Eggs/ and UF/
// directories, or a .gosling file.
func isNestRoot(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, NestMarker)); err == nil && !fi.IsDir() {
		return true
	}
	return isDir(filepath.Join(dir, "Eggs")) && isDir(filepath.Join(dir, "UF"))
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// findNest returns the nearest Nest root from the working directory upward.
func (a *App) findNest() (string, bool) {
	wd, err := a.workDir()
	if err != nil {
		return "", false
	}
	dir, err := filepath.Abs(wd)
	if err != nil {
		return "", false
	}
	for {
		if isNestRoot(dir) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// nestDir is --nest DIR when given (it must be a Nest root), else the Nest
// found from the working directory upward.
func (a *App) nestDir(flag string) (string, error) {
	if flag != "" {
		dir := filepath.Clean(a.path(flag)) // "nest/" names files nest/Eggs/..., not nest//Eggs/...
		if !isNestRoot(dir) {
			return "", usagef("--nest %s: not a Nest (no Eggs/ and UF/ directories, no %s file); create one with gosling init", flag, NestMarker)
		}
		return dir, nil
	}
	if dir, ok := a.findNest(); ok {
		return dir, nil
	}
	return "", usagef("no Nest in the current directory or above (a directory with Eggs/ and UF/); use --nest DIR or gosling init")
}

// defaultTarget is the PATH of validate and fmt when none is given: the Nest
// found upward, else the working directory.
func (a *App) defaultTarget() string {
	if dir, ok := a.findNest(); ok {
		return dir
	}
	if a.Dir != "" {
		return a.Dir
	}
	return "."
}

// printDiagnostics writes diags to stderr with source snippets from files.
func (a *App) printDiagnostics(files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	if err := fly.WriteDiagnosticsText(a.Stderr, files, diags, uint(max(a.Width, 0)), a.Color); err != nil {
		fmt.Fprintln(a.Stderr, diags.Error())
	}
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so a reader sees the old file or the new one,
// never a part. Without replace it fails with ECONFLICT when path exists.
func writeFileAtomic(path string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = linkNoReplace(tmp, path)
	}
	if err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// linkNoReplace moves tmp to path unless path exists: a hard link fails
// atomically on an existing name. File systems without hard links fall
// back to a check and a rename.
func linkNoReplace(tmp, path string) error {
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		return os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return errs.Errorf(errs.ECONFLICT, "%s already exists (use --force to replace it)", path)
	}
	if _, statErr := os.Lstat(path); statErr == nil {
		return errs.Errorf(errs.ECONFLICT, "%s already exists (use --force to replace it)", path)
	}
	return os.Rename(tmp, path)
}

// syncDir makes a rename durable; best effort (not every OS can fsync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
