package lockboxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"time"

	lockboxpb "github.com/yandex-cloud/go-genproto/yandex/cloud/lockbox/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// secret is a Lockbox secret: its versions, the last one current. A secret
// put by PutNamed has a folder and a name; one put by Put has neither.
type secret struct {
	id       string
	folderID string
	name     string
	created  time.Time
	versions []version
}

type version struct {
	id      string
	entries map[string][]byte
	binary  map[string]bool // keys stored as binary_value
}

func (sec *secret) current() version { return sec.versions[len(sec.versions)-1] }

// version returns the version id of sec, the current one for "".
func (sec *secret) version(id string) (version, error) {
	if id == "" {
		return sec.current(), nil
	}
	i := slices.IndexFunc(sec.versions, func(v version) bool { return v.id == id })
	if i < 0 {
		return version{}, status.Errorf(codes.NotFound, "Version %s not found", id)
	}
	return sec.versions[i], nil
}

// Put sets key to value in a new current version of secretID (creating the
// secret), keeping the secret's other keys: rotating a value is another Put.
func (s *Server) Put(secretID, key, value string) {
	s.put(secretID, key, []byte(value), false)
}

// PutBinary is Put with the entry stored as a binary_value.
func (s *Server) PutBinary(secretID, key string, value []byte) {
	s.put(secretID, key, value, true)
}

func (s *Server) put(secretID, key string, value []byte, binary bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addVersionLocked(secretID, map[string][]byte{key: value}, map[string]bool{key: binary})
}

// PutNamed is Put for the secret named name in folderID: the first PutNamed
// creates it with a new ID, which every PutNamed returns.
func (s *Server) PutNamed(folderID, name, key, value string) (secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.namedLocked(folderID, name)
	if sec == nil {
		sec = &secret{id: newSecretID(), folderID: folderID, name: name, created: s.now()}
		s.secrets[sec.id] = sec
	}
	s.addVersionLocked(sec.id, map[string][]byte{key: []byte(value)}, map[string]bool{key: false})
	return sec.id
}

// SecretID is the ID of the secret named name in folderID.
func (s *Server) SecretID(folderID, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.namedLocked(folderID, name); sec != nil {
		return sec.id, true
	}
	return "", false
}

// namedLocked returns the secret named name in folderID, or nil.
func (s *Server) namedLocked(folderID, name string) *secret {
	for _, sec := range s.secrets {
		if sec.folderID == folderID && sec.name == name {
			return sec
		}
	}
	return nil
}

// DenyFolder answers PERMISSION_DENIED to every List of folderID and every
// GetEx by a name in it.
func (s *Server) DenyFolder(folderID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deniedFolders[folderID] = true
}

// addVersionLocked adds a version of secretID made of the current one with
// changes applied and returns its id.
func (s *Server) addVersionLocked(secretID string, changes map[string][]byte, binary map[string]bool) string {
	sec := s.secrets[secretID]
	if sec == nil {
		sec = &secret{id: secretID, created: s.now()}
		s.secrets[secretID] = sec
	}
	v := version{id: "fake-version-" + randomHex(6), entries: map[string][]byte{}, binary: map[string]bool{}}
	if len(sec.versions) > 0 {
		maps.Copy(v.entries, sec.current().entries)
		maps.Copy(v.binary, sec.current().binary)
	}
	for k, val := range changes {
		v.entries[k] = slices.Clone(val)
		v.binary[k] = binary[k]
	}
	sec.versions = append(sec.versions, v)
	return v.id
}

// FailOperations makes the next n AddVersion calls answer a done operation
// whose error has code c (and add no version).
func (s *Server) FailOperations(c codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opFail = opFailure{code: c, left: n}
}

// PendOperations makes AddVersion answer operations that are not done yet.
func (s *Server) PendOperations(pending bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opPending = pending
}

type opFailure struct {
	code codes.Code
	left int
}

// Delete removes secretID: calls about it answer NOT_FOUND.
func (s *Server) Delete(secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, secretID)
}

// Value returns key of the current version of secretID.
func (s *Server) Value(secretID, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[secretID]
	if sec == nil {
		return "", false
	}
	v, ok := sec.current().entries[key]
	return string(v), ok
}

// Versions is how many versions secretID has (0 when it does not exist).
func (s *Server) Versions(secretID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[secretID]; sec != nil {
		return len(sec.versions)
	}
	return 0
}

