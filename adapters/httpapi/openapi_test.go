package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/polar-gosling/polar-gosling/adapters/httpapi"
	"github.com/polar-gosling/polar-gosling/adapters/secrets"
	"github.com/polar-gosling/polar-gosling/ports"
)

type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		Schemas         map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

func mustOpenAPI(t *testing.T, raw []byte) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// TestOpenAPI_matches_the_router walks the real router: every registered
// path template and method is documented, and nothing else is.
func TestOpenAPI_matches_the_router(t *testing.T) {
	e := newEnv(t)
	router, ok := e.handler.(*mux.Router)
	if !ok {
		t.Fatalf("New returned %T, want *mux.Router", e.handler)
	}
	var routes []string
	err := router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // the bearer-token subrouter's own route has no path
		}
		methods, err := route.GetMethods()
		if err != nil {
			t.Errorf("route %s has no method matcher", tpl)
			return nil
		}
		for _, m := range methods {
			routes = append(routes, strings.ToLower(m)+" "+tpl)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := mustOpenAPI(t, httpapi.OpenAPI())
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				documented = append(documented, m+" "+p)
			}
		}
	}
	slices.Sort(routes)
	slices.Sort(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is registered but not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.json documents %s, which the router does not register", d)
		}
	}
	if len(routes) < 15 {
		t.Errorf("walked only %d routes: %v", len(routes), routes)
	}
	for _, s := range []string{"bearer", "triggerAuth", "gitlabToken"} {
		if _, ok := doc.Components.SecuritySchemes[s]; !ok {
			t.Errorf("security scheme %s is missing", s)
		}
	}
	if _, ok := doc.Components.Schemas["Error"]; !ok {
		t.Error("the Error schema is missing")
	}
}

func TestOpenAPI_served_without_a_token(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(raw) != string(httpapi.OpenAPI()) {
		t.Error("the served document differs from the embedded one")
	}
	if doc := mustOpenAPI(t, raw); len(doc.Paths) == 0 {
		t.Error("no paths")
	}
}

func TestMetrics_events_appended_and_sync_durations(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := httpapi.NewMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.EventsAppended("webhook.received.v1", 1)
	m.EventsAppended("webhook.received.v1", 2)
	m.EventsAppended("runner.requested.v1", 0) // nothing appended: not counted
	obs := m.SyncObserver()
	obs("manual", "synced", 1500*time.Millisecond)
	obs("scheduled", "failed", 10*time.Millisecond)
	var nilMetrics *httpapi.Metrics
	nilMetrics.EventsAppended("x", 1) // a nil *Metrics is a no-op
	nilMetrics.ObserveSync("manual", "synced", time.Second)

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case s.GetCounter() != nil:
				got[key] = strconv.FormatFloat(s.GetCounter().GetValue(), 'g', -1, 64)
			case s.GetHistogram() != nil:
				got[key] = strconv.FormatUint(s.GetHistogram().GetSampleCount(), 10)
			}
		}
	}
	want := map[string]string{
		"events_appended_total{type=webhook.received.v1}":             "3",
		"nest_sync_duration_seconds{status=synced,trigger=manual}":    "1",
		"nest_sync_duration_seconds{status=failed,trigger=scheduled}": "1",
	}
	if len(got) != len(want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}

	// Metrics given in Config are the ones the API serves.
	e := newEnv(t)
	h, err := httpapi.New(httpapi.Config{
		Handlers: e.handlers, Views: e.db.Views(), Events: e.db.Events(), Secrets: secrets.NewLocal(),
		APIToken: apiToken, TriggerToken: triggerToken, Registry: reg, Metrics: m,
	})
	if err != nil || h == nil {
		t.Fatalf("New with Metrics: %v", err)
	}
}

// TestOpenAPI_lists_document_paging: every list takes limit= and cursor=
// and answers next.
func TestOpenAPI_lists_document_paging(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Ref string `json:"$ref"`
			} `json:"parameters"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Properties map[string]json.RawMessage `json:"properties"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/eggs", "/runners", "/plans", "/sync-history", "/audit", "/events"} {
		op := doc.Paths[path]["get"]
		var refs []string
		for _, p := range op.Parameters {
			refs = append(refs, p.Ref)
		}
		for _, want := range []string{"#/components/parameters/limit", "#/components/parameters/cursor"} {
			if !slices.Contains(refs, want) {
				t.Errorf("GET %s does not document %s", path, want)
			}
		}
		if _, ok := op.Responses["200"].Content["application/json"].Schema.Properties["next"]; !ok {
			t.Errorf("GET %s does not document next", path)
		}
	}
}

// TestOpenAPI_runners_document_rows_and_filters: the Runner schema has
// every field a runners row is answered with (ports.RunnerRow's JSON
// names, and the heartbeat's), and GET /runners documents every filter
// it reads, requests= among them.
func TestOpenAPI_runners_document_rows_and_filters(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["Runner"].Properties
	fields := []string{"last_heartbeat_at", "agent_state", "agent_version", "running_jobs"}
	rt := reflect.TypeFor[ports.RunnerRow]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "-" && name != "" {
			fields = append(fields, name)
		}
	}
	for _, f := range fields {
		if _, ok := props[f]; !ok {
			t.Errorf("the Runner schema lacks %s", f)
		}
	}
	var params []string
	for _, p := range doc.Paths["/runners"]["get"].Parameters {
		params = append(params, p.Name)
	}
	for _, want := range []string{"state", "egg", "type", "requests"} {
		if !slices.Contains(params, want) {
			t.Errorf("GET /runners does not document %s= (documents %v)", want, params)
		}
	}
}
