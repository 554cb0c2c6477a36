package fly

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// The schema of the .fly language as data. The decoder (decode.go) checks
// files against these tables, and ExplainSchema renders them, so the
// documentation cannot drift from what is enforced. Rules that involve more
// than one attribute (exactly one of project_id/group_id, the serverless
// duration limit, provider-specific arguments, regions) live in the
// builders (build.go) and are described by each attribute's note.

// valueType is the type of an attribute value.
type valueType int

const (
	tString     valueType = iota // a non-empty string
	tName                        // a name: ^[a-z][a-z0-9-]{0,62}$
	tEnum                        // one of a fixed set of strings
	tInt                         // a whole number
	tBool                        // true or false
	tDuration                    // "90s", "10m", "1h30m", "3d"
	tSecret                      // a secret URI
	tCron                        // a cron schedule
	tHost                        // a fully qualified host name, an optional :port
	tVersion                     // MAJOR.MINOR.PATCH
	tStringList                  // a list of non-empty strings
	tTagList                     // a list of GitLab runner tags
	tNameList                    // a list of names
	tCondition                   // a boolean expression over runner variables, kept unevaluated
	tAny                         // any value (locals)
)

func (t valueType) String() string {
	return [...]string{
		tString: "string", tName: "name", tEnum: "string", tInt: "number", tBool: "bool",
		tDuration: "duration", tSecret: "secret URI", tCron: "cron", tHost: "host name",
		tVersion: "version", tStringList: "list(string)", tTagList: "list(tag)",
		tNameList: "list(name)", tCondition: "expression(bool)", tAny: "any",
	}[t]
}

// attrSpec is one attribute of a block.
type attrSpec struct {
	name     string
	typ      valueType
	required bool
	def      any           // default: int64, string, bool, []string or domain.Duration; nil if none
	defDoc   string        // default as documented when it is not a constant ("the cloud region")
	min, max int64         // tInt range, inclusive; max 0 means no upper bound
	dmin     time.Duration // tDuration range, inclusive
	dmax     time.Duration
	enum     []string
	minItems int                // lists: at least this many elements
	check    func(string) error // extra check of a string (each element of a tStringList)
	rule     string             // what check enforces, for ExplainSchema
	note     string             // more for ExplainSchema (rules across attributes)
}

// blockSpec is one kind of nested block.
type blockSpec struct {
	name  string
	label string // what the one label names ("egg name"); "" for no label
	min   int    // at least this many (1: required)
	multi bool   // may repeat
	body  *bodySpec
	skip  bool // decoded elsewhere (locals)
	note  string
}

// bodySpec is what a block body may contain.
type bodySpec struct {
	attrs  []*attrSpec
	blocks []*blockSpec
	free   *attrSpec // any attribute name, all of this spec (environment, locals)
	freeOn string    // what the free attribute names are, for ExplainSchema

	emptyOnce sync.Once
	empty     *node // the node of an absent block
}

func (b *bodySpec) attrIndex(name string) int {
	for i, a := range b.attrs {
		if a.name == name {
			return i
		}
	}
	return -1
}

func (b *bodySpec) blockIndex(name string) int {
	for i, bl := range b.blocks {
		if bl.name == name {
			return i
		}
	}
	return -1
}

// Table helpers.

func attr(name string, t valueType) *attrSpec { return &attrSpec{name: name, typ: t} }

func (a *attrSpec) req() *attrSpec                 { a.required = true; return a }
func (a *attrSpec) withDefault(v any) *attrSpec    { a.def = v; return a }
func (a *attrSpec) defaultDoc(s string) *attrSpec  { a.defDoc = s; return a }
func (a *attrSpec) oneOf(v ...string) *attrSpec    { a.enum = v; return a }
func (a *attrSpec) atLeast(n int) *attrSpec        { a.minItems = n; return a }
func (a *attrSpec) notes(s string) *attrSpec       { a.note = s; return a }
func (a *attrSpec) between(lo, hi int64) *attrSpec { a.min, a.max = lo, hi; return a }

func (a *attrSpec) checked(rule string, f func(string) error) *attrSpec {
	a.rule, a.check = rule, f
	return a
}

