package lockbox

import (
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// classify turns the error of a gRPC call about subject (the URI, and the
// name and folder of a named secret: secretRef.subject) into a coded error;
// what says what the call was for ("read the secret", "add a version").
func classify(err error, subject, what string) error {
	if err == nil {
		return nil
	}
	var coded *errs.Error
	if errors.As(err, &coded) {
		return err
	}
	st, _ := status.FromError(err)
	return codeError(st.Code(), subject, what, err)
}

// codeError is the error of gRPC code c for a call about subject. The cause is
// kept (and shown) only for codes whose text comes from the transport or
// the authentication layer; an INVALID_ARGUMENT or INTERNAL text could
// describe the payload of a write, so it is dropped.
func codeError(c codes.Code, subject, what string, cause error) error {
	e := func(code, format string, args ...any) error {
		switch c {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Unauthenticated, codes.PermissionDenied, codes.NotFound:
			return errs.Wrap(code, cause, format, args...)
		}
		return errs.Errorf(code, format, args...)
	}
	switch c {
	case codes.NotFound:
		return e(errs.ENOTFOUND, "secret %s: Lockbox has no such secret", subject)
	case codes.PermissionDenied, codes.Unauthenticated:
		return e(errs.EUNAUTHORIZED, "secret %s: Lockbox refused to %s (%s)", subject, what, c)
	case codes.ResourceExhausted:
		return e(errs.EUNAVAILABLE, "secret %s: Lockbox throttled the request to %s", subject, what)
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Aborted, codes.Unknown, codes.Canceled:
		return e(errs.EUNAVAILABLE, "secret %s: Lockbox is unavailable to %s (%s)", subject, what, c)
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return e(errs.EINVALID, "secret %s: Lockbox refused the request to %s as invalid (%s)", subject, what, c)
	default:
		return e(errs.EINTERNAL, "secret %s: unexpected answer of Lockbox to the request to %s (%s)", subject, what, c)
	}
}
