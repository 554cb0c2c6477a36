// Package loadtest is the webhook load generator of the benchmarks and the
// crash test: keep-alive clients posting prepared requests, closed loop (N
// workers, each sending as soon as its previous answer arrived) or open loop
// (a fixed request rate, whatever the answers do), with latency percentiles.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Request is one prepared POST.
type Request struct {
	Body   []byte
	Header map[string]string
	// Path, when set, is appended to the generator's URL (a runner's
	// /runners/{id}/heartbeat).
	Path string
}

// Answer is what one request got; Err is set when no response arrived.
type Answer struct {
	Index   int
	Status  int
	Body    []byte
	Latency time.Duration
	Err     error
}

// Result sums up a run.
type Result struct {
	Sent      int
	Elapsed   time.Duration
	Latencies []time.Duration // of the requests that got a response, sorted
	Status    map[int]int
	Errors    int
}

// PerSecond is the completed requests per second.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Add sums two runs against the same target, as if they were one run of
// their total length.
func (r Result) Add(o Result) Result {
	out := Result{Sent: r.Sent + o.Sent, Elapsed: r.Elapsed + o.Elapsed, Errors: r.Errors + o.Errors, Status: map[int]int{}}
	out.Latencies = append(append(make([]time.Duration, 0, len(r.Latencies)+len(o.Latencies)), r.Latencies...), o.Latencies...)
	slices.Sort(out.Latencies)
	for _, m := range []map[int]int{r.Status, o.Status} {
		for code, n := range m {
			out.Status[code] += n
		}
	}
	return out
}

// Percentile returns the p-th (0..100) latency, 0 without any.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies)-1) * p / 100)
	return r.Latencies[i]
}

// Client is a keep-alive HTTP client for conns concurrent connections to one host.
func Client(conns int) *http.Client {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Generator posts requests made by Make to URL; Done (optional) sees every
// answer, from the worker goroutines.
type Generator struct {
	Client *http.Client
	URL    string
	Make   func(i int) Request
	Done   func(Answer)
}

func (g Generator) send(ctx context.Context, i int) Answer {
	rq := g.Make(i)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+rq.Path, bytes.NewReader(rq.Body))
	if err != nil {
		return Answer{Index: i, Err: err}
	}
	for k, v := range rq.Header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := g.Client.Do(req)
	if err != nil {
		return Answer{Index: i, Err: err, Latency: time.Since(start)}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := Answer{Index: i, Status: resp.StatusCode, Body: body, Latency: time.Since(start), Err: err}
	return a
}

type collector struct {
	mu  sync.Mutex
	res Result
}

func (c *collector) add(a Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Sent++
	if a.Err != nil {
		c.res.Errors++
		return
	}
	c.res.Status[a.Status]++
	c.res.Latencies = append(c.res.Latencies, a.Latency)
}

func (c *collector) result(start time.Time) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Elapsed = time.Since(start)
	slices.Sort(c.res.Latencies)
	return c.res
}

// record counts a into c and hands it to Done: every answer of both loops,
// a request the open loop dropped included, goes through here.
func (g Generator) record(c *collector, a Answer) {
	c.add(a)
	if g.Done != nil {
		g.Done(a)
	}
}

// Closed sends requests 0..n-1 from workers goroutines, each waiting for its
// answer before the next, until all are sent, ctx ends or maxTime passed.
func (g Generator) Closed(ctx context.Context, workers, n int, maxTime time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, maxTime)
	defer cancel()
	c := &collector{res: Result{Status: map[int]int{}}}
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				g.record(c, g.send(ctx, i))
			}
		})
	}
	wg.Wait()
	return c.result(start)
}

// Open sends rate requests per second for d, each at its scheduled moment on
// its own goroutine (at most maxInFlight at once; a request that finds none
// free is counted as an error), so latency includes any queueing in the server.
func (g Generator) Open(ctx context.Context, rate int, d time.Duration, maxInFlight int) Result {
	c := &collector{res: Result{Status: map[int]int{}}}
	sem := make(chan struct{}, maxInFlight)
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				wg.Wait()
				return c.result(start)
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			g.record(c, Answer{Index: i, Err: fmt.Errorf("more than %d requests in flight", maxInFlight)})
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			g.record(c, g.send(ctx, i))
		})
	}
	wg.Wait()
	return c.result(start)
}

// Template is a JSON body with one numeric field set per request without
// encoding the whole document again.
type Template struct{ before, after []byte }

// sentinel is an int64 no real payload carries.
const sentinel = 987654321012345678

// NewTemplate encodes doc (an object decoded from a fixture) with field set per request.
func NewTemplate(doc map[string]any, field string) (Template, error) {
	m := make(map[string]any, len(doc))
	for k, v := range doc {
		m[k] = v
	}
	m[field] = int64(sentinel)
	raw, err := json.Marshal(m)
	if err != nil {
		return Template{}, err
	}
	mark := []byte(strconv.FormatInt(sentinel, 10))
	before, after, ok := bytes.Cut(raw, mark)
	if !ok || bytes.Contains(after, mark) {
		return Template{}, fmt.Errorf("field %s not found once in the encoded document", field)
	}
	return Template{before: before, after: after}, nil
}

// PendingJobs is a template of a pending Job Hook, made from the GitLab Job
// Hook body in the file path (such as httpapi's testdata/job.json), with
// build_id set per request.
func PendingJobs(path string) (Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Template{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return Template{}, fmt.Errorf("%s: %w", path, err)
	}
	doc["build_status"] = "pending"
	return NewTemplate(doc, "build_id")
}

// Body is the document with the field set to v.
func (t Template) Body(v int64) []byte {
	out := make([]byte, 0, len(t.before)+len(t.after)+20)
	out = append(out, t.before...)
	out = strconv.AppendInt(out, v, 10)
	return append(out, t.after...)
}
