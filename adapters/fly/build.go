package fly

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/polar-gosling/polar-gosling/domain"
)

// parsed is one decoded file with what the Nest checks need: where each
// top-level block is, the GitLab projects and groups its eggs claim, and
// the egg names its uglyfox block refers to.
type parsed struct {
	file     File
	blocks   []topBlock
	claims   []claim
	entities []entityRef
}

// topBlock is a top-level block of a file (locals excluded).
type topBlock struct {
	typ        string
	name       string // "" when missing or invalid
	typeRange  hcl.Range
	labelRange hcl.Range
}

// claim is a GitLab project or group that an egg or bucket repo registers runners for.
type claim struct {
	server string
	kind   string // "project" or "group"
	id     int64
	rng    hcl.Range
	owner  string // `egg "a"` or `eggsbucket "b", repo "c"`
}

// entityRef is a name in eggs_entities.
type entityRef struct {
	name      string
	condition string
	rng       hcl.Range
}

// parseSource parses and decodes one file. It uses no shared state, so
// files can be parsed concurrently. The diagnostics are sorted and capped
// (capDiagnostics). A cancelled ctx stops it between blocks: the file then
// has one error, and no result.
func parseSource(ctx context.Context, filename string, src []byte) (*hcl.File, *parsed, hcl.Diagnostics) {
	if err := ctx.Err(); err != nil {
		return nil, nil, cancelled(filename, err)
	}
	if diags := CheckSource(filename, src); diags != nil {
		return nil, nil, diags
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		// The syntax tree of a file with syntax errors is partial: checking
		// it would report phantom problems, so only the syntax errors count.
		return f, nil, capDiagnostics(diags)
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return f, nil, capDiagnostics(diags)
	}
	fc := &fileCtx{src: src, diags: diags, done: ctx}
	f, p, diags := fc.decodeFile(f, body, filename)
	if err := ctx.Err(); err != nil {
		return nil, nil, cancelled(filename, err)
	}
	return f, p, capDiagnostics(diags)
}

// cancelled is the one diagnostic of a file whose parse was cancelled.
func cancelled(filename string, err error) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Parse cancelled", Detail: "Parsing stopped before the end: " + err.Error() + ".", Subject: fileStart(filename).Ptr()}}
}

// decodeFile decodes the body of a file that parsed.
func (fc *fileCtx) decodeFile(f *hcl.File, body *hclsyntax.Body, filename string) (*hcl.File, *parsed, hcl.Diagnostics) {
	for _, a := range sortedAttrs(body.Attributes) {
		fc.errorf(a.NameRange, "Unsupported argument", "A .fly file holds blocks (egg, eggsbucket, job, uglyfox, mothergoose, uglyfox_deployment, locals), not top-level arguments; %q belongs in one of them or in a locals block.", a.Name)
	}
	fc.evalLocals(body)
	root := fc.decodeBody(&hclsyntax.Body{Blocks: body.Blocks, SrcRange: body.SrcRange, EndRange: body.EndRange}, fileSpec, fileStart(filename), "a .fly file")
	p := &parsed{file: File{
		Eggs: []domain.EggConfig{}, Buckets: []domain.EggsBucketConfig{}, Jobs: []domain.JobConfig{},
		UglyFox: []domain.UglyFoxSettings{}, MotherGoose: []domain.MotherGooseConfig{}, UglyFoxDeployments: []domain.UglyFoxDeploymentConfig{},
	}}
	for _, bl := range body.Blocks {
		if bl.Type == "locals" || fileSpec.blockIndex(bl.Type) < 0 {
			continue
		}
		tb := topBlock{typ: bl.Type, typeRange: bl.TypeRange, labelRange: bl.DefRange()}
		if len(bl.Labels) > 0 {
			tb.labelRange = bl.LabelRanges[0]
			if domain.CheckConfigName(bl.Labels[0]) == nil {
				tb.name = bl.Labels[0]
			}
		}
		p.blocks = append(p.blocks, tb)
	}
	for _, n := range root.children("egg") {
		p.file.Eggs = append(p.file.Eggs, fc.buildEgg(n, p, filename))
	}
	for _, n := range root.children("eggsbucket") {
		p.file.Buckets = append(p.file.Buckets, fc.buildBucket(n, p, filename))
	}
	for _, n := range root.children("job") {
		p.file.Jobs = append(p.file.Jobs, fc.buildJob(n, filename))
	}
	for _, n := range root.children("uglyfox") {
		p.file.UglyFox = append(p.file.UglyFox, fc.buildUglyFox(n, p, filename))
	}
	mgNames := map[string]bool{}
	for _, n := range root.children("mothergoose") {
		p.file.MotherGoose = append(p.file.MotherGoose, fc.buildMotherGoose(n, filename))
		mgNames[n.label] = true
	}
	for _, n := range root.children("uglyfox_deployment") {
		p.file.UglyFoxDeployments = append(p.file.UglyFoxDeployments, fc.buildDeployment(n, mgNames, filename))
	}
	fc.checkEntityNames(root)
	return f, p, fc.diags
}