// dur sets a duration default and range.
func (a *attrSpec) dur(def string, lo, hi string) *attrSpec {
	if def != "" {
		a.def = domain.MustDuration(def)
	}
	a.dmin, a.dmax = domain.MustDuration(lo).D, domain.MustDuration(hi).D
	return a
}

func block(name string, body *bodySpec) *blockSpec { return &blockSpec{name: name, body: body} }

func (b *blockSpec) required() *blockSpec { b.min = 1; return b }
func (b *blockSpec) named(label string) *blockSpec {
	b.label, b.multi = label, true
	return b
}
func (b *blockSpec) notes(s string) *blockSpec { b.note = s; return b }

func body(items ...any) *bodySpec {
	b := &bodySpec{}
	for _, it := range items {
		switch it := it.(type) {
		case *attrSpec:
			b.attrs = append(b.attrs, it)
		case *blockSpec:
			b.blocks = append(b.blocks, it)
		default:
			panic(fmt.Sprintf("fly: schema item %T", it))
		}
	}
	return b
}

// The value limits FLY.md sets.
const (
	serverlessMaxJob = 60 * time.Minute
	maxGitLabID      = 1<<53 - 1 // ids stay exact in JSON
)

func checkEndpointPath(s string) error {
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\r\n?#") {
		return errs.Errorf(errs.EINVALID, "%q is not a path starting with '/' (like /internal/sync-git)", s)
	}
	return nil
}

func checkNoSpace(s string) error {
	if strings.ContainsAny(s, " \t\r\n") {
		return errs.Errorf(errs.EINVALID, "%q contains white space", s)
	}
	return nil
}

func checkRole(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:/-", c) >= 0) {
			return errs.Errorf(errs.EINVALID, "role %q: only letters, digits and _ . : / - are allowed", s)
		}
	}
	return nil
}

func checkBucketName(s string) error {
	ok := len(s) >= 3 && len(s) <= 63
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' || c == '.') && i > 0 && i < len(s)-1
	}
	if !ok {
		return errs.Errorf(errs.EINVALID, "bucket %q: 3 to 63 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", s)
	}
	return nil
}

func checkNotify(s string) error {
	if strings.HasPrefix(s, "https://") && len(s) > len("https://") && checkNoSpace(s) == nil {
		return nil
	}
	user, host, ok := strings.Cut(s, "@")
	if ok && user != "" && strings.Contains(host, ".") && !strings.ContainsAny(host, "@") && checkNoSpace(s) == nil && domain.CheckHostName(host) == nil {
		return nil
	}
	return errs.Errorf(errs.EINVALID, "%q is neither an e-mail address nor an https:// URL", s)
}

func checkDatabaseEndpoint(s string) error {
	if checkNoSpace(s) != nil || !strings.Contains(s, "://") {
		return errs.Errorf(errs.EINVALID, "%q is not a URL (like grpcs://ydb.serverless.yandexcloud.net:2135)", s)
	}
	return nil
}

