package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/fly"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Defaults for what the flags leave out (with --yes, or when stdin is not a
// terminal). project-id / group-id and a bucket's repositories have none.
const (
	defaultServer     = "gitlab.com"
	defaultCPU        = 2
	defaultMemory     = 4096
	defaultDisk       = 20
	defaultConcurrent = 1
	defaultSchedule   = "0 3 * * *"
	defaultTimeout    = "10m"
)

// The egg types and providers, spelled as the .fly files (and the rest of
// the system) spell them: the domain's one spelling.
var (
	eggTypes          = domain.Spellings(domain.EggTypes)
	providers         = domain.Spellings(domain.CloudProviders)
	defaultType       = domain.EggServerless.String()
	defaultRunnerType = domain.EggServerless.String()
	defaultProvider   = domain.ProviderYandex.String()
	// defaultRegion is the default region (or zone) per provider.
	defaultRegion = map[string]string{domain.ProviderYandex.String(): "ru-central1-a", domain.ProviderAWS.String(): "eu-central-1", domain.ProviderLocal.String(): "local"}
)

// checkLabel checks a name given on the command line the way the parser
// checks labels; a bad one is a usage error.
func checkLabel(what, s string) error {
	if err := domain.CheckConfigName(s); err != nil {
		return usagef("%s: %s", what, message(err))
	}
	return nil
}

// checkWith turns a domain value check into a prompt/flag check.
func checkWith(check func(string) error) func(string) error {
	return func(s string) error {
		if err := check(s); err != nil {
			return usagef("%s", message(err))
		}
		return nil
	}
}

// checkTags checks --tags values one by one.
func checkTags(tags []string) error {
	for _, t := range tags {
		if err := domain.CheckTag(t); err != nil {
			return usagef("--tags: %s", message(err))
		}
	}
	return nil
}

func oneOf(values ...string) func(string) error {
	return func(s string) error {
		for _, v := range values {
			if s == v {
				return nil
			}
		}
		return usagef("%q: want %s", s, strings.Join(values, " or "))
	}
}

func notEmpty(s string) error {
	if s == "" {
		return usagef("a value is required")
	}
	return nil
}

func positiveID(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err != nil || n <= 0 {
		return usagef("%q: want a positive number", s)
	}
	return nil
}

// addFlags are the flags every `add` subcommand has.
type addFlags struct {
	nest  string
	force bool
	yes   bool
}

func (f *addFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&f.nest, "nest", "", "the Nest root (default: found from the current directory upward)")
	c.Flags().BoolVar(&f.force, "force", false, "replace the file if it exists")
	c.Flags().BoolVarP(&f.yes, "yes", "y", false, "never prompt: take the defaults for what the flags leave out")
}

// resolver decides each value: the flag when it was given (checked: a bad
// value is a usage error), else the answer to a prompt, else the default.
type resolver struct {
	cmd *cobra.Command
	p   *prompter
}

func (r resolver) str(flag, val, label, def string, check func(string) error) (string, error) {
	if r.cmd.Flags().Changed(flag) {
		if check != nil {
			if err := check(val); err != nil {
				return "", usagef("--%s: %s", flag, message(err))
			}
		}
		return val, nil
	}
	if r.p.on {
		return r.p.ask(label, def, check)
	}
	return def, nil
}