// fileStart is the range reported for what is missing from a whole file.
func fileStart(filename string) hcl.Range {
	return hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
}

// checkEntityNames reports an egg and a bucket of one file with the same
// name (same-type duplicates are reported by the decoder).
func (fc *fileCtx) checkEntityNames(root *node) {
	eggs := map[string]*node{}
	for _, n := range root.children("egg") {
		if n.label != "" && eggs[n.label] == nil {
			eggs[n.label] = n
		}
	}
	for _, n := range root.children("eggsbucket") {
		if prev := eggs[n.label]; n.label != "" && prev != nil {
			fc.errorf(n.labelRange(), "Duplicate egg name", "An egg named %q was already defined at line %d; eggs and eggsbuckets share one namespace.", n.label, prev.labelRange().Start.Line)
		}
	}
}

func (fc *fileCtx) buildEggSpec(n *node) domain.EggSpec {
	s := domain.EggSpec{
		Type:        eggType(n.str("type")),
		Cloud:       fc.buildCloud(n.child("cloud")),
		Environment: map[string]string{},
	}
	r := n.child("resources")
	s.Resources = domain.ResourcesConfig{CPU: int(r.int("cpu")), Memory: int(r.int("memory")), Disk: int(r.int("disk"))}
	if s.Type == domain.EggServerless && r.present("disk") {
		fc.warnf(r.val("disk").rng, "Argument ignored for serverless", "disk applies to vm eggs; a serverless egg's containers have no disk of their own, so this value is ignored.")
	}
	ru := n.child("runner")
	s.Runner = domain.RunnerConfig{
		Tags:           ru.list("tags"),
		Concurrent:     int(ru.int("concurrent")),
		IdleTimeout:    ru.dur("idle_timeout"),
		Image:          ru.str("image"),
		MaxJobDuration: ru.dur("max_job_duration"),
	}
	if s.Type == domain.EggServerless && ru.ok("max_job_duration") && s.Runner.MaxJobDuration.D > serverlessMaxJob {
		fc.errorf(ru.val("max_job_duration").rng, "Serverless job limit exceeded",
			"Serverless runners stop a job after 60m; max_job_duration %q is longer. Use type = \"vm\" for longer jobs.", s.Runner.MaxJobDuration.Text)
	}
	for _, fv := range n.child("environment").free {
		if err := domain.CheckEnvName(fv.name); err != nil {
			fc.errorf(fv.nameRange, "Invalid environment variable name", "%s", sentence(err))
			continue
		}
		if !fv.v.valid {
			continue
		}
		if domain.LooksLikeSecretURI(fv.v.s) {
			u, err := domain.CheckSecretURIShape(fv.v.s)
			if err != nil {
				fc.errorf(fv.v.rng, "Invalid secret URI", "%s", sentence(err))
				continue
			}
			fc.warnLocalSecret(u, fv.v.rng, "environment "+fv.name, s.Cloud.Provider)
		}
		s.Environment[fv.name] = fv.v.s
	}
	s.Rift = domain.RiftConfig{Enabled: n.child("rift").bool("enabled")}
	v := n.child("versions")
	s.Versions = domain.VersionsConfig{Tofu: v.str("tofu"), Gosling: v.str("gosling")}
	return s
}

// eggType and cloudProvider read an enum attribute the schema has checked
// (oneOf); a value it refused, already a diagnostic, is the zero value.
func eggType(s string) domain.EggType {
	t, _ := domain.ParseEggType(s)
	return t
}

func cloudProvider(s string) domain.CloudProvider {
	p, _ := domain.ParseCloudProvider(s)
	return p
}

