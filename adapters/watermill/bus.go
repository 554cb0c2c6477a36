// Package watermill is the command bus over watermill: the cqrs command
// bus and processor, the router with its retry, recoverer and poison-queue
// middleware, and the transport (an in-process gochannel; SQS/YMQ through
// watermill-aws is one more constructor here). It carries the commands
// package's Routes and implements commands.Sender, so the application layer
// imports no transport.
package watermill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	wm "github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Topics: one per command ("commands.runner.request"), and the poison topic
// where commands that failed for good end up.
const (
	topicPrefix = "commands."
	PoisonTopic = "commands.poison"
)

// Message metadata keys. Context values do not cross a broker, so a
// command's Meta travels here.
const (
	metaActor          = "actor"
	metaCorrelationID  = "correlation_id"
	metaCausationID    = "causation_id"
	metaIdempotencyKey = "idempotency_key"
	metaFenceLease     = "fence_lease"
	metaFenceToken     = "fence_token"
)

// CommandTopic returns the bus topic of the command called name.
func CommandTopic(name string) string { return topicPrefix + name }

// RetryPolicy bounds how the bus retries a handler that failed with an
// error that may pass (the store unavailable, a conflict that outlived the
// handler's own retries). Permanent errors (EINVALID, ENOTFOUND, a rule of
// state's ECONFLICT, EUNAUTHORIZED, an undecodable payload, a panic) are
// not retried. A command that still fails goes to the poison topic.
type RetryPolicy struct {
	MaxRetries      int
	InitialInterval time.Duration
	MaxInterval     time.Duration
	Multiplier      float64
	// MaxElapsedTime caps the whole retry; keep it under a queue's
	// visibility timeout when the bus is backed by one.
	MaxElapsedTime time.Duration
}

// DefaultRetryPolicy: 3 retries, 100 ms doubling to at most 2 s, 10 s in all.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 3, InitialInterval: 100 * time.Millisecond, MaxInterval: 2 * time.Second, Multiplier: 2, MaxElapsedTime: 10 * time.Second}

// PoisonedCommand is a command the bus gave up on.
type PoisonedCommand struct {
	Name    string
	Payload []byte
	Meta    commands.Meta
	Reason  string
}

type busConfig struct {
	retry    RetryPolicy
	onPoison func(PoisonedCommand)
}

// BusOption adjusts a Bus.
type BusOption func(*busConfig)

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) BusOption { return func(c *busConfig) { c.retry = p } }

// WithPoisonHandler is called for every poisoned command, after it is logged
// (for metrics or an operator queue).
func WithPoisonHandler(f func(PoisonedCommand)) BusOption {
	return func(c *busConfig) { c.onPoison = f }
}

// Bus is the asynchronous command path (commands.Sender) over an
// in-process watermill gochannel: Send publishes, the router hands each
// command to its route's handler. Delivery is at least once; each command
// carries an idempotency key (its Meta's, or one made from the message id)
// so a redelivery appends nothing. Use the Handlers methods directly when
// the result is needed.
type Bus struct {
	pubsub   *gochannel.GoChannel
	router   *message.Router
	commands *cqrs.CommandBus
	logger   *slog.Logger
	onPoison func(PoisonedCommand)

	mu      sync.Mutex
	started bool // Run was called: Close must stop the router
	closed  bool
}

var _ commands.Sender = (*Bus)(nil)

