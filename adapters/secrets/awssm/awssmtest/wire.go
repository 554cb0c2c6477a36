package awssmtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxBody bounds a request body: a secret value is at most 65,536 bytes
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html),
// base64 and JSON framing included this is plenty.
const maxBody = 1 << 20

// apiError is an error answer of the JSON 1.1 protocol.
type apiError struct {
	status  int
	code    string
	message string
	// common errors (authentication, throttling, access) come from AWS's
	// front end and spell the member "message"; the errors modelled by
	// Secrets Manager spell it "Message". Clients accept both.
	common bool
}

func (e *apiError) write(w http.ResponseWriter) {
	// The header names the type too; clients prefer it over the body.
	w.Header().Set("x-amzn-ErrorType", e.code+":http://internal.amazon.com/coral/com.amazonaws.secrets/")
	member := "Message"
	if e.common {
		member = "message"
	}
	writeJSON(w, e.status, map[string]string{"__type": e.code, member: e.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// request holds the members of every request shape the fake serves; each
// operation reads its own.
type request struct {
	SecretID           string  `json:"SecretId"`
	Name               string  `json:"Name"`
	VersionID          string  `json:"VersionId"`
	VersionStage       string  `json:"VersionStage"`
	SecretString       *string `json:"SecretString"`
	SecretBinary       []byte  `json:"SecretBinary"` // base64 on the wire
	ClientRequestToken string  `json:"ClientRequestToken"`
	Description        string  `json:"Description"`
	Tags               []Tag   `json:"Tags"`
}

// Tag is a secret's tag, as CreateSecret takes and DescribeSecret answers.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "secretsmanager.")
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok {
		(&apiError{status: http.StatusBadRequest, code: "UnknownOperationException", common: true, message: "no operation for " + r.Method + " " + r.URL.Path + " with X-Amz-Target " + target}).write(w)
		return
	}
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		(&apiError{status: http.StatusBadRequest, code: "SerializationException", common: true, message: "Content-Type must be application/x-amz-json-1.1, not " + ct}).write(w)
		return
	}
	sig, aerr := readSignature(r)
	if aerr != nil {
		aerr.write(w)
		return
	}
	var req request
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody || json.Unmarshal(body, &req) != nil {
		(&apiError{status: http.StatusBadRequest, code: "SerializationException", common: true, message: "the request body is not a valid JSON request"}).write(w)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.signed = append(s.signed, sig)
	name := req.Name
	if req.SecretID != "" {
		name = s.nameOf(req.SecretID)
	}
	if f := s.faults.check(sig, name); f != nil {
		f.write(w)
		return
	}
	var (
		out  any
		oerr *apiError
	)
	switch op {
	case "GetSecretValue":
		out, oerr = s.getSecretValue(req)
	case "PutSecretValue":
		out, oerr = s.putSecretValue(req)
	case "CreateSecret":
		out, oerr = s.createSecret(req, sig.Region)
	case "DescribeSecret":
		out, oerr = s.describeSecret(req)
	default:
		oerr = &apiError{status: http.StatusBadRequest, code: "UnknownOperationException", common: true, message: "the fake does not implement " + op}
	}
	if oerr != nil {
		oerr.write(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