// buildCloud checks the provider-specific arguments and the region.
func (fc *fileCtx) buildCloud(c *node) domain.CloudConfig {
	cc := domain.CloudConfig{
		Provider:         cloudProvider(c.str("provider")),
		Region:           c.str("region"),
		FolderID:         c.str("folder_id"),
		SubnetID:         c.str("subnet_id"),
		Cluster:          c.str("cluster"),
		SecurityGroupIDs: c.list("security_group_ids"),
	}
	if len(cc.SecurityGroupIDs) == 0 {
		cc.SecurityGroupIDs = nil
	}
	if !c.present("region") && c.block != nil {
		// Required but for the local provider, whose one region is "local".
		if cc.Provider == domain.ProviderLocal {
			cc.Region = "local"
		} else {
			fc.errorf(c.rng, "Missing required argument", "The argument \"region\" is required in the cloud block, but no definition was found.")
		}
	}
	if !c.ok("provider") {
		return cc
	}
	only := map[string]domain.CloudProvider{"folder_id": domain.ProviderYandex, "security_group_ids": domain.ProviderAWS, "cluster": domain.ProviderAWS}
	for _, name := range []string{"folder_id", "security_group_ids", "cluster"} {
		if c.present(name) && only[name] != cc.Provider {
			fc.errorf(c.val(name).rng, "Argument not valid for this provider", "%s applies to provider %q only; this cloud block has provider %q.", name, only[name], cc.Provider)
		}
	}
	if c.ok("region") {
		if err := domain.CheckRegion(cc.Provider, cc.Region); err != nil {
			fc.errorf(c.val("region").rng, "Unknown region", "%s", sentence(err))
		}
	}
	return cc
}

// buildGitLab applies the secret defaults and records the claim.
func (fc *fileCtx) buildGitLab(g *node, provider domain.CloudProvider, owner, secretOwner string, p *parsed) domain.GitLabConfig {
	gl := domain.GitLabConfig{
		Server:        g.str("server"),
		ProjectID:     g.int("project_id"),
		GroupID:       g.int("group_id"),
		TokenSecret:   g.str("token_secret"),
		WebhookSecret: g.str("webhook_secret"),
	}
	if g.block == nil {
		return gl // missing block, reported
	}
	switch {
	case g.present("project_id") && g.present("group_id"):
		fc.errorf(g.val("group_id").rng, "Conflicting arguments", "Set exactly one of project_id (a project runner) and group_id (a group runner), not both.")
	case !g.present("project_id") && !g.present("group_id"):
		fc.errorf(g.rng, "Missing GitLab project or group", "A gitlab block sets exactly one of project_id (a project runner) and group_id (a group runner).")
	case g.ok("server") && (g.ok("project_id") || g.ok("group_id")):
		kind, id := gl.Target()
		rng := g.val(kind + "_id").rng
		p.claims = append(p.claims, claim{server: gl.Server, kind: kind, id: id, rng: rng, owner: owner})
	}
	secrets := []struct {
		name string
		key  string
		dst  *string
	}{{"token_secret", domain.SecretKeyRunnerToken, &gl.TokenSecret}, {"webhook_secret", domain.SecretKeyWebhookSecret, &gl.WebhookSecret}}
	for _, s := range secrets {
		switch {
		case g.ok(s.name):
			u, _ := domain.CheckSecretURIShape(*s.dst)
			fc.warnLocalSecret(u, g.val(s.name).rng, s.name, provider)
		case !g.present(s.name) && g.ok("server"):
			*s.dst = domain.DefaultSecretURI(provider, gl.Server, secretOwner, s.key)
		}
	}
	return gl
}

// warnLocalSecret warns when a local secret backend is used with a cloud provider.
func (fc *fileCtx) warnLocalSecret(u domain.SecretURI, rng hcl.Range, what string, provider domain.CloudProvider) {
	if !domain.IsLocalSecretScheme(u) || domain.SecretSchemeFor(provider) == "" {
		return
	}
	fc.warnf(rng, "Local secret with a cloud provider",
		"%s uses %s://, a local backend, but the runners run on %s and cannot read it there. Use %s://, vault:// or another cloud secret store.",
		what, u.Scheme(), provider, domain.SecretSchemeFor(provider))
}

func (fc *fileCtx) buildEgg(n *node, p *parsed, path string) domain.EggConfig {
	e := domain.EggConfig{Name: n.label, EggSpec: fc.buildEggSpec(n), Path: path}
	e.GitLab = fc.buildGitLab(n.child("gitlab"), e.Cloud.Provider, fmt.Sprintf("egg %q", n.label), n.label, p)
	return e
}

