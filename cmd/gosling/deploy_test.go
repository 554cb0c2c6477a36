package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/adapters/sqlite/sqlitetest"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// fakeDeployer answers as the provisioner would: egg web's deploy goes
// through PENDING and APPLIED plans to converged, egg bad's fails, egg
// slow's never finishes.
type fakeDeployer struct {
	mu       sync.Mutex
	polls    map[string]int
	rolledTo []string
}

func (f *fakeDeployer) Plan(_ context.Context, egg string) (commands.DeployPlan, error) {
	if egg == "nope" {
		return commands.DeployPlan{}, errs.Errorf(errs.ENOTFOUND, "egg nope does not exist")
	}
	return commands.DeployPlan{Egg: egg, FromConfigHash: "h2", ToConfigHash: "h2", Changes: 1,
		Runners: []commands.RunnerChange{{RunnerID: "w1", State: "IDLE", ConfigHash: "h1", Change: commands.ChangeReplace, Reason: "configuration h1 -> h2"}},
		Diffs: []commands.ConfigDiff{{FromConfigHash: "h1", ToConfigHash: "h2", Runners: []string{"w1"},
			Fields: []commands.FieldChange{{Field: "cpu", From: "1", To: "2"}, {Field: "tags", From: "docker", To: "docker,linux"}}}}}, nil
}

func (f *fakeDeployer) answer(egg, kind string) commands.DeployAnswer {
	p, _ := f.Plan(context.Background(), egg)
	return commands.DeployAnswer{Egg: egg, DeployID: "d-" + egg, Kind: kind, ConfigHash: "h2", Status: "running", Message: kind + " d-" + egg + " is running", Plan: p, PlanIDs: []string{}}
}

func (f *fakeDeployer) Deploy(_ context.Context, egg string, _ commands.Meta) (commands.DeployAnswer, error) {
	return f.answer(egg, "deploy"), nil
}

func (f *fakeDeployer) Rollback(_ context.Context, egg, to string, _ commands.Meta) (commands.DeployAnswer, error) {
	f.mu.Lock()
	f.rolledTo = append(f.rolledTo, to)
	f.mu.Unlock()
	if egg == "fresh" {
		return commands.DeployAnswer{}, errs.Errorf(errs.ECONFLICT, "egg fresh has no applied plan made under a configuration other than its current h1; there is nothing to roll back to")
	}
	a := f.answer(egg, "rollback")
	a.RestoredPlanID = to
	return a, nil
}

func (f *fakeDeployer) DeployStatus(_ context.Context, egg, id string) (commands.DeployStatus, error) {
	f.mu.Lock()
	f.polls[id]++
	n := f.polls[id]
	f.mu.Unlock()
	st := commands.DeployStatus{Egg: egg, DeployID: id, Kind: "deploy", ConfigHash: "h2", Status: "running",
		Plans: []commands.DeployPlanStatus{{PlanID: "p1", RunnerID: "w1", Action: "destroy", Status: "PENDING"}}}
	if egg == "slow" {
		return st, nil
	}
	if n >= 2 {
		st.Plans[0].Status = "APPLIED"
		st.Plans = append(st.Plans, commands.DeployPlanStatus{PlanID: "p2", RunnerID: "w2", Action: "create", Status: "APPLIED"})
	}
	if n >= 3 {
		st.Status, st.Outcome = "finished", "converged"
		if egg == "bad" {
			st.Outcome, st.Reason = "failed", "egg bad: its last 3 runners failed to provision"
		}
	}
	return st, nil
}

