package awssmtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/awssm/awssmtest"
)

// TestWireErrors checks what the fake answers a client that does not
// follow the protocol, as Secrets Manager does.
func TestWireErrors(t *testing.T) {
	srv := awssmtest.Start(t)
	const goodAuth = "AWS4-HMAC-SHA256 Credential=AKIDX/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" +
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, target, contentType, auth, date, wantType string
		status                                          int
	}{
		{name: "unsigned", target: "secretsmanager.GetSecretValue", contentType: "application/x-amz-json-1.1", wantType: "MissingAuthenticationTokenException", status: 400},
		{name: "other_service_scope", target: "secretsmanager.GetSecretValue", contentType: "application/x-amz-json-1.1", date: "20260101T000000Z",
			auth: strings.Replace(goodAuth, "/secretsmanager/", "/s3/", 1), wantType: "IncompleteSignatureException", status: 400},
		{name: "date_not_signed", target: "secretsmanager.GetSecretValue", contentType: "application/x-amz-json-1.1", date: "20260101T000000Z",
			auth: strings.Replace(goodAuth, ";x-amz-date", "", 1), wantType: "IncompleteSignatureException", status: 400},
		{name: "wrong_content_type", target: "secretsmanager.GetSecretValue", contentType: "application/json", auth: goodAuth, date: "20260101T000000Z", wantType: "SerializationException", status: 400},
		{name: "unknown_operation", target: "secretsmanager.RotateSecret", contentType: "application/x-amz-json-1.1", auth: goodAuth, date: "20260101T000000Z", wantType: "UnknownOperationException", status: 400},
		{name: "missing_secret", target: "secretsmanager.GetSecretValue", contentType: "application/x-amz-json-1.1", auth: goodAuth, date: "20260101T000000Z", wantType: "ResourceNotFoundException", status: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader(`{"SecretId":"nope"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", tc.contentType)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.date != "" {
				req.Header.Set("X-Amz-Date", tc.date)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || body["__type"] != tc.wantType || !strings.HasPrefix(resp.Header.Get("x-amzn-ErrorType"), tc.wantType+":") {
				t.Fatalf("answered %d %v (x-amzn-ErrorType %q), want %d %s", resp.StatusCode, body, resp.Header.Get("x-amzn-ErrorType"), tc.status, tc.wantType)
			}
		})
	}
}