func (fc *fileCtx) buildBucket(n *node, p *parsed, path string) domain.EggsBucketConfig {
	b := domain.EggsBucketConfig{Name: n.label, EggSpec: fc.buildEggSpec(n), Repositories: []domain.RepoConfig{}, Path: path}
	for _, r := range n.child("repositories").children("repo") {
		owner := fmt.Sprintf("eggsbucket %q, repo %q", n.label, r.label)
		b.Repositories = append(b.Repositories, domain.RepoConfig{
			Name:   r.label,
			GitLab: fc.buildGitLab(r.child("gitlab"), b.Cloud.Provider, owner, n.label+"/"+r.label, p),
		})
	}
	return b
}

func (fc *fileCtx) buildJob(n *node, path string) domain.JobConfig {
	r := n.child("runner")
	j := domain.JobConfig{
		Name:     n.label,
		Schedule: n.str("schedule"),
		Timeout:  n.dur("timeout"),
		Script:   n.str("script"),
		Runner:   domain.JobRunnerConfig{Type: eggType(r.str("type")), Tags: r.list("tags")},
		Path:     path,
	}
	if of := n.child("on_failure"); of.block != nil {
		j.OnFailure = &domain.OnFailureConfig{Notify: of.list("notify")}
	}
	return j
}

func (fc *fileCtx) buildUglyFox(n *node, p *parsed, path string) domain.UglyFoxSettings {
	pr := n.child("pruning")
	u := domain.UglyFoxSettings{
		Pruning: domain.PruningConfig{
			FailedThreshold:  int(pr.int("failed_threshold")),
			MaxAge:           pr.dur("max_age"),
			CheckInterval:    pr.dur("check_interval"),
			HeartbeatTimeout: pr.dur("heartbeat_timeout"),
		},
		RunnersConditions: []domain.RunnersConditionConfig{},
		Policies:          []domain.PolicyRule{},
		Path:              path,
	}
	claimedBy := map[string]string{}
	for _, rc := range n.children("runners_condition") {
		apex, nadir := rc.child("apex"), rc.child("nadir")
		c := domain.RunnersConditionConfig{
			Name:         rc.label,
			EggsEntities: rc.list("eggs_entities"),
			Apex: domain.ApexConfig{
				MinCount: int(apex.int("min_count")), MaxCount: int(apex.int("max_count")),
				CPUThreshold: int(apex.int("cpu_threshold")), MemoryThreshold: int(apex.int("memory_threshold")),
			},
			Nadir: domain.NadirConfig{MinCount: int(nadir.int("min_count")), MaxCount: int(nadir.int("max_count")), IdleTimeout: nadir.dur("idle_timeout")},
		}
		fc.checkBounds(apex, "apex")
		fc.checkBounds(nadir, "nadir")
		if v := rc.val("eggs_entities"); v.valid {
			for i, name := range v.list {
				if prev, dup := claimedBy[name]; dup {
					fc.errorf(v.elems[i], "Egg in two runners conditions", "%q is already in runners_condition %q; an egg or bucket follows one runners_condition.", name, prev)
					continue
				}
				claimedBy[name] = rc.label
				p.entities = append(p.entities, entityRef{name: name, condition: rc.label, rng: v.elems[i]})
			}
		}
		u.RunnersConditions = append(u.RunnersConditions, c)
	}
	for _, r := range n.child("policies").children("rule") {
		rule := domain.PolicyRule{Name: r.label, Action: r.str("action")}
		if v := r.val("when"); v.cond != nil {
			rule.When = v.cond
		}
		u.Policies = append(u.Policies, rule)
	}
	return u
}

// checkBounds reports min_count > max_count of a pool block.
func (fc *fileCtx) checkBounds(pool *node, name string) {
	if lo, hi := pool.int("min_count"), pool.int("max_count"); lo > hi && (pool.ok("min_count") || pool.ok("max_count")) {
		rng := pool.rng
		if pool.ok("max_count") {
			rng = pool.val("max_count").rng
		} else if pool.ok("min_count") {
			rng = pool.val("min_count").rng
		}
		fc.errorf(rng, "Invalid pool bounds", "The %s pool's min_count (%d) is greater than its max_count (%d).", name, lo, hi)
	}
}