// NewBus wires every route (commands.Handlers.Routes) to its topic. Run
// must be running for Send to deliver.
func NewBus(routes []commands.Route, logger *slog.Logger, opts ...BusOption) (*Bus, error) {
	if len(routes) == 0 {
		return nil, errors.New("watermill: no command routes")
	}
	if logger == nil {
		return nil, errors.New("watermill: nil logger")
	}
	cfg := busConfig{retry: DefaultRetryPolicy}
	for _, o := range opts {
		o(&cfg)
	}
	if r := cfg.retry; r.MaxRetries < 0 || r.InitialInterval <= 0 || r.MaxInterval < r.InitialInterval || r.Multiplier < 1 || r.MaxElapsedTime <= 0 {
		return nil, fmt.Errorf("watermill: invalid retry policy %+v", r)
	}
	// watermill announces every handler start and stop at info; that is
	// debug detail for an operator.
	wlog := wm.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	b := &Bus{
		pubsub:   gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 256}, wlog),
		logger:   logger,
		onPoison: cfg.onPoison,
	}
	var err error
	if b.router, err = message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, wlog); err != nil {
		return nil, err
	}
	poison, err := middleware.PoisonQueueWithFilter(b.pubsub, PoisonTopic, func(err error) bool {
		// A handler stopped by shutdown is nacked, not poisoned.
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	})
	if err != nil {
		return nil, err
	}
	// Outermost first: whatever the retry gives up on is poisoned; panics
	// become errors before the retry sees them.
	b.router.AddMiddleware(
		poison,
		middleware.Retry{
			MaxRetries:          cfg.retry.MaxRetries,
			InitialInterval:     cfg.retry.InitialInterval,
			MaxInterval:         cfg.retry.MaxInterval,
			Multiplier:          cfg.retry.Multiplier,
			MaxElapsedTime:      cfg.retry.MaxElapsedTime,
			RandomizationFactor: 0.3,
			ShouldRetry:         func(p middleware.RetryParams) bool { return !permanent(p.Err) },
			Logger:              wlog,
		}.Middleware,
		middleware.Recoverer,
	)
	b.router.AddConsumerHandler("commands.poison", PoisonTopic, b.pubsub, b.poisoned)

	marshaler := cqrs.JSONMarshaler{GenerateName: cqrs.NamedStruct(commandName)}
	topic := func(name string) (string, error) { return CommandTopic(name), nil }
	if b.commands, err = cqrs.NewCommandBusWithConfig(b.pubsub, cqrs.CommandBusConfig{
		GeneratePublishTopic: func(p cqrs.CommandBusGeneratePublishTopicParams) (string, error) { return topic(p.CommandName) },
		Marshaler:            marshaler,
		Logger:               wlog,
	}); err != nil {
		return nil, err
	}
	processor, err := cqrs.NewCommandProcessorWithConfig(b.router, cqrs.CommandProcessorConfig{
		GenerateSubscribeTopic: func(p cqrs.CommandProcessorGenerateSubscribeTopicParams) (string, error) {
			return topic(p.CommandName)
		},
		SubscriberConstructor: func(cqrs.CommandProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			return b.pubsub, nil
		},
		Marshaler: marshaler,
		Logger:    wlog,
	})
	if err != nil {
		return nil, err
	}
	handlers := make([]cqrs.CommandHandler, 0, len(routes))
	seen := make(map[string]bool, len(routes))
	for _, r := range routes {
		if r.Name == "" || r.New == nil || r.Handle == nil || seen[r.Name] {
			return nil, fmt.Errorf("watermill: route %q is incomplete or repeated", r.Name)
		}
		seen[r.Name] = true
		handlers = append(handlers, routeHandler{r})
	}
	if err := processor.AddHandlers(handlers...); err != nil {
		return nil, err
	}
	return b, nil
}

// routeHandler is a commands.Route as a watermill command handler,
// restoring the command's Meta from the message metadata.
type routeHandler struct{ r commands.Route }

func (h routeHandler) HandlerName() string { return h.r.Name }

func (h routeHandler) NewCommand() any { return h.r.New() }

func (h routeHandler) Handle(ctx context.Context, cmd any) error {
	c, ok := cmd.(commands.Command)
	if !ok {
		return errs.Errorf(errs.EINVALID, "%s: decoded a %T", h.r.Name, cmd)
	}
	var meta commands.Meta
	if msg := cqrs.OriginalMessageFromCtx(ctx); msg != nil {
		meta = metaFromMessage(msg)
	}
	return h.r.Handle(ctx, c, meta)
}