// The schema tables.
var (
	cloudSpec = body(
		attr("provider", tEnum).req().oneOf(domain.Spellings(domain.CloudProviders)...),
		attr("region", tString).notes(`a region or zone of the provider, from the Regions table below; required for yandex and aws, optional for local (always "local")`),
		attr("folder_id", tString).checked("no white space", checkNoSpace).
			notes(`yandex only: the folder of the resources; eggs default to the folder of MotherGoose, mothergoose requires it`),
		attr("subnet_id", tString).checked("no white space", checkNoSpace).notes("yandex and aws: the subnet of the runners"),
		attr("security_group_ids", tStringList).checked("no white space", checkNoSpace).notes("aws only"),
		attr("cluster", tString).checked("no white space", checkNoSpace).notes("aws only: the ECS cluster of serverless runners"),
	)

	resourcesSpec = body(
		attr("cpu", tInt).between(1, 128).withDefault(int64(2)).notes("vCPUs"),
		attr("memory", tInt).between(512, 524288).withDefault(int64(4096)).notes("MiB"),
		attr("disk", tInt).between(10, 10240).withDefault(int64(20)).notes("GiB; ignored for serverless (a warning when set)"),
	)

	eggRunnerSpec = body(
		attr("tags", tTagList).withDefault([]string{}).notes("GitLab runner tags; no duplicates"),
		attr("concurrent", tInt).between(1, 100).withDefault(int64(1)).notes("jobs run at once by one runner"),
		attr("idle_timeout", tDuration).dur("10m", "1m", "168h"),
		attr("image", tString).checked("no white space", checkNoSpace).notes("the serverless container image, or the default job image of a VM"),
		attr("max_job_duration", tDuration).dur("60m", "1m", "168h").notes("at most 60m for serverless eggs (the platform's hard limit)"),
	)

	gitlabSpec = body(
		attr("server", tHost).req().notes("the GitLab host (FQDN, no scheme, an optional :port); normalized to lowercase"),
		attr("project_id", tInt).between(1, maxGitLabID).notes("a project runner; exactly one of project_id and group_id"),
		attr("group_id", tInt).between(1, maxGitLabID).notes("a group runner (projects found through the GitLab API); exactly one of project_id and group_id"),
		attr("token_secret", tSecret).defaultDoc("<scheme>://gitlab/<server>/<owner>/runner-token").
			notes("the runner token; see Secret conventions"),
		attr("webhook_secret", tSecret).defaultDoc("<scheme>://gitlab/<server>/<owner>/webhook-secret").
			notes("the X-Gitlab-Token of the project or group webhook; see Secret conventions"),
	)

	environmentSpec = &bodySpec{
		free:   attr("<NAME>", tString).notes("string values only; a value starting with a secret URI scheme is checked as a secret URI"),
		freeOn: "environment variable names (^[A-Za-z_][A-Za-z0-9_]*$)",
	}

	riftSpec     = body(attr("enabled", tBool).withDefault(false).notes("a remote Docker context and image/build cache for this egg's runners"))
	versionsSpec = body(
		attr("tofu", tVersion).defaultDoc("the active version").notes("OpenTofu version pin"),
		attr("gosling", tVersion).defaultDoc("the active version").notes("gosling runner agent version pin"),
	)

	eggTypeAttr = attr("type", tEnum).req().oneOf(domain.Spellings(domain.EggTypes)...).
			notes("serverless: one container per job (60 minutes at most); vm: VMs in the Apex and Nadir pools")

	eggSpec = body(
		eggTypeAttr,
		block("cloud", cloudSpec).required(),
		block("resources", resourcesSpec),
		block("runner", eggRunnerSpec),
		block("gitlab", gitlabSpec).required(),
		block("environment", environmentSpec),
		block("rift", riftSpec),
		block("versions", versionsSpec),
	)

	bucketSpec = body(
		eggTypeAttr,
		block("cloud", cloudSpec).required(),
		block("resources", resourcesSpec),
		block("runner", eggRunnerSpec),
		block("repositories", body(
			block("repo", body(block("gitlab", gitlabSpec).required())).named("repo name").required().
				notes("<owner> of the default secrets is <bucket>/<repo>"),
		)).required(),
		block("environment", environmentSpec),
		block("rift", riftSpec),
		block("versions", versionsSpec),
	)

	jobSpec = body(
		attr("schedule", tCron).req().notes("in UTC"),
		attr("timeout", tDuration).dur("10m", "1s", "10m"),
		attr("script", tString).req().notes("shell script run on the Nest runner"),
		block("runner", body(
			attr("type", tEnum).oneOf(domain.Spellings(domain.EggTypes)...).withDefault(domain.EggServerless.String()),
			attr("tags", tTagList).withDefault([]string{}),
		)),
		block("on_failure", body(
			attr("notify", tStringList).req().atLeast(1).checked("e-mail addresses or https:// webhook URLs", checkNotify),
		)),
	)

	uglyfoxSpec = body(
		block("pruning", body(
			attr("failed_threshold", tInt).between(1, 100).withDefault(int64(5)).notes("heartbeat silences since deployment after which a runner is pruned"),
			attr("max_age", tDuration).dur("72h", "1m", "8760h").notes("runners older than this are replaced"),
			attr("check_interval", tDuration).dur("5m", "10s", "24h"),
			attr("heartbeat_timeout", tDuration).dur("3m", "10s", "24h").notes("no heartbeat for this long => HeartbeatMissed"),
		)),
		block("runners_condition", body(
			attr("eggs_entities", tNameList).req().atLeast(1).
				notes("eggs and eggsbuckets of the Nest; an egg may be in one runners_condition only; pools apply to vm eggs (a warning for serverless ones)"),
			block("apex", body(
				attr("min_count", tInt).between(0, 1000).withDefault(int64(0)),
				attr("max_count", tInt).between(0, 1000).withDefault(int64(10)).notes("at least min_count"),
				attr("cpu_threshold", tInt).between(1, 100).withDefault(int64(80)).notes("percent: above it a Nadir runner is promoted"),
				attr("memory_threshold", tInt).between(1, 100).withDefault(int64(80)).notes("percent"),
			)),
			block("nadir", body(
				attr("min_count", tInt).between(0, 1000).withDefault(int64(0)),
				attr("max_count", tInt).between(0, 1000).withDefault(int64(5)).notes("at least min_count"),
				attr("idle_timeout", tDuration).dur("30m", "1m", "8760h").notes("an Apex runner idle this long may be demoted"),
			)),
		)).named("condition name"),
		block("policies", body(
			block("rule", body(
				attr("when", tCondition).req().notes("see Policy conditions"),
				attr("action", tEnum).req().oneOf(domain.PolicyActions...),
			)).named("rule name").notes("rules apply in file order; the first whose when holds wins"),
		)),
	)

	containerSpec = body(
		attr("image", tString).req().checked("no white space", checkNoSpace),
		attr("memory", tInt).between(128, 32768).withDefault(int64(512)).notes("MiB"),
		attr("cores", tInt).between(1, 16).withDefault(int64(1)),
		attr("concurrency", tInt).between(1, 16).withDefault(int64(1)).notes("requests served at once by one instance"),
	)

	motherGooseSpec = body(
		block("cloud", cloudSpec).required(),
		block("database", body(
			attr("kind", tEnum).req().oneOf("ydb", "dynamodb").notes(`ydb needs provider "yandex", dynamodb needs "aws"`),
			attr("endpoint", tString).checked("a URL", checkDatabaseEndpoint).notes("required for ydb (grpcs://...)"),
			attr("name", tString).checked("no white space", checkNoSpace).notes("ydb: the database path (required); dynamodb: the table prefix"),
		)).required(),
		block("message_queue", body(
			attr("visibility_timeout", tDuration).dur("30s", "0s", "12h"),
			attr("message_retention", tDuration).dur("4d", "1m", "14d"),
			attr("max_receives", tInt).between(1, 1000).withDefault(int64(5)).notes("deliveries before the dead-letter queue"),
		)).named("queue name"),
		block("trigger", body(
			attr("schedule", tCron).req().notes("in UTC"),
			attr("endpoint", tString).req().checked("a path starting with /", checkEndpointPath),
			attr("method", tEnum).oneOf("GET", "POST", "PUT", "PATCH", "DELETE").withDefault("POST"),
		)).named("trigger name"),
		block("container", containerSpec).named("container name"),
		block("service_account", body(
			attr("roles", tStringList).req().atLeast(1).checked("letters, digits and _ . : / -", checkRole),
		)).named("service account name"),
		block("storage", body(
			attr("bucket", tString).req().checked("an object storage bucket name", checkBucketName),
			attr("region", tString).defaultDoc("the cloud region").notes("a region of the provider"),
		)),
	)

	uglyfoxDeploymentSpec = body(
		attr("mothergoose", tName).req().notes("a mothergoose block of the same file, whose cloud settings it inherits"),
		block("container", containerSpec).named("container name").required(),
	)

	localsSpec = &bodySpec{
		free:   attr("<name>", tAny).notes("any value; usable as local.<name> in the same file, in any order"),
		freeOn: "local value names",
	}

	// fileSpec is the top level of every .fly file.
	fileSpec = body(
		block("egg", eggSpec).named("egg name").notes("Eggs/<name>/config.fly"),
		block("eggsbucket", bucketSpec).named("bucket name").notes("Eggs/<name>/config.fly"),
		block("job", jobSpec).named("job name").notes("Jobs/<name>.fly"),
		block("uglyfox", uglyfoxSpec).notes("UF/config.fly"),
		block("mothergoose", motherGooseSpec).named("mothergoose name").notes("MG/config.fly"),
		block("uglyfox_deployment", uglyfoxDeploymentSpec).named("deployment name").notes("MG/config.fly"),
		&blockSpec{name: "locals", multi: true, body: localsSpec, skip: true, note: "any file"},
	)
)
