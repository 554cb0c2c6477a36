package awssm

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// codes maps Secrets Manager's error types
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html
// and each operation's Errors section) to the port's error codes.
var codes = map[string]string{
	"ResourceNotFoundException": errs.ENOTFOUND,

	"AccessDeniedException":               errs.EUNAUTHORIZED,
	"UnrecognizedClientException":         errs.EUNAUTHORIZED,
	"InvalidSignatureException":           errs.EUNAUTHORIZED,
	"IncompleteSignature":                 errs.EUNAUTHORIZED,
	"IncompleteSignatureException":        errs.EUNAUTHORIZED,
	"MissingAuthenticationToken":          errs.EUNAUTHORIZED,
	"MissingAuthenticationTokenException": errs.EUNAUTHORIZED,
	"InvalidClientTokenId":                errs.EUNAUTHORIZED,
	"ExpiredToken":                        errs.EUNAUTHORIZED,
	"ExpiredTokenException":               errs.EUNAUTHORIZED,
	"DecryptionFailure":                   errs.EUNAUTHORIZED, // KMS refuses to decrypt with the secret's key
	"EncryptionFailure":                   errs.EUNAUTHORIZED, // KMS refuses to encrypt with it

	"ThrottlingException":    errs.EUNAVAILABLE,
	"Throttling":             errs.EUNAVAILABLE,
	"RequestLimitExceeded":   errs.EUNAVAILABLE,
	"LimitExceededException": errs.EUNAVAILABLE,
	"InternalServiceError":   errs.EUNAVAILABLE,
	"InternalFailure":        errs.EUNAVAILABLE,
	"ServiceUnavailable":     errs.EUNAVAILABLE,

	"InvalidParameterException": errs.EINVALID,
	"InvalidRequestException":   errs.EINVALID,
	"ValidationException":       errs.EINVALID,
}

var throttles = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "RequestLimitExceeded": true,
}

func isExpiredToken(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "ExpiredTokenException" || api.ErrorCode() == "ExpiredToken")
}

// classify turns an SDK error of action ("read", "create") on loc into an
// error with the port's code. The SDK's error text (operation, status,
// request ID, AWS's message) never holds a secret value: AWS does not echo
// request bodies, and a response body that does not decode is not kept as
// a cause.
func classify(ctx context.Context, err error, loc location, action string) error {
	var coded *errs.Error
	if errors.As(err, &coded) {
		return err // ours already (no region, a value that cannot be encoded)
	}
	var (
		api    smithy.APIError
		resp   *awshttp.ResponseError
		decode *smithy.DeserializationError
	)
	switch {
	case errors.As(err, &decode):
		return errs.Errorf(errs.EUNAVAILABLE, "secret %s: %s: Secrets Manager answered something that is not its protocol", loc.uri, action)
	case errors.As(err, &api):
		code, known := codes[api.ErrorCode()]
		switch {
		case throttles[api.ErrorCode()]:
			return errs.Wrap(errs.EUNAVAILABLE, err, "secret %s: %s: throttled by Secrets Manager", loc.uri, action)
		case known && code == errs.ENOTFOUND:
			return errs.Wrap(code, err, "secret %s: %s: no such secret", loc.uri, action)
		case isExpiredToken(err):
			return errs.Wrap(errs.EUNAUTHORIZED, err, "secret %s: %s: the AWS credentials expired and new ones could not be had", loc.uri, action)
		case known && code == errs.EUNAUTHORIZED:
			return errs.Wrap(code, err, "secret %s: %s: access refused (%s)", loc.uri, action, api.ErrorCode())
		case known && code == errs.EUNAVAILABLE:
			return errs.Wrap(code, err, "secret %s: %s: Secrets Manager failed (%s)", loc.uri, action, api.ErrorCode())
		case known:
			return errs.Wrap(code, err, "secret %s: %s: refused as invalid (%s)", loc.uri, action, api.ErrorCode())
		case errors.As(err, &resp) && resp.HTTPStatusCode() >= 500:
			return errs.Wrap(errs.EUNAVAILABLE, err, "secret %s: %s: Secrets Manager failed", loc.uri, action)
		}
		return errs.Wrap(errs.EINTERNAL, err, "secret %s: %s: unexpected error %s", loc.uri, action, api.ErrorCode())
	case ctx.Err() != nil:
		// The caller gave up (cancel or its own deadline).
		return errs.Wrap(errs.EUNAVAILABLE, ctx.Err(), "secret %s: %s: abandoned", loc.uri, action)
	case errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.EUNAVAILABLE, err, "secret %s: %s: Secrets Manager timed out", loc.uri, action)
	}
	var creds *credentialsError
	if errors.As(err, &creds) {
		var ne net.Error
		if errors.As(err, &ne) {
			// An instance metadata service or STS that does not answer.
			return errs.Wrap(errs.EUNAVAILABLE, err, "secret %s: %s: the AWS credential source is unreachable", loc.uri, action)
		}
		return errs.Wrap(errs.EUNAUTHORIZED, err, "secret %s: %s: no usable AWS credentials", loc.uri, action)
	}
	// Connection refused, reset, DNS, TLS: the service cannot be reached.
	return errs.Wrap(errs.EUNAVAILABLE, err, "secret %s: %s: Secrets Manager unreachable", loc.uri, action)
}

// credentialsError marks a failure of the credential chain (no
// credentials, a refused role assumption, an unreachable metadata service)
// so that classify tells it from a failure of the call.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// markedCredentials wraps the credentials cache so that its errors are
// credentialsErrors.
type markedCredentials struct{ cache *aws.CredentialsCache }

func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.cache.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err: err}
	}
	return c, nil
}
