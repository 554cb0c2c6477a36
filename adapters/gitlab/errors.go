package gitlab

import (
	"errors"
	"net/http"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// apiError classifies the error of a GitLab API call, in the words of the
// call ("pause runner 7 on gitlab.com"): 401 and 403 EUNAUTHORIZED (the
// token, its scope or its role), 404 ENOTFOUND, 429 a *ThrottledError
// (EUNAVAILABLE, with GitLab's Retry-After), 5xx and no answer (the
// network, a timeout, a cancelled context) EUNAVAILABLE, any other answer
// (400, 409, 422) EINVALID with GitLab's message. The token is never in the
// error: client-go does not put the PRIVATE-TOKEN header into it.
func apiError(err error, call string) error {
	var resp *gl.ErrorResponse
	if errors.As(err, &resp) && resp.Response != nil {
		switch code := resp.Response.StatusCode; {
		case code == http.StatusTooManyRequests:
			return &ThrottledError{Wait: retryAfter(resp.Response.Header.Get("Retry-After"), time.Now()), Err: err}
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return errs.Wrap(errs.EUNAUTHORIZED, err, "GitLab refused the API token to %s (%d)", call, code)
		case code == http.StatusNotFound:
			return errs.Wrap(errs.ENOTFOUND, err, "cannot %s: not found, or hidden from the API token (404)", call)
		case code >= 500:
			return errs.Wrap(errs.EUNAVAILABLE, err, "GitLab failed to %s (%d)", call, code)
		default:
			return errs.Wrap(errs.EINVALID, err, "GitLab answered %d to the request to %s: %s", code, call, resp.Message)
		}
	}
	if errors.Is(err, gl.ErrNotFound) {
		return errs.Wrap(errs.ENOTFOUND, err, "cannot %s: not found, or hidden from the API token (404)", call)
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "GitLab cannot be reached to %s", call)
}
