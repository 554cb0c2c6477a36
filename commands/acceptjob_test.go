package commands_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
)

func acceptJob(delivery string, job int64) commands.AcceptJob {
	meta := commands.Meta{Actor: "gitlab:webhook", CorrelationID: delivery, IdempotencyKey: delivery}
	runnerMeta := meta
	runnerMeta.IdempotencyKey = delivery + "/runner"
	return commands.AcceptJob{
		Delivery: commands.ReceiveWebhook{Meta: meta, Delivery: events.WebhookReceived{
			DeliveryID: delivery, EventKind: "build", Outcome: "accepted", Egg: "web", JobID: job, JobStatus: "pending",
		}},
		Runner: commands.RequestRunner{Meta: runnerMeta, RunnerID: "web-job-" + itoa(job), Egg: "web", RunnerType: "serverless",
			Provider: "yandex", Region: "ru-central1-a", Tags: []string{"docker"}, JobID: job, Reason: "pending"},
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAcceptJob_records_the_delivery_and_its_runner_together(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	cmd := acceptJob("d-accept", 7)
	delivery, runner, err := h.AcceptJob(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if delivery.Duplicate || runner.Duplicate || len(delivery.EventIDs) != 1 || len(runner.EventIDs) != 1 || runner.FirstPosition != delivery.LastPosition+1 {
		t.Fatalf("delivery %+v, runner %+v: want both new, the runner right after the delivery", delivery, runner)
	}
	hook := mustLoad(t, store, domain.WebhookStream("d-accept"))
	run := mustLoad(t, store, domain.RunnerStream("web-job-7"))
	if len(hook) != 1 || len(run) != 1 || run[0].CausationID != hook[0].ID || run[0].CorrelationID != "d-accept" {
		t.Fatalf("webhook stream %+v, runner stream %+v: want one event each, the request caused by the delivery", hook, run)
	}

	// The same delivery again: the original stands, nothing is appended.
	head := mustHead(t, store)
	again, againRunner, err := h.AcceptJob(ctx, cmd)
	if err != nil || !again.Duplicate || again.FirstPosition != delivery.FirstPosition || againRunner.FirstVersion != 0 {
		t.Fatalf("redelivery: %+v %+v %v, want the original delivery as a duplicate", again, againRunner, err)
	}
	if h := mustHead(t, store); h != head {
		t.Fatalf("a redelivery appended %d events", h-head)
	}
}

func TestAcceptJob_runner_already_requested_by_another_delivery(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	if _, _, err := h.AcceptJob(ctx, acceptJob("d-first", 8)); err != nil {
		t.Fatal(err)
	}
	head := mustHead(t, store)
	_, _, err := h.AcceptJob(ctx, acceptJob("d-second", 8))
	if errs.Code(err) != errs.ECONFLICT {
		t.Fatalf("a second delivery for job 8: %v, want ECONFLICT", err)
	}
	if h := mustHead(t, store); h != head {
		t.Fatalf("the refused delivery appended %d events", h-head)
	}
}

func TestAcceptJob_finishes_a_delivery_whose_runner_alone_was_recorded(t *testing.T) {
	// Before deliveries and runner requests committed together, a crash
	// between the two appends left the runner without its delivery.
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	cmd := acceptJob("d-half", 9)
	first, err := h.RequestRunner(ctx, cmd.Runner)
	if err != nil {
		t.Fatal(err)
	}
	delivery, runner, err := h.AcceptJob(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if !runner.Duplicate || runner.FirstPosition != first.FirstPosition || delivery.Duplicate || len(delivery.EventIDs) != 1 {
		t.Fatalf("delivery %+v, runner %+v: want the earlier runner as a duplicate and the delivery recorded now", delivery, runner)
	}
	if n := len(mustLoad(t, store, domain.RunnerStream("web-job-9"))); n != 1 {
		t.Fatalf("runner stream has %d events, want 1", n)
	}
}

func mustHead(t *testing.T, store ports.EventStore) uint64 {
	t.Helper()
	head, err := store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// A sender without a token who uses a delivery id first does not make
// GitLab's authenticated delivery of that id a duplicate: the two are
// recorded in separate namespaces (stream and idempotency key), and the
// real delivery still asks for its runner.
func TestAcceptJob_after_an_unauthenticated_delivery_of_the_same_id(t *testing.T) {
	store := mustStore(t)
	h := mustHandlers(t, store)
	ctx := context.Background()
	const id = "d-claimed"
	forged := commands.ReceiveWebhook{Meta: commands.Meta{Actor: "gitlab:webhook", CorrelationID: id, IdempotencyKey: id}, Delivery: events.WebhookReceived{
		DeliveryID: id, EventKind: "build", Outcome: "ignored", Reason: "no egg for project 1 on host unknown", Unauthenticated: true,
	}}
	first, err := h.ReceiveWebhook(ctx, forged)
	if err != nil || first.Duplicate {
		t.Fatalf("unauthenticated delivery: %+v %v", first, err)
	}
	again, err := h.ReceiveWebhook(ctx, forged)
	if err != nil || !again.Duplicate || again.FirstPosition != first.FirstPosition {
		t.Fatalf("unauthenticated redelivery: %+v %v, want the first as a duplicate", again, err)
	}
	delivery, runner, err := h.AcceptJob(ctx, acceptJob(id, 9))
	if err != nil || delivery.Duplicate || runner.Duplicate || len(runner.EventIDs) != 1 {
		t.Fatalf("authenticated delivery after an unauthenticated one of its id: %+v %+v %v", delivery, runner, err)
	}
	if hook := mustLoad(t, store, domain.WebhookStream(id)); len(hook) != 1 || hook[0].ID != delivery.EventIDs[0] {
		t.Fatalf("authenticated stream %+v", hook)
	}
	if hook := mustLoad(t, store, domain.UnauthenticatedWebhookStream(id)); len(hook) != 1 || hook[0].ID != first.EventIDs[0] {
		t.Fatalf("unauthenticated stream %+v", hook)
	}
	// And the other way round: an authenticated delivery first leaves the
	// unauthenticated namespace free; neither is a duplicate of the other.
	plain := forged
	plain.Delivery.DeliveryID, plain.IdempotencyKey = "d-second", "d-second"
	plain.Delivery.Unauthenticated, plain.Delivery.Reason = false, "event kind build is not acted on"
	if res, err := h.ReceiveWebhook(ctx, plain); err != nil || res.Duplicate {
		t.Fatalf("authenticated: %+v %v", res, err)
	}
	plain.Delivery.Unauthenticated = true
	if res, err := h.ReceiveWebhook(ctx, plain); err != nil || res.Duplicate {
		t.Fatalf("unauthenticated after authenticated: %+v %v", res, err)
	}
	// An unauthenticated delivery never asks for a runner.
	cmd := acceptJob("d-third", 10)
	cmd.Delivery.Delivery.Unauthenticated = true
	if _, _, err := h.AcceptJob(ctx, cmd); errs.Code(err) != errs.EINVALID {
		t.Fatalf("unauthenticated AcceptJob: %v, want EINVALID", err)
	}
}