// permanent: what commands.Permanent says will not pass, and a handler's
// panic (turned into an error by the Recoverer).
func permanent(err error) bool {
	var panicked middleware.RecoveredPanicError
	return commands.Permanent(err) || errors.As(err, &panicked)
}

// commandName names commands for watermill (cqrs.NamedStruct's fallback).
func commandName(v any) string {
	if c, ok := v.(commands.Command); ok {
		return c.CommandName()
	}
	return cqrs.FullyQualifiedStructName(v)
}

// metaFromMessage reads Meta from msg's metadata. A command sent without
// correlation or causation is correlated with and caused by its own message,
// and one without an idempotency key gets one from the message id, so that
// a redelivered message appends nothing.
func metaFromMessage(msg *message.Message) commands.Meta {
	m := commands.Meta{
		Actor:          msg.Metadata.Get(metaActor),
		CorrelationID:  msg.Metadata.Get(metaCorrelationID),
		CausationID:    msg.Metadata.Get(metaCausationID),
		IdempotencyKey: msg.Metadata.Get(metaIdempotencyKey),
		FenceLease:     msg.Metadata.Get(metaFenceLease),
	}
	if m.FenceLease != "" {
		// An unreadable token stays 0, which no lease has: the command is
		// refused, never run unfenced.
		m.FenceToken, _ = strconv.ParseUint(msg.Metadata.Get(metaFenceToken), 10, 64)
	}
	if m.CorrelationID == "" {
		m.CorrelationID = msg.UUID
	}
	if m.CausationID == "" {
		m.CausationID = msg.UUID
	}
	if m.IdempotencyKey == "" {
		m.IdempotencyKey = "cmd-" + msg.UUID
	}
	return m
}

// Send publishes cmd and returns once it is handed to the in-process
// broker, not when it is handled. It waits for Run to be running.
func (b *Bus) Send(ctx context.Context, cmd commands.Command) error {
	if cmd == nil {
		return errs.Errorf(errs.EINVALID, "send: nil command")
	}
	select {
	case <-b.router.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	m := cmd.CommandMeta()
	return b.commands.SendWithModifiedMessage(ctx, cmd, func(msg *message.Message) error {
		for k, v := range map[string]string{
			metaActor: m.Actor, metaCorrelationID: m.CorrelationID,
			metaCausationID: m.CausationID, metaIdempotencyKey: m.IdempotencyKey,
			metaFenceLease: m.FenceLease,
		} {
			if v != "" {
				msg.Metadata.Set(k, v)
			}
		}
		if m.FenceLease != "" {
			msg.Metadata.Set(metaFenceToken, strconv.FormatUint(m.FenceToken, 10))
		}
		return nil
	})
}

func (b *Bus) poisoned(msg *message.Message) error {
	p := PoisonedCommand{
		Name:    msg.Metadata.Get("name"),
		Payload: msg.Payload,
		Meta:    metaFromMessage(msg),
		Reason:  msg.Metadata.Get(middleware.ReasonForPoisonedKey),
	}
	b.logger.Error("command failed for good and was not retried further",
		"command", p.Name, "reason", p.Reason, "message_id", msg.UUID,
		"correlation_id", p.Meta.CorrelationID, "actor", p.Meta.Actor)
	if b.onPoison != nil {
		b.onPoison(p)
	}
	return nil
}

// Run runs the router until ctx is done or Close is called.
func (b *Bus) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errors.New("watermill: bus is closed")
	}
	b.started = true
	b.mu.Unlock()
	return b.router.Run(ctx)
}

// Running is closed once Run has subscribed every handler.
func (b *Bus) Running() <-chan struct{} { return b.router.Running() }

// Close stops the router, waiting for handlers in flight, then the broker.
func (b *Bus) Close() error {
	b.mu.Lock()
	started := b.started
	b.closed = true
	b.mu.Unlock()
	var err error
	if started { // a router that never ran has no handlers to wait for
		err = b.router.Close()
	}
	return errors.Join(err, b.pubsub.Close())
}
