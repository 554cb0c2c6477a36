package s3blobs

import (
	"context"
	"errors"
	"fmt"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// S3 error codes by what the caller can do about them.
var (
	unauthorizedCodes = map[string]bool{
		"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
		"ExpiredToken": true, "InvalidToken": true, "AllAccessDisabled": true, "Forbidden": true,
	}
	invalidCodes = map[string]bool{
		"NoSuchBucket": true, "InvalidBucketName": true, "PermanentRedirect": true,
		"AuthorizationHeaderMalformed": true, "EntityTooLarge": true, "InvalidArgument": true,
	}
)

// classify gives an S3 call's error a code: ENOTFOUND for a missing object
// (HeadObject's bare 404 included), EUNAUTHORIZED for refused credentials,
// EINVALID for what the configuration must change (a missing bucket, the
// wrong region), EUNAVAILABLE for the rest (network, 5xx, throttling,
// a body cut short), which retrying may cure.
func classify(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var noKey *types.NoSuchKey
	var notFound *types.NotFound
	if errors.As(err, &noKey) || errors.As(err, &notFound) {
		return errs.Wrap(errs.ENOTFOUND, err, "%s: not found", what)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(errs.EUNAVAILABLE, err, "%s", what)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch code := api.ErrorCode(); {
		case code == "NoSuchKey" || code == "NotFound":
			return errs.Wrap(errs.ENOTFOUND, err, "%s: not found", what)
		case unauthorizedCodes[code]:
			return errs.Wrap(errs.EUNAUTHORIZED, err, "%s: the bucket refused these credentials (%s)", what, code)
		case invalidCodes[code]:
			return errs.Wrap(errs.EINVALID, err, "%s: %s", what, code)
		}
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		switch resp.HTTPStatusCode() {
		case 401, 403:
			return errs.Wrap(errs.EUNAUTHORIZED, err, "%s: the bucket refused these credentials", what)
		case 404:
			return errs.Wrap(errs.ENOTFOUND, err, "%s: not found", what)
		case 301, 400:
			return errs.Wrap(errs.EINVALID, err, "%s", what)
		}
	}
	return errs.Wrap(errs.EUNAVAILABLE, err, "%s", what)
}
