package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// heartbeatBody is what the agent sends (POST /runners/{id}/heartbeat).
type heartbeatBody struct {
	State       string  `json:"state"`
	RunningJobs []int64 `json:"running_jobs"`
	Version     string  `json:"version"`
	// The machine's load in percent (omitted where it is not measured).
	CPUPercent    *float64 `json:"cpu_percent,omitempty"`
	MemoryPercent *float64 `json:"memory_percent,omitempty"`
}

// observer tells the agent its state: IDLE, or BUSY with the jobs it runs.
type observer interface {
	observe(ctx context.Context) (state string, jobs []int64)
}

type alwaysIdle struct{}

func (alwaysIdle) observe(context.Context) (string, []int64) { return "IDLE", nil }

// errTerminated: MotherGoose answered that the runner is terminated.
var errTerminated = errors.New("the runner is terminated")

// notRecordedError is a 401 or 404 answer: MotherGoose does not know the
// runner as deployed (yet). The compute module starts the agent during the
// apply, before MotherGoose records runner.deployed with the credential's
// hash, so the first heartbeats of a new runner are refused this way.
type notRecordedError struct{ error }

func (e notRecordedError) Unwrap() error { return e.error }

// runAgent heartbeats until ctx ends or MotherGoose says the runner is
// terminated; both are a clean stop (nil). gitlab-runner, when it runs, is
// stopped before runAgent returns.
func runAgent(ctx context.Context, cfg agentConfig) error {
	log := cfg.Log
	var obs observer = alwaysIdle{}
	switch {
	case cfg.GitLabRunner == "":
		log.Info("gitlab-runner is not installed (not on PATH, no --gitlab-runner): no jobs run here; reporting IDLE")
	case cfg.TokenURI == "":
		log.Info("gitlab-runner found but no runner token is configured ("+secretRunnerToken+" in "+envSecretURIs+"): not started; reporting IDLE", "gitlab_runner", cfg.GitLabRunner)
	default:
		token, err := resolveSecret(ctx, cfg.Secrets, cfg.TokenURI)
		if err != nil {
			log.Warn("gitlab-runner found but the runner token cannot be resolved: not started; reporting IDLE", "uri", cfg.TokenURI, "error", err)
			break
		}
		gr, err := startGitLabRunner(ctx, cfg, token)
		if err != nil {
			log.Error("gitlab-runner did not start; reporting IDLE", "error", err)
			break
		}
		defer gr.stop()
		obs = gr
	}
	client := &http.Client{Timeout: heartbeatTimeout}
	started := time.Now()
	meter := newLoadMeter()
	wait, failures, first := time.Duration(0), 0, true
	for {
		if !sleepCtx(ctx, wait) {
			log.Info("stopping: signal received")
			return nil
		}
		state, jobs := obs.observe(ctx)
		body := heartbeatBody{State: state, RunningJobs: jobs, Version: cfg.Version}
		body.CPUPercent, body.MemoryPercent = meter.measure()
		now, err := sendHeartbeat(ctx, client, cfg, body)
		switch {
		case ctx.Err() != nil:
			log.Info("stopping: signal received")
			return nil
		case errors.Is(err, errTerminated):
			log.Info("stopping: MotherGoose says the runner is terminated")
			return nil
		case err != nil:
			failures++
			notRecorded := first && errors.As(err, new(notRecordedError))
			wait = retryWait(cfg.Interval, failures, notRecorded, time.Since(started))
			if notRecorded && failures > 1 {
				// Expected while the apply that started the agent ends: once at Warn is enough.
				log.Debug("heartbeat refused again; retrying", "error", err, "failures", failures, "retry_in", wait.Round(time.Millisecond))
				continue
			}
			log.Warn("heartbeat failed; retrying", "error", err, "failures", failures, "retry_in", wait.Round(time.Millisecond))
			continue
		}
		if first || failures > 0 {
			log.Info("heartbeat accepted", "reported", state, "state", now)
		}
		first, failures, wait = false, 0, cfg.Interval
	}
}

// sendHeartbeat sends one heartbeat and returns the runner's state as
// MotherGoose answers it.
func sendHeartbeat(ctx context.Context, client *http.Client, cfg agentConfig, hb heartbeatBody) (string, error) {
	if hb.RunningJobs == nil {
		hb.RunningJobs = []int64{}
	}
	body, err := json.Marshal(hb)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL+"/runners/"+cfg.RunnerID+"/heartbeat", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cfg.Credential)
	resp, err := client.Do(req)
	if err != nil {
		return "", err // names the URL, never the header
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		var ans struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil {
			return "", fmt.Errorf("MotherGoose answered 200 with a body that is not a heartbeat answer")
		}
		return ans.State, nil
	case http.StatusGone:
		return "", errTerminated
	default:
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		err := fmt.Errorf("MotherGoose answered %s: %s %s", resp.Status, e.Error.Code, e.Error.Message)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound {
			// Retried too: the runner may not be recorded as deployed yet
			// (its process starts during the apply).
			return "", notRecordedError{err}
		}
		return "", err
	}
}

// retryWait is the wait before the next heartbeat after n consecutive
// failures. Until the first heartbeat is accepted, a refusal because the
// runner is not recorded as deployed yet (notRecorded) is retried after
// notRecordedFastRetry for notRecordedFastWindow, then notRecordedRetry (at
// most the interval), for notRecordedWindow after the
// agent started: MotherGoose records runner.deployed a few hundred
// milliseconds after the apply that started the agent, and a new runner takes
// no job before its first heartbeat. Every other failure backs off
// (backoffAfter).
func retryWait(interval time.Duration, n int, notRecorded bool, sinceStart time.Duration) time.Duration {
	if notRecorded && sinceStart < notRecordedWindow {
		d := min(interval, notRecordedRetry)
		if sinceStart < notRecordedFastWindow {
			d = min(interval, notRecordedFastRetry)
		}
		return d/2 + rand.N(d/2+1)
	}
	return backoffAfter(interval, n)
}

// backoffAfter is the wait after n consecutive failures: the interval
// doubled per failure, at most maxHeartbeatBackoff, with jitter.
func backoffAfter(interval time.Duration, n int) time.Duration {
	d := interval
	for i := 1; i < n && d < maxHeartbeatBackoff; i++ {
		d *= 2
	}
	d = min(d, maxHeartbeatBackoff)
	return d/2 + rand.N(d/2+1)
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
