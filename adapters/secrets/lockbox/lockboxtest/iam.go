package lockboxtest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polar-gosling/polar-gosling/adapters/secrets/lockbox"
)

// saKey is a registered service account key.
type saKey struct {
	serviceAccountID string
	public           *rsa.PublicKey
}

// iamService is IamTokenService: Create from a JWT.
type iamService struct {
	iampb.UnimplementedIamTokenServiceServer
	s *Server
}

// maxJWTLife is the longest exp-iat the IAM service accepts.
const maxJWTLife = time.Hour

// Create verifies the JWT as the IAM service documents it (PS256, kid of a
// registered key, iss its service account, aud the token endpoint, not
// expired, at most an hour long) and issues an IAM token.
func (is iamService) Create(_ context.Context, req *iampb.CreateIamTokenRequest) (*iampb.CreateIamTokenResponse, error) {
	jwt := req.GetJwt()
	if jwt == "" {
		return nil, status.Error(codes.InvalidArgument, "jwt: required (lockboxtest issues tokens for service account keys only)")
	}
	s := is.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.verifyJWTLocked(jwt); err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	tok, exp := s.issueLocked()
	return &iampb.CreateIamTokenResponse{IamToken: tok, ExpiresAt: timestamppb.New(exp)}, nil
}

type jwtError string

func (e jwtError) Error() string { return string(e) }

func (s *Server) verifyJWTLocked(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return jwtError("the JWT is malformed")
	}
	enc := base64.RawURLEncoding
	var header struct{ Alg, Typ, Kid string }
	var claims struct {
		Iss string `json:"iss"`
		Aud any    `json:"aud"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}
	h, err1 := enc.DecodeString(parts[0])
	c, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &header) != nil || json.Unmarshal(c, &claims) != nil {
		return jwtError("the JWT is malformed")
	}
	if header.Alg != "PS256" {
		return jwtError("the JWT must be signed with PS256")
	}
	key, ok := s.keys[header.Kid]
	if !ok {
		return jwtError("unknown key id " + header.Kid)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPSS(key.public, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) != nil {
		return jwtError("the JWT signature does not verify")
	}
	if claims.Iss != key.serviceAccountID {
		return jwtError("the JWT issuer is not the key's service account")
	}
	if aud, _ := claims.Aud.(string); aud != lockbox.IAMTokenAudience {
		return jwtError("the JWT audience must be " + lockbox.IAMTokenAudience)
	}
	now := s.now().Unix()
	if claims.Exp <= now || claims.Iat > now+60 || claims.Exp-claims.Iat > int64(maxJWTLife/time.Second) {
		return jwtError("the JWT is expired, not yet valid or valid longer than an hour")
	}
	return nil
}

// RevokeKey deletes the service account key keyID: JWTs signed with it are
// refused (UNAUTHENTICATED), so tokens can no longer be renewed.
func (s *Server) RevokeKey(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, keyID)
}

// WriteKeyFile creates an RSA key for a service account, registers its
// public half and writes an authorized key file in dir the way `yc iam key
// create --output` does (https://yandex.cloud/en/docs/iam/operations/authentication/manage-authorized-keys),
// including the line newer yc versions put before the private key. It
// returns the file's path and the key id.
func (s *Server) WriteKeyFile(dir, serviceAccountID string) (path, keyID string) {
	s.t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		s.t.Fatalf("lockboxtest: generate key: %v", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		s.t.Fatalf("lockboxtest: marshal key: %v", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		s.t.Fatalf("lockboxtest: marshal public key: %v", err)
	}
	keyID = "ajefake" + randomHex(6)
	s.mu.Lock()
	s.keys[keyID] = saKey{serviceAccountID: serviceAccountID, public: &key.PublicKey}
	s.mu.Unlock()
	body, _ := json.MarshalIndent(map[string]string{
		"id":                 keyID,
		"service_account_id": serviceAccountID,
		"created_at":         s.now().UTC().Format(time.RFC3339Nano),
		"key_algorithm":      "RSA_2048",
		"public_key":         string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"private_key": "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <" + keyID + ">\n" +
			string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
	}, "", "   ")
	path = filepath.Join(dir, keyID+".json")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		s.t.Fatalf("lockboxtest: write key file: %v", err)
	}
	return path, keyID
}
