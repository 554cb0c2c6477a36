package awssm

import (
	"context"
	"regexp"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// awsRegion matches AWS region names ("eu-west-1", "us-gov-west-1",
// "ap-southeast-2", "cn-north-1") and, with a trailing letter, their
// availability zones ("eu-west-1a"). Yandex Cloud names ("ru-central1",
// "ru-central1-a") do not match: an egg there has no AWS region.
var awsRegion = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})([a-z])?$`)

// regionFromScope returns the AWS region of the egg the resolution is
// for, "" when its scope names none.
func regionFromScope(ctx context.Context) string {
	m := awsRegion.FindStringSubmatch(ports.SecretScopeOf(ctx).Region)
	if m == nil {
		return ""
	}
	return m[1]
}

// region picks the region of a call: the scope's, else the configured one.
func (b *Backend) region(ctx context.Context, loc location) (string, error) {
	if r := regionFromScope(ctx); r != "" {
		return r, nil
	}
	if b.defaultRegion != "" {
		return b.defaultRegion, nil
	}
	return "", errs.Errorf(errs.EINVALID, "secret %s: no AWS region: the egg names none and neither the backend's region nor AWS_REGION is set", loc.uri)
}
