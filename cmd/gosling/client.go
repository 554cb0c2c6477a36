package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

// Defaults of the MotherGoose API client.
const (
	defaultAPIServer = "http://127.0.0.1:8080"
	requestTimeout   = 15 * time.Second
	dialTimeout      = 5 * time.Second
)

// apiFlags are the flags every command that talks to MotherGoose shares.
type apiFlags struct {
	server string
	token  string
	format string
}

// add registers --server, --token and --format; the environment
// (GOSLING_SERVER, GOSLING_TOKEN) gives the defaults.
func (f *apiFlags) add(cmd *cobra.Command) {
	server := os.Getenv("GOSLING_SERVER")
	if server == "" {
		server = defaultAPIServer
	}
	cmd.Flags().StringVar(&f.server, "server", server, "MotherGoose API base URL (env GOSLING_SERVER)")
	cmd.Flags().StringVar(&f.token, "token", os.Getenv("GOSLING_TOKEN"), "API bearer token (env GOSLING_TOKEN)")
	cmd.Flags().StringVar(&f.format, "format", "table", "output format: table or json")
}

// client validates the flags (usage errors) and returns the API client.
func (f *apiFlags) client() (*apiClient, error) {
	if f.format != "table" && f.format != "json" {
		return nil, usagef("--format %q: want table or json", f.format)
	}
	return newAPIClient(f.server, f.token)
}

// apiClient is a small typed client of MotherGoose's query API.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

func newAPIClient(server, token string) (*apiClient, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef("--server %q: want an http:// or https:// URL such as %s", server, defaultAPIServer)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout}).DialContext
	tr.ResponseHeaderTimeout = requestTimeout
	return &apiClient{base: u, token: token, http: &http.Client{Transport: tr, Timeout: requestTimeout}}, nil
}

// apiError is an error answered by the API: {"error":{"code","message"}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("server answered %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// get decodes the JSON answer of GET path?query into out.
func (c *apiClient) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, query, out)
}

// post sends POST path (no body) and decodes the JSON answer into out.
func (c *apiClient) post(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodPost, path, nil, out)
}

// do sends one request; path is escaped (a name in it through
// url.PathEscape). An answer other than 2xx is an error: 401 says to check
// the token, any other the API's {"error":{"code","message"}}.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, out any) error {
	return c.send(ctx, method, path, query, nil, out)
}

// send is do with a JSON body (none when body is nil).
func (c *apiClient) send(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	u := *c.base
	u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return errs.Wrap(errs.EINTERNAL, err, "%s %s: not an escaped path", method, path)
	}
	u.Path = p
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return c.transportError(ctx, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return errs.Errorf(errs.EUNAUTHORIZED, "unauthorized: check --token (or GOSLING_TOKEN)")
	case resp.StatusCode/100 != 2:
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(answer, &eb) == nil && eb.Error.Message != "" {
			return &apiError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
		}
		return &apiError{Status: resp.StatusCode, Message: strings.TrimSpace(http.StatusText(resp.StatusCode))}
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return errs.Wrap(errs.EINTERNAL, err, "%s %s: the answer is not the expected JSON", method, path)
	}
	return nil
}

func (c *apiClient) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return errs.Errorf(errs.EUNAVAILABLE, "cannot connect to %s: connection refused (is mothergoose serve running there? see --server or GOSLING_SERVER)", c.base)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errs.Errorf(errs.EUNAVAILABLE, "no answer from %s within %s", c.base, requestTimeout)
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "cannot reach %s", c.base)
}

// listPage is the page size the client lists with: the API's maximum.
const listPage = 1000