func newDeployServer(t *testing.T) (string, *fakeDeployer) {
	t.Helper()
	core := sqlitetest.NewCore(t)
	f := &fakeDeployer{polls: map[string]int{}}
	handler, err := httpapi.New(httpapi.Config{
		Handlers: core.Handlers, Views: core.DB.Views(), Events: core.DB.Events(), Secrets: secrets.NewLocal(),
		APIToken: testAPIToken, TriggerToken: "trigger-token", Registry: prometheus.NewRegistry(), Deployer: f,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL, f
}

func TestPlan_table_and_json(t *testing.T) {
	url, _ := newDeployServer(t)
	api := []string{"--server", url, "--token", testAPIToken}
	r := mustRunCLI(t, 0, append([]string{"plan", "web"}, api...)...)
	for _, re := range []string{
		`(?m)^egg web: configuration h2; 1 changes$`,
		`(?m)^RUNNER\s+STATE\s+CONFIG\s+CHANGE\s+REASON$`,
		`(?m)^w1\s+IDLE\s+h1\s+replace\s+configuration h1 -> h2$`,
		`(?m)^CONFIGURATION h1 -> h2 \(runners: w1\)$`,
		`(?m)^cpu\s+1\s+2$`,
		`(?m)^tags\s+docker\s+docker,linux$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("plan table: no line matching %s in\n%s", re, r.stdout)
		}
	}
	r = mustRunCLI(t, 0, append([]string{"plan", "web", "--format", "json"}, api...)...)
	var p commands.DeployPlan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || p.Changes != 1 || len(p.Diffs) != 1 || p.Diffs[0].Fields[0].Field != "cpu" {
		t.Fatalf("plan json: %v %+v\n%s", err, p, r.stdout)
	}
	r = mustRunCLI(t, 1, append([]string{"plan", "nope"}, api...)...)
	if !strings.Contains(r.stderr, "server answered 404 ENOTFOUND: egg nope does not exist") {
		t.Fatalf("unknown egg: %s", r.stderr)
	}
}

func TestDeploy_wait_prints_progress(t *testing.T) {
	url, _ := newDeployServer(t)
	api := []string{"--server", url, "--token", testAPIToken, "--poll", "5ms"}
	r := mustRunCLI(t, 0, append([]string{"deploy", "web", "--wait"}, api...)...)
	for _, want := range []string{
		"deploy d-web of egg web: running, configuration h2\n",
		"plan p1 (destroy runner w1): PENDING\n",
		"plan p1 (destroy runner w1): APPLIED\n",
		"plan p2 (create runner w2): APPLIED\n",
		"deploy d-web of egg web finished: converged\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("deploy --wait: no %q in\n%s", want, r.stdout)
		}
	}
	if strings.Count(r.stdout, "plan p1 (destroy runner w1): APPLIED") != 1 {
		t.Errorf("a progress line repeated:\n%s", r.stdout)
	}

	// --format json: the final status on stdout, the progress on stderr.
	r = mustRunCLI(t, 0, append([]string{"deploy", "web", "--wait", "--format", "json"}, api...)...)
	var st commands.DeployStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Status != "finished" || st.Outcome != "converged" {
		t.Fatalf("deploy --wait --format json: %v %+v\n%s", err, st, r.stdout)
	}
	if !strings.Contains(r.stderr, "plan p1 (destroy runner w1)") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}

	r = mustRunCLI(t, 1, append([]string{"deploy", "bad", "--wait"}, api...)...)
	if !strings.Contains(r.stderr, "did not converge: failed (egg bad: its last 3 runners failed to provision)") {
		t.Errorf("failed deploy: %s", r.stderr)
	}
	r = mustRunCLI(t, 1, append([]string{"deploy", "slow", "--wait", "--timeout", "100ms"}, api...)...)
	if !strings.Contains(r.stderr, "still running after 100ms (--timeout)") {
		t.Errorf("timed out deploy: %s", r.stderr)
	}
	mustRunCLI(t, 2, append([]string{"deploy", "web", "--wait", "--timeout", "0s"}, api...)...)
}

func TestRollback_to_and_json(t *testing.T) {
	url, f := newDeployServer(t)
	api := []string{"--server", url, "--token", testAPIToken}
	r := mustRunCLI(t, 0, append([]string{"rollback", "web", "--to", "p0", "--format", "json"}, api...)...)
	var a commands.DeployAnswer
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || a.Kind != "rollback" || a.RestoredPlanID != "p0" {
		t.Fatalf("rollback json: %v %+v\n%s", err, a, r.stdout)
	}
	r = mustRunCLI(t, 0, append([]string{"rollback", "web"}, api...)...)
	if !strings.HasPrefix(r.stdout, "rollback d-web of egg web: running, configuration h2\n") {
		t.Errorf("rollback table:\n%s", r.stdout)
	}
	if f.rolledTo[0] != "p0" || f.rolledTo[1] != "" {
		t.Fatalf("rolled back to %q, want p0 then the default", f.rolledTo)
	}
	r = mustRunCLI(t, 1, append([]string{"rollback", "fresh"}, api...)...)
	if !strings.Contains(r.stderr, "409 ECONFLICT: egg fresh has no applied plan") {
		t.Errorf("nothing to roll back to: %s", r.stderr)
	}
}
