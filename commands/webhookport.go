package commands

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/polar-gosling/polar-gosling/events"
)

// GitLabHook is a project or group webhook as GitLab lists it (its token
// is never returned).
type GitLabHook struct {
	ID                    int64
	URL                   string
	JobEvents             bool
	PushEvents            bool
	EnableSSLVerification bool
	// AlertStatus is executable, disabled or temporarily_disabled: GitLab
	// disables a hook whose deliveries keep failing.
	AlertStatus   string
	DisabledUntil time.Time // set while temporarily_disabled
}

// Disabled reports whether GitLab does not deliver to the hook now.
func (h GitLabHook) Disabled(now time.Time) bool {
	return h.AlertStatus == "disabled" || h.AlertStatus == "temporarily_disabled" || h.DisabledUntil.After(now)
}

// HookSpec is the hook MotherGoose wants on a project or group. Token is
// the egg's webhook secret value: it is sent to GitLab and nowhere else,
// and the spec's String and LogValue leave it out.
type HookSpec struct {
	URL                   string
	Token                 string
	JobEvents             bool
	PushEvents            bool
	EnableSSLVerification bool
}

func (s HookSpec) String() string {
	return fmt.Sprintf("hook %s (job_events=%t push_events=%t enable_ssl_verification=%t, token not shown)",
		s.URL, s.JobEvents, s.PushEvents, s.EnableSSLVerification)
}

// GoString keeps %#v from printing the token.
func (s HookSpec) GoString() string { return s.String() }

// LogValue keeps slog from printing the token.
func (s HookSpec) LogValue() slog.Value { return slog.StringValue(s.String()) }

// WebhookManager manages the webhooks of GitLab projects
// (/projects/:id/hooks) and groups (/groups/:id/hooks, GitLab Premium) on
// owner's server, with the API token tokenURI resolves to. Pages are
// 1-based; next is the page after this one, 0 after the last. Errors carry
// a code: EUNAUTHORIZED (401, 403), ENOTFOUND (404: the owner or hook),
// EUNAVAILABLE (5xx, unreachable); a 429 also has a RetryAfter()
// time.Duration method.
type WebhookManager interface {
	// Hooks is one page of owner's hooks (GET .../hooks).
	Hooks(ctx context.Context, tokenURI string, owner events.WebhookOwner, page int64) (hooks []GitLabHook, next int64, err error)
	// AddHook creates a hook (POST .../hooks).
	AddHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, spec HookSpec) (GitLabHook, error)
	// EditHook sets every field of spec on hook (PUT .../hooks/:hook_id).
	EditHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, hook int64, spec HookSpec) (GitLabHook, error)
	// DeleteHook deletes hook (DELETE .../hooks/:hook_id).
	DeleteHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, hook int64) error
	// TestHook sends a test job event through hook
	// (POST .../hooks/:hook_id/test/job_events): GitLab's documented way
	// to re-enable a hook it disabled.
	TestHook(ctx context.Context, tokenURI string, owner events.WebhookOwner, hook int64) error
}
