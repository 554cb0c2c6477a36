package awssmtest

import "net/http"

// faults are the answers a test injected; they are checked before the
// operation runs, in the order of check.
type faults struct {
	denied   map[string]bool // secret names answered AccessDeniedException
	expired  map[string]bool // access key IDs answered ExpiredTokenException
	throttle int             // requests still to answer ThrottlingException
	failures []failure       // FailWith's answers, in order
}

// failure is an error answer FailWith injected for the next n requests.
type failure struct {
	err apiError
	n   int
}

func newFaults() faults {
	return faults{denied: map[string]bool{}, expired: map[string]bool{}}
}

// Deny answers every request on the secret name with AccessDeniedException,
// as IAM does for a principal without secretsmanager:GetSecretValue (or
// PutSecretValue, CreateSecret) on it, until Allow.
func (s *Server) Deny(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.denied[name] = true
}

// Allow undoes Deny.
func (s *Server) Allow(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults.denied, name)
}

// Throttle answers the next n requests with ThrottlingException ("Rate
// exceeded"), HTTP 400 as Secrets Manager does.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.throttle = n
}

// FailInternal answers the next n requests with HTTP 500
// InternalServiceError.
func (s *Server) FailInternal(n int) {
	s.FailWith(http.StatusInternalServerError, "InternalServiceError", "An error occurred on the server side.", n)
}

// FailWith answers the next n requests with an error of type code (one of
// the service's documented errors, such as "DecryptionFailure" or
// "InvalidRequestException") and HTTP status, after the failures injected
// before it are used up.
func (s *Server) FailWith(status int, code, message string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failures = append(s.faults.failures, failure{err: apiError{status: status, code: code, message: message}, n: n})
}

// ExpireCredentials answers every request signed with accessKeyID with
// ExpiredTokenException, as AWS does once temporary credentials (a role's,
// a session token) are past their expiry; a client has to get new ones.
func (s *Server) ExpireCredentials(accessKeyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.expired[accessKeyID] = true
}

// check returns the fault that a request on secret name signed by sig
// meets, counting it, or nil. The caller holds s.mu.
func (f *faults) check(sig Signature, name string) *apiError {
	switch {
	case f.expired[sig.AccessKeyID]:
		return &apiError{status: http.StatusBadRequest, code: "ExpiredTokenException", message: "The security token included in the request is expired", common: true}
	case f.throttle > 0:
		f.throttle--
		return &apiError{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded", common: true}
	case len(f.failures) > 0:
		e := f.failures[0].err
		if f.failures[0].n--; f.failures[0].n <= 0 {
			f.failures = f.failures[1:]
		}
		return &e
	case name != "" && f.denied[name]:
		return &apiError{status: http.StatusBadRequest, code: "AccessDeniedException", common: true,
			message: "User: arn:aws:iam::" + Account + ":user/test is not authorized to perform this action on resource: " + name + " because no identity-based policy allows it"}
	}
	return nil
}
