package secrets_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets"
)

func TestRedactingHandler_a_value_planted_in_an_error_is_redacted(t *testing.T) {
	red := secrets.NewRedactions()
	const value = "s3cr3t-webhook-token"
	red.Add("vault://kv/app/token", []byte(value+"\n"))
	var buf bytes.Buffer
	log := slog.New(secrets.RedactingHandler(slog.NewJSONHandler(&buf, nil), red))
	planted := fmt.Errorf("backend said: bad token %s", value)
	log.With("static", "prefix "+value).WithGroup("g").Error("failed with "+value,
		"err", planted, "plain", value, "any", struct{ V string }{value},
		slog.Group("nested", "deep", value), "ok", "nothing here")
	out := buf.String()
	if strings.Contains(out, value) {
		t.Fatalf("the value reached the log:\n%s", out)
	}
	if strings.Count(out, secrets.Redacted) != 6 {
		t.Fatalf("want 6 redactions (message, static, err, plain, any, nested):\n%s", out)
	}
	if !strings.Contains(out, "nothing here") || !strings.Contains(out, "backend said: bad token") {
		t.Fatalf("the rest of the line must stay:\n%s", out)
	}
}

func TestRedactions_short_values_are_not_redacted(t *testing.T) {
	red := secrets.NewRedactions()
	red.Add("env://X", []byte("true"))
	if got := red.Redact("it is true"); got != "it is true" {
		t.Fatalf("Redact = %q", got)
	}
}

func TestRedactions_a_rotated_value_stays_redacted(t *testing.T) {
	red := secrets.NewRedactions()
	red.Add("vault://kv/a/k", []byte("first-secret-value"))
	red.Add("vault://kv/a/k", []byte("second-secret-value"))
	if got := red.Redact("first-secret-value second-secret-value"); got != secrets.Redacted+" "+secrets.Redacted {
		t.Fatalf("Redact = %q", got)
	}
}