func (fc *fileCtx) buildContainers(nodes []*node) []domain.ContainerConfig {
	out := []domain.ContainerConfig{}
	for _, c := range nodes {
		out = append(out, domain.ContainerConfig{
			Name: c.label, Image: c.str("image"), Memory: int(c.int("memory")), Cores: int(c.int("cores")), Concurrency: int(c.int("concurrency")),
		})
	}
	return out
}

func (fc *fileCtx) buildMotherGoose(n *node, path string) domain.MotherGooseConfig {
	cn := n.child("cloud")
	m := domain.MotherGooseConfig{
		Name:            n.label,
		Cloud:           fc.buildCloud(cn),
		MessageQueues:   []domain.MessageQueueConfig{},
		Triggers:        []domain.TriggerConfig{},
		Containers:      fc.buildContainers(n.children("container")),
		ServiceAccounts: []domain.ServiceAccountConfig{},
		Path:            path,
	}
	provider := m.Cloud.Provider
	if cn.block != nil && cn.ok("provider") && provider == domain.ProviderYandex && !cn.present("folder_id") {
		fc.errorf(cn.rng, "Missing required argument", "The argument \"folder_id\" is required in the cloud block of a mothergoose on provider \"yandex\".")
	}
	db := n.child("database")
	m.Database = domain.DatabaseConfig{Kind: db.str("kind"), Endpoint: db.str("endpoint"), Name: db.str("name")}
	if db.ok("kind") && cn.ok("provider") {
		want := map[string]domain.CloudProvider{"ydb": domain.ProviderYandex, "dynamodb": domain.ProviderAWS}[m.Database.Kind]
		if want != provider {
			fc.errorf(db.val("kind").rng, "Database not available on this provider", "A %s database runs on provider %q; this mothergoose uses %q.", m.Database.Kind, want, provider)
		}
	}
	if db.ok("kind") && m.Database.Kind == "ydb" {
		for _, name := range []string{"endpoint", "name"} {
			if !db.present(name) {
				fc.errorf(db.rng, "Missing required argument", "The argument %q is required in a database block of kind \"ydb\".", name)
			}
		}
	}
	for _, q := range n.children("message_queue") {
		m.MessageQueues = append(m.MessageQueues, domain.MessageQueueConfig{
			Name: q.label, VisibilityTimeout: q.dur("visibility_timeout"), MessageRetention: q.dur("message_retention"), MaxReceives: int(q.int("max_receives")),
		})
	}
	for _, t := range n.children("trigger") {
		m.Triggers = append(m.Triggers, domain.TriggerConfig{Name: t.label, Schedule: t.str("schedule"), Endpoint: t.str("endpoint"), Method: t.str("method")})
	}
	for _, sa := range n.children("service_account") {
		m.ServiceAccounts = append(m.ServiceAccounts, domain.ServiceAccountConfig{Name: sa.label, Roles: sa.list("roles")})
	}
	if st := n.child("storage"); st.block != nil {
		m.Storage = &domain.StorageConfig{Bucket: st.str("bucket"), Region: st.str("region")}
		if !st.present("region") {
			m.Storage.Region = m.Cloud.Region
		} else if st.ok("region") && cn.ok("provider") {
			if err := domain.CheckRegion(provider, m.Storage.Region); err != nil {
				fc.errorf(st.val("region").rng, "Unknown region", "%s", sentence(err))
			}
		}
	}
	return m
}

func (fc *fileCtx) buildDeployment(n *node, mothergoose map[string]bool, path string) domain.UglyFoxDeploymentConfig {
	d := domain.UglyFoxDeploymentConfig{Name: n.label, MotherGoose: n.str("mothergoose"), Containers: fc.buildContainers(n.children("container")), Path: path}
	if n.ok("mothergoose") && !mothergoose[d.MotherGoose] {
		names := make([]string, 0, len(mothergoose))
		for name := range mothergoose {
			names = append(names, strconv.Quote(name))
		}
		known := "this file has none"
		if len(names) > 0 {
			known = "this file has " + strings.Join(sortedCopy(names), ", ")
		}
		fc.errorf(n.val("mothergoose").rng, "Unknown mothergoose", "No mothergoose block named %q in this file (%s); an uglyfox_deployment inherits the cloud settings of a mothergoose of the same file.", d.MotherGoose, known)
	}
	return d
}
