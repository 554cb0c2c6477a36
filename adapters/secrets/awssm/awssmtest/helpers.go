package awssmtest

import (
	"encoding/json"
	"time"
)

// helperRegion is the region in the ARN of a secret a test creates with a
// helper rather than through the API.
const helperRegion = "us-east-1"

// Put sets key to value in the JSON object of secret name, keeping its
// other keys, as a new AWSCURRENT version (a rotation); the secret is
// created when missing. It fails the test if the current value is not a
// JSON object of strings.
func (s *Server) Put(name, key, value string) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := map[string]string{}
	if sec := s.secrets[name]; sec != nil {
		if v := sec.current(); v != nil && v.str != nil {
			if err := json.Unmarshal([]byte(*v.str), &obj); err != nil {
				s.tb.Fatalf("awssmtest: Put(%q): the current value is not a JSON object of strings", name)
			}
		}
	}
	obj[key] = value
	b, err := json.Marshal(obj)
	if err != nil {
		s.tb.Fatal(err)
	}
	s.putLocked(name, new(string(b)), nil)
}

// PutString stores secretString as is (JSON or not) as the new AWSCURRENT
// version of secret name, created when missing.
func (s *Server) PutString(name, secretString string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(name, &secretString, nil)
}

// PutBinary stores a SecretBinary value as the new AWSCURRENT version of
// secret name, created when missing.
func (s *Server) PutBinary(name string, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(name, nil, append([]byte{}, value...))
}

func (s *Server) putLocked(name string, str *string, bin []byte) {
	sec := s.secrets[name]
	if sec == nil {
		sec = s.create(name, helperRegion)
	}
	sec.addVersion(s.nextID(), str, bin, time.Now())
}

// CreateEmpty creates secret name without a value, as CreateSecret
// without SecretString or SecretBinary does: GetSecretValue answers
// ResourceNotFoundException until a value is put.
func (s *Server) CreateEmpty(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets[name] == nil {
		s.create(name, helperRegion)
	}
}

// SecretString returns the AWSCURRENT SecretString of secret name; ok is
// false when there is none.
func (s *Server) SecretString(name string) (value string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[name]; sec != nil {
		if v := sec.current(); v != nil && v.str != nil {
			return *v.str, true
		}
	}
	return "", false
}

// Metadata is what DescribeSecret tells of a secret.
type Metadata struct {
	ARN         string
	Description string
	Tags        []Tag
	Versions    int // versions with a staging label
}

// Describe returns the metadata of secret name; ok is false when it does
// not exist.
func (s *Server) Describe(name string) (m Metadata, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[name]
	if sec == nil {
		return Metadata{}, false
	}
	return Metadata{ARN: sec.arn, Description: sec.description, Tags: append([]Tag(nil), sec.tags...), Versions: len(sec.versions)}, true
}