// findLocked returns secretID or the documented error for it.
func (s *Server) findLocked(secretID string) (*secret, error) {
	if secretID == "" {
		return nil, status.Error(codes.InvalidArgument, "secret_id: required")
	}
	if s.denied[secretID] {
		return nil, status.Errorf(codes.PermissionDenied, "Permission denied to secret %s", secretID)
	}
	sec := s.secrets[secretID]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret %s not found", secretID)
	}
	return sec, nil
}

// payloadService is PayloadService: Get of the current version.
type payloadService struct {
	lockboxpb.UnimplementedPayloadServiceServer
	s *Server
}

func (p payloadService) Get(_ context.Context, req *lockboxpb.GetPayloadRequest) (*lockboxpb.Payload, error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLocked(req.GetSecretId())
	if err != nil {
		return nil, err
	}
	v, err := sec.version(req.GetVersionId())
	if err != nil {
		return nil, err
	}
	out := &lockboxpb.Payload{VersionId: v.id}
	for _, k := range slices.Sorted(maps.Keys(v.entries)) {
		e := &lockboxpb.Payload_Entry{Key: k}
		if v.binary[k] {
			e.Value = &lockboxpb.Payload_Entry_BinaryValue{BinaryValue: slices.Clone(v.entries[k])}
		} else {
			e.Value = &lockboxpb.Payload_Entry_TextValue{TextValue: string(v.entries[k])}
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

// secretService is SecretService: AddVersion; the rest is Unimplemented.
type secretService struct {
	lockboxpb.UnimplementedSecretServiceServer
	s *Server
}

func (ss secretService) AddVersion(_ context.Context, req *lockboxpb.AddVersionRequest) (*operation.Operation, error) {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.findLocked(req.GetSecretId())
	if err != nil {
		return nil, err
	}
	if base := req.GetBaseVersionId(); base != "" && base != sec.current().id {
		return nil, status.Error(codes.Unimplemented, "lockboxtest: only the current version is a base version")
	}
	if len(req.GetPayloadEntries()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "payload_entries: required")
	}
	changes, binary := map[string][]byte{}, map[string]bool{}
	for _, e := range req.GetPayloadEntries() {
		if e.GetKey() == "" {
			return nil, status.Error(codes.InvalidArgument, "payload_entries.key: required")
		}
		switch v := e.GetValue().(type) {
		case *lockboxpb.PayloadEntryChange_TextValue:
			changes[e.GetKey()] = []byte(v.TextValue)
		case *lockboxpb.PayloadEntryChange_BinaryValue:
			changes[e.GetKey()], binary[e.GetKey()] = v.BinaryValue, true
		default:
			return nil, status.Error(codes.InvalidArgument, "payload_entries.value: required")
		}
	}
	if s.opFail.left > 0 {
		// The operation was accepted and failed: nothing changes.
		s.opFail.left--
		return &operation.Operation{
			Id: "fake-op-" + randomHex(6), Description: "Add secret version", Done: true,
			Result: &operation.Operation_Error{Error: status.New(s.opFail.code, "lockboxtest: injected operation failure").Proto()},
		}, nil
	}
	id := s.addVersionLocked(req.GetSecretId(), changes, binary)
	now := timestamppb.New(s.now())
	meta, err := anypb.New(&lockboxpb.AddVersionMetadata{SecretId: req.GetSecretId(), VersionId: id})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	resp, err := anypb.New(&lockboxpb.Version{
		Id: id, SecretId: req.GetSecretId(), CreatedAt: now, Description: req.GetDescription(),
		Status: lockboxpb.Version_ACTIVE, PayloadEntryKeys: slices.Sorted(maps.Keys(sec.current().entries)),
	})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	op := &operation.Operation{
		Id: "fake-op-" + randomHex(6), Description: "Add secret version", CreatedAt: now, ModifiedAt: now,
		Done: true, Metadata: meta, Result: &operation.Operation_Response{Response: resp},
	}
	if s.opPending {
		// As Lockbox may answer: running, no result yet (the version is
		// already there in this fake).
		op.Done, op.Result = false, nil
	}
	return op, nil
}

// newSecretID returns an ID of the shape Yandex Cloud issues: "e6q", the
// prefix of Lockbox, and 17 lower-case letters and digits.
func newSecretID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 17)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "e6q" + string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
