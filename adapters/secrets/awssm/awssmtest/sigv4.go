package awssmtest

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Signature is what the fake reads from a request's Signature Version 4
// Authorization header.
type Signature struct {
	AccessKeyID string
	Region      string
}

// authorization matches the header of a SigV4-signed request
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
// "AWS4-HMAC-SHA256 Credential=<key-id>/<yyyymmdd>/<region>/secretsmanager/aws4_request,
// SignedHeaders=<h1;h2;...>, Signature=<64 hex>".
var authorization = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Za-z0-9]+)/(\d{8})/([a-z0-9-]+)/secretsmanager/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=[0-9a-f]{64}$`)

// readSignature checks that r is SigV4-signed for Secrets Manager. It
// answers the error AWS gives otherwise: MissingAuthenticationTokenException
// without an Authorization header, IncompleteSignatureException for a
// malformed one (https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html).
func readSignature(r *http.Request) (Signature, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return Signature{}, &apiError{status: http.StatusBadRequest, code: "MissingAuthenticationTokenException", message: "Missing Authentication Token"}
	}
	m := authorization.FindStringSubmatch(h)
	if m == nil {
		return Signature{}, &apiError{status: http.StatusBadRequest, code: "IncompleteSignatureException", message: "Authorization header requires a Credential scope of <key>/<date>/<region>/secretsmanager/aws4_request, SignedHeaders and Signature"}
	}
	signed := strings.Split(m[4], ";")
	date := r.Header.Get("X-Amz-Date")
	if !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") || !strings.HasPrefix(date, m[2]) {
		return Signature{}, &apiError{status: http.StatusBadRequest, code: "IncompleteSignatureException", message: "the signature must cover host and x-amz-date, and X-Amz-Date must be on the credential scope's date"}
	}
	return Signature{AccessKeyID: m[1], Region: m[3]}, nil
}
