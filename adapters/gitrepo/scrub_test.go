package gitrepo

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// Every error a Repo returns has the credential it holds removed from its
// text, wherever the text holds it, and keeps its code and its chain.
func TestScrub_removes_the_known_credential_and_keeps_the_chain(t *testing.T) {
	const token = "tok3n-val"
	cause := fmt.Errorf("server said: bad credential %s for user oauth2: %w", token, transport.ErrAuthorizationFailed)
	err := scrub(classify(cause, "fetch %s (branch %s)", "https://gitlab.example.com/nest.git", "main"), []string{token})
	if strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "bad credential *** for user oauth2") {
		t.Fatalf("scrubbed error %q", err)
	}
	if errs.Code(err) != errs.EUNAUTHORIZED || !errors.Is(err, transport.ErrAuthorizationFailed) {
		t.Fatalf("code %s, chain lost: %v", errs.Code(err), err)
	}
	plain := scrub(errors.New("dial with "+token), []string{token})
	if strings.Contains(plain.Error(), token) {
		t.Fatalf("scrubbed %q", plain)
	}
	if scrub(nil, []string{token}) != nil {
		t.Fatal("scrub(nil) is not nil")
	}
}
