package domain

import (
	"crypto/sha256"
	"encoding/hex"
)

// Stream names. Each aggregate lives in exactly one stream; these functions
// are the only place the names are spelled. They format, they do not
// validate: callers pass ids that went through the value-type constructors.

// EggStream is the stream of one Egg or EggsBucket: "egg-<name>".
func EggStream(name string) string { return "egg-" + name }

// RunnerStream is the stream of one runner: "runner-<id>".
func RunnerStream(id string) string { return "runner-" + id }

// PlanStream is the stream of one deployment plan: "plan-<id>".
func PlanStream(id string) string { return "plan-" + id }

// NestStream is the one stream of Nest syncs: "nest".
func NestStream() string { return "nest" }

// JobStream is the stream of one scheduled job: "job-<name>".
func JobStream(name string) string { return "job-" + name }

// UglyFoxStream is the one stream of UglyFox configuration: "uglyfox".
func UglyFoxStream() string { return "uglyfox" }

// BinaryStream is the stream of one binary's versions: "binary-<binary>".
func BinaryStream(binary string) string { return "binary-" + binary }

// WebhookStream is the stream of one webhook delivery: "webhook-<delivery id>".
func WebhookStream(deliveryID string) string { return "webhook-" + deliveryID }

// UnauthenticatedWebhookStream is the stream of one delivery that no token
// authenticated: "unauthenticated-webhook-<delivery id>". No WebhookStream
// starts so, so such a delivery never takes the stream of the authenticated
// delivery with the same id.
func UnauthenticatedWebhookStream(deliveryID string) string {
	return "unauthenticated-webhook-" + deliveryID
}

// SecretAccessStream is the audit stream of one secret: "secret-" and the
// first 16 hex digits of the SHA-256 of its URI, so that the URI's shape does
// not leak into stream names and any URI length fits.
func SecretAccessStream(uri string) string {
	sum := sha256.Sum256([]byte(uri))
	return "secret-" + hex.EncodeToString(sum[:])[:16]
}

// EggWebhooksStream is the stream of the webhooks MotherGoose installs for
// one egg: "egghooks-<name>" (no EggStream starts so: that one is "egg-").
func EggWebhooksStream(egg string) string { return "egghooks-" + egg }

// LeaseStream is the stream of one lease's holders: "lease-<name>".
func LeaseStream(name string) string { return "lease-" + name }