func addCommand(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "add egg|bucket|job NAME",
		Short: "add an egg, an eggsbucket or a job to the Nest",
		Long: `add writes one new file into the Nest found from the current directory upward
(or --nest DIR): Eggs/NAME/config.fly for an egg or a bucket, Jobs/NAME.fly for
a job. Values come from the flags; when stdin is a terminal, add asks for the
required ones the flags leave out (the default in brackets). With --yes, or
when stdin is not a terminal, it never asks and takes the defaults; only a
GitLab project or group (and a bucket's repositories) have no default.

The file is checked with the .fly parser before it is written: when it would
be invalid nothing is written and the diagnostics are printed (exit 1).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("add what? egg, bucket or job")
			}
			return usagef("add %q: want egg, bucket or job", args[0])
		},
	}
	c.AddCommand(addEggCommand(a, false), addEggCommand(a, true), addJobCommand(a))
	return c
}

// eggFlags are the flags of `add egg` and `add bucket`.
type eggFlags struct {
	addFlags
	typ, provider, region     string
	cpu, memory, disk, concur int
	tags                      []string
	image                     string
	// egg
	server                     string
	projectID, groupID         int64
	tokenSecret, webhookSecret string
	// bucket
	repos []string
}

func addEggCommand(a *App, bucket bool) *cobra.Command {
	var f eggFlags
	c := &cobra.Command{
		Use:   "egg NAME",
		Short: "add Eggs/NAME/config.fly: runners for one GitLab project or group",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runAddEgg(cmd, args[0], &f, bucket)
		},
	}
	if bucket {
		c.Use = "bucket NAME"
		c.Aliases = []string{"eggsbucket"}
		c.Short = "add Eggs/NAME/config.fly: one runner setup shared by several GitLab projects or groups"
	}
	f.bind(c)
	fl := c.Flags()
	fl.StringVar(&f.typ, "type", "", "runner type: serverless or vm (default serverless)")
	fl.StringVar(&f.provider, "provider", "", "cloud: yandex, aws or local (processes on the MotherGoose machine) (default yandex)")
	fl.StringVar(&f.region, "region", "", "region or zone (default ru-central1-a for yandex, eu-central-1 for aws; always local for local)")
	fl.IntVar(&f.cpu, "cpu", defaultCPU, "vCPUs per runner")
	fl.IntVar(&f.memory, "memory", defaultMemory, "memory per runner, MiB")
	fl.IntVar(&f.disk, "disk", defaultDisk, "disk per runner, GiB (vm only)")
	fl.IntVar(&f.concur, "concurrent", defaultConcurrent, "jobs a runner runs at once")
	fl.StringSliceVar(&f.tags, "tags", nil, "GitLab runner tags, comma separated")
	fl.StringVar(&f.image, "image", "", "runner image (serverless) or default job image (vm)")
	if bucket {
		fl.StringArrayVar(&f.repos, "repo", nil, "a repository: NAME=SERVER:project:ID or NAME=SERVER:group:ID (repeat for more)")
	} else {
		fl.StringVar(&f.server, "server", "", "GitLab server host name (default gitlab.com)")
		fl.Int64Var(&f.projectID, "project-id", 0, "GitLab project ID (or --group-id)")
		fl.Int64Var(&f.groupID, "group-id", 0, "GitLab group ID for a group runner (or --project-id)")
		fl.StringVar(&f.tokenSecret, "token-secret", "", "secret URI of the runner token (default: the provider's store, see gosling validate --explain)")
		fl.StringVar(&f.webhookSecret, "webhook-secret", "", "secret URI of the webhook secret (default: the provider's store)")
	}
	_ = c.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(eggTypes, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("provider", cobra.FixedCompletions(providers, cobra.ShellCompDirectiveNoFileComp))
	_ = c.MarkFlagDirname("nest")
	return c
}

func (a *App) runAddEgg(cmd *cobra.Command, name string, f *eggFlags, bucket bool) error {
	what := "egg"
	kind := fly.KindEgg
	if bucket {
		what, kind = "bucket", fly.KindEggsBucket
	}
	if err := checkLabel(what+" name", name); err != nil {
		return err
	}
	nest, err := a.nestDir(f.nest)
	if err != nil {
		return err
	}
	target := filepath.Join(nest, "Eggs", name, "config.fly")
	if err := refuseExisting(target, f.force); err != nil {
		return err
	}
	r := resolver{cmd: cmd, p: a.prompter(cmd.Context(), f.yes)}
	s := eggSpec{Name: name, CPU: f.cpu, Memory: f.memory, Concurrent: f.concur, Tags: f.tags, Image: f.image,
		TokenSecret: f.tokenSecret, WebhookSecret: f.webhookSecret}
	if err := checkTags(f.tags); err != nil {
		return err
	}
	for flag, v := range map[string]string{"token-secret": f.tokenSecret, "webhook-secret": f.webhookSecret} {
		if _, err := domain.CheckSecretURIShape(v); v != "" && err != nil {
			return usagef("--%s: %s", flag, message(err))
		}
	}
	if s.Type, err = r.str("type", f.typ, "Runner type (serverless|vm)", defaultType, oneOf(eggTypes...)); err != nil {
		return err
	}
	if s.Provider, err = r.str("provider", f.provider, "Cloud provider (yandex|aws|local)", defaultProvider, oneOf(providers...)); err != nil {
		return err
	}
	if s.Region, err = r.str("region", f.region, "Region or zone", defaultRegion[s.Provider], checkWith(func(v string) error {
		p, _ := domain.ParseCloudProvider(s.Provider) // one of providers
		return domain.CheckRegion(p, v)
	})); err != nil {
		return err
	}
	if s.Type == domain.EggVM.String() || cmd.Flags().Changed("disk") {
		s.Disk = f.disk
	}
	if bucket {
		if s.Repos, err = resolveRepos(r, f.repos); err != nil {
			return err
		}
	} else {
		if s.Server, err = r.str("server", f.server, "GitLab server", defaultServer, checkWith(domain.CheckHostName)); err != nil {
			return err
		}
		if s.ProjectID, s.GroupID, err = resolveProjectOrGroup(r, f.projectID, f.groupID); err != nil {
			return err
		}
	}
	src := renderEgg(s, bucket)
	return a.writeChecked(cmd.Context(), kind, nest, target, src, f.force)
}

// resolveProjectOrGroup returns exactly one of a project and a group ID.
func resolveProjectOrGroup(r resolver, projectID, groupID int64) (int64, int64, error) {
	fl := r.cmd.Flags()
	switch {
	case fl.Changed("project-id") && fl.Changed("group-id"):
		return 0, 0, usagef("give --project-id or --group-id, not both")
	case fl.Changed("project-id"):
		if projectID <= 0 {
			return 0, 0, usagef("--project-id %d: want a positive number", projectID)
		}
		return projectID, 0, nil
	case fl.Changed("group-id"):
		if groupID <= 0 {
			return 0, 0, usagef("--group-id %d: want a positive number", groupID)
		}
		return 0, groupID, nil
	case !r.p.on:
		return 0, 0, usagef("--project-id or --group-id is required (it has no default)")
	}
	ans, err := r.p.ask("GitLab project ID (empty for a group runner)", "", func(s string) error {
		if s == "" {
			return nil
		}
		return positiveID(s)
	})
	if err != nil {
		return 0, 0, err
	}
	if ans != "" {
		id, _ := strconv.ParseInt(ans, 10, 64)
		return id, 0, nil
	}
	ans, err = r.p.ask("GitLab group ID", "", positiveID)
	if err != nil {
		return 0, 0, err
	}
	id, _ := strconv.ParseInt(ans, 10, 64)
	return 0, id, nil
}

// parseRepo parses NAME=SERVER:project:ID or NAME=SERVER:group:ID.
func parseRepo(s string) (repoSpec, error) {
	name, rest, ok := strings.Cut(s, "=")
	parts := strings.Split(rest, ":")
	if !ok || len(parts) != 3 || parts[0] == "" {
		return repoSpec{}, usagef("repository %q: want NAME=SERVER:project:ID or NAME=SERVER:group:ID", s)
	}
	if err := checkLabel("repository name", name); err != nil {
		return repoSpec{}, err
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || id <= 0 {
		return repoSpec{}, usagef("repository %q: ID %q is not a positive number", s, parts[2])
	}
	if err := domain.CheckHostName(parts[0]); err != nil {
		return repoSpec{}, usagef("repository %q: %s", s, message(err))
	}
	r := repoSpec{Name: name, Server: parts[0]}
	switch parts[1] {
	case "project":
		r.ProjectID = id
	case "group":
		r.GroupID = id
	default:
		return repoSpec{}, usagef("repository %q: %q: want project or group", s, parts[1])
	}
	return r, nil
}

// resolveRepos parses the --repo flags, or asks for repositories until an
// empty answer; a bucket needs at least one and unique names.
func resolveRepos(r resolver, flags []string) ([]repoSpec, error) {
	var repos []repoSpec
	seen := map[string]bool{}
	add := func(s string) error {
		repo, err := parseRepo(s)
		if err != nil {
			return err
		}
		if seen[repo.Name] {
			return usagef("repository %q given twice", repo.Name)
		}
		seen[repo.Name] = true
		repos = append(repos, repo)
		return nil
	}
	for _, s := range flags {
		if err := add(s); err != nil {
			return nil, usagef("--repo: %s", message(err))
		}
	}
	if len(repos) > 0 {
		return repos, nil
	}
	if !r.p.on {
		return nil, usagef("--repo is required: a bucket needs at least one repository (NAME=SERVER:project:ID)")
	}
	for {
		label := "Repository (NAME=SERVER:project:ID or NAME=SERVER:group:ID, empty to finish)"
		if len(repos) == 0 {
			label = "Repository (NAME=SERVER:project:ID or NAME=SERVER:group:ID)"
		}
		ans, err := r.p.ask(label, "", func(s string) error {
			if s == "" {
				if len(repos) == 0 {
					return usagef("a bucket needs at least one repository")
				}
				return nil
			}
			if _, err := parseRepo(s); err != nil {
				return err
			}
			if name, _, _ := strings.Cut(s, "="); seen[name] {
				return usagef("repository %q given twice", name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if ans == "" {
			return repos, nil
		}
		if err := add(ans); err != nil {
			return nil, err
		}
	}
}

type jobFlags struct {
	addFlags
	schedule, timeout, script, runnerType string
	tags                                  []string
}

func addJobCommand(a *App) *cobra.Command {
	var f jobFlags
	c := &cobra.Command{
		Use:   "job NAME",
		Short: "add Jobs/NAME.fly: a scheduled task run on a Nest runner",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runAddJob(cmd, args[0], &f)
		},
	}
	f.bind(c)
	fl := c.Flags()
	fl.StringVar(&f.schedule, "schedule", "", "cron schedule, 5 fields, UTC (default \""+defaultSchedule+"\")")
	fl.StringVar(&f.timeout, "timeout", defaultTimeout, "time limit, at most 10m")
	fl.StringVar(&f.script, "script", "", "the shell script to run (default: an echo to replace)")
	fl.StringVar(&f.runnerType, "runner-type", defaultRunnerType, "runner type the job runs on: serverless or vm")
	fl.StringSliceVar(&f.tags, "tags", nil, "runner tags, comma separated")
	_ = c.RegisterFlagCompletionFunc("runner-type", cobra.FixedCompletions(eggTypes, cobra.ShellCompDirectiveNoFileComp))
	_ = c.MarkFlagDirname("nest")
	return c
}

func (a *App) runAddJob(cmd *cobra.Command, name string, f *jobFlags) error {
	if err := checkLabel("job name", name); err != nil {
		return err
	}
	nest, err := a.nestDir(f.nest)
	if err != nil {
		return err
	}
	target := filepath.Join(nest, "Jobs", name+".fly")
	if err := refuseExisting(target, f.force); err != nil {
		return err
	}
	r := resolver{cmd: cmd, p: a.prompter(cmd.Context(), f.yes)}
	s := jobSpec{Name: name, Timeout: f.timeout, Tags: f.tags}
	if err := oneOf(eggTypes...)(f.runnerType); err != nil {
		return usagef("--runner-type: %s", message(err))
	}
	s.RunnerType = f.runnerType
	if err := checkTags(f.tags); err != nil {
		return err
	}
	if s.Schedule, err = r.str("schedule", f.schedule, "Schedule (cron, 5 fields, UTC)", defaultSchedule, checkWith(domain.CheckSchedule)); err != nil {
		return err
	}
	defScript := fmt.Sprintf("echo 'job %s: replace this script'", name)
	if s.Script, err = r.str("script", f.script, "Script (one line; edit the file for more)", defScript, notEmpty); err != nil {
		return err
	}
	return a.writeChecked(cmd.Context(), fly.KindJob, nest, target, renderJob(s), f.force)
}

func refuseExisting(target string, force bool) error {
	if _, err := os.Lstat(target); err == nil && !force {
		return errs.Errorf(errs.ECONFLICT, "%s already exists (use --force to replace it)", target)
	}
	return nil
}

// writeChecked writes src to target only when it parses as kind without
// error and the Nest gains no error with it (see nestErrorsWith); warnings
// are printed and do not stop it.
func (a *App) writeChecked(ctx context.Context, kind fly.Kind, nest, target string, src []byte, force bool) error {
	p := fly.NewParser()
	_, diags := p.ParseKind(ctx, kind, target, src)
	a.printDiagnostics(p.Files(), diags)
	if diags.HasErrors() {
		fmt.Fprintf(a.Stderr, "nothing written: %s would not be valid\n", target)
		return errReported
	}
	files, gained, err := nestErrorsWith(ctx, nest, target, src)
	if err != nil {
		return err
	}
	if len(gained) > 0 {
		a.printDiagnostics(files, gained)
		fmt.Fprintf(a.Stderr, "nothing written: with %s the Nest would not be valid\n", target)
		return errReported
	}
	dir := filepath.Dir(target)
	created := !isDir(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(target, src, 0o644, force); err != nil {
		if created {
			_ = os.Remove(dir)
		}
		return err
	}
	fmt.Fprintf(a.Stdout, "wrote %s\n", target)
	return nil
}