// listAll GETs path page after page, following next, and calls each with
// the rows under key. maxPages bounds the pages (a server whose cursors
// never end must not keep the client reading forever).
func listAll[R any](ctx context.Context, c *apiClient, path, key string, each func([]R)) error {
	const maxPages = 100_000
	q := url.Values{"limit": {fmt.Sprint(listPage)}}
	for range maxPages {
		var out map[string]json.RawMessage
		if err := c.get(ctx, path, q, &out); err != nil {
			return err
		}
		var rows []R
		if err := json.Unmarshal(out[key], &rows); err != nil {
			return errs.Wrap(errs.EINTERNAL, err, "GET %s: the answer is not the expected JSON", path)
		}
		each(rows)
		var next string
		if raw, ok := out["next"]; ok {
			if err := json.Unmarshal(raw, &next); err != nil {
				return errs.Wrap(errs.EINTERNAL, err, "GET %s: next is not a string", path)
			}
		}
		if next == "" {
			return nil
		}
		q.Set("cursor", next)
	}
	return errs.Errorf(errs.EINTERNAL, "GET %s: more than %d pages", path, maxPages)
}

// Eggs returns every egg configuration, page by page.
func (c *apiClient) Eggs(ctx context.Context) ([]ports.EggConfigRow, error) {
	var eggs []ports.EggConfigRow
	err := listAll(ctx, c, "/eggs", "eggs", func(rows []ports.EggConfigRow) { eggs = append(eggs, rows...) })
	return eggs, err
}

// RunnerCounts counts every runner by state, page by page, holding one page
// at a time, and keeps the first maxDeferredShown UglyFox decisions that
// wait for a BUSY runner (deferredTotal counts them all).
func (c *apiClient) RunnerCounts(ctx context.Context) (total int, byState map[string]int, pools map[string]statusPools, deferred []statusDeferred, deferredTotal int, err error) {
	byState, pools = map[string]int{}, map[string]statusPools{}
	err = listAll(ctx, c, "/runners", "runners", func(rows []ports.RunnerRow) {
		for _, r := range rows {
			byState[r.State]++
			pools[r.Egg] = pools[r.Egg].count(r)
			if r.DeferredAction != "" && r.State != "TERMINATED" && r.State != "FAILED" {
				deferredTotal++
				if len(deferred) < maxDeferredShown {
					deferred = append(deferred, statusDeferred{Runner: r.ID, Egg: r.Egg, Action: r.DeferredAction, Reason: r.DeferredReason})
				}
			}
		}
		total += len(rows)
	})
	return total, byState, pools, deferred, deferredTotal, err
}

// LastSync returns the latest Nest sync, nil when there was none.
func (c *apiClient) LastSync(ctx context.Context) (*ports.SyncHistoryRow, error) {
	var out struct {
		SyncHistory []ports.SyncHistoryRow `json:"sync_history"`
	}
	if err := c.get(ctx, "/sync-history", url.Values{"limit": {"1"}}, &out); err != nil {
		return nil, err
	}
	if len(out.SyncHistory) == 0 {
		return nil, nil
	}
	return &out.SyncHistory[0], nil
}

// EventsPage is one page of /events.
type EventsPage struct {
	Events    []events.Record `json:"events"`
	NextAfter uint64          `json:"next_after"`
	// Next is set when more events follow this page (the page's cursor;
	// the client continues with NextAfter, which also serves --follow).
	Next string `json:"next"`
}

// Events reads one page of the event log (one stream when stream is not "").
func (c *apiClient) Events(ctx context.Context, stream string, after uint64, limit int) (EventsPage, error) {
	q := url.Values{"after": {fmt.Sprint(after)}, "limit": {fmt.Sprint(limit)}}
	if stream != "" {
		q.Set("stream", stream)
	}
	var out EventsPage
	err := c.get(ctx, "/events", q, &out)
	return out, err
}

// TerminateRunner asks for the runner to be destroyed (POST
// /runners/{id}/terminate) and returns the API's answer.
func (c *apiClient) TerminateRunner(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.post(ctx, "/runners/"+url.PathEscape(id)+"/terminate", &out)
	return out, err
}

// RetryEgg asks a tripped egg to provision again (POST /eggs/{name}/retry)
// and returns the API's answer.
func (c *apiClient) RetryEgg(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.post(ctx, "/eggs/"+url.PathEscape(name)+"/retry", &out)
	return out, err
}
