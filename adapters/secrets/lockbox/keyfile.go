package lockbox

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
	"time"

	iampb "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// IAMTokenAudience is the audience of the JWT exchanged for an IAM token
// (https://yandex.cloud/en/docs/iam/operations/iam-token/create-for-sa#jwt-create).
const IAMTokenAudience = "https://iam.api.cloud.yandex.net/iam/v1/tokens"

// jwtLifetime is how long the signed JWT may be exchanged; the IAM service
// accepts at most one hour.
const jwtLifetime = time.Hour

// ServiceAccountKey is the part of an authorized key file (as `yc iam key
// create --output key.json` writes it) needed to sign a JWT.
type ServiceAccountKey struct {
	ID               string `json:"id"`
	ServiceAccountID string `json:"service_account_id"`
	PrivateKey       string `json:"private_key"` // PEM, PKCS#8 (or PKCS#1)
}

// maxKeyFileSize bounds what is read from the key file (a real one is ~3 KiB).
const maxKeyFileSize = 64 << 10

// readServiceAccountKey reads and checks the key file at path. Errors name
// the path and what is wrong, never the file's content.
func readServiceAccountKey(path string) (ServiceAccountKey, *rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ServiceAccountKey{}, nil, errs.Wrap(errs.EINVALID, err, "service account key file")
	}
	if len(b) > maxKeyFileSize {
		return ServiceAccountKey{}, nil, errs.Errorf(errs.EINVALID, "service account key file %s is larger than %d bytes", path, maxKeyFileSize)
	}
	var k ServiceAccountKey
	if json.Unmarshal(b, &k) != nil {
		return ServiceAccountKey{}, nil, errs.Errorf(errs.EINVALID, "service account key file %s is not the JSON of an authorized key", path)
	}
	if k.ID == "" || k.ServiceAccountID == "" || k.PrivateKey == "" {
		return ServiceAccountKey{}, nil, errs.Errorf(errs.EINVALID, "service account key file %s lacks id, service_account_id or private_key", path)
	}
	key, err := parsePrivateKey(k.PrivateKey)
	if err != nil {
		return ServiceAccountKey{}, nil, errs.Errorf(errs.EINVALID, "service account key file %s: the private_key is not an RSA private key in PEM", path)
	}
	return k, key, nil
}

// parsePrivateKey reads the PEM block of s; text before it (newer yc
// versions put a "PLEASE DO NOT REMOVE THIS LINE!" line there) is skipped.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errs.Errorf(errs.EINVALID, "no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errs.Errorf(errs.EINVALID, "not an RSA key")
	}
	return rk, nil
}

// SignJWT returns the PS256 JWT the IAM service exchanges for an IAM token
// of the service account: header {"alg":"PS256","typ":"JWT","kid":keyID},
// claims iss (the service account), aud (IAMTokenAudience), iat and exp
// (iat plus one hour).
func SignJWT(keyID, serviceAccountID string, key *rsa.PrivateKey, now time.Time) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "PS256", "typ": "JWT", "kid": keyID})
	claims, _ := json.Marshal(map[string]any{
		"iss": serviceAccountID,
		"aud": IAMTokenAudience,
		"iat": now.Unix(),
		"exp": now.Add(jwtLifetime).Unix(),
	})
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signed))
	// RFC 7518 section 3.5: PS256 uses a salt as long as the hash.
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		return "", errs.Wrap(errs.EINTERNAL, err, "signing the service account JWT")
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// keyFileSource exchanges JWTs signed with a service account's authorized
// key for IAM tokens at IamTokenService/Create.
type keyFileSource struct {
	key     ServiceAccountKey
	rsaKey  *rsa.PrivateKey
	iam     iampb.IamTokenServiceClient
	now     func() time.Time
	timeout time.Duration
}

// Token signs a new JWT and exchanges it.
func (s *keyFileSource) Token(ctx context.Context) (Token, error) {
	now := s.now()
	jwt, err := SignJWT(s.key.ID, s.key.ServiceAccountID, s.rsaKey, now)
	if err != nil {
		return Token{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.iam.Create(ctx, &iampb.CreateIamTokenRequest{Identity: &iampb.CreateIamTokenRequest_Jwt{Jwt: jwt}})
	if err != nil {
		return Token{}, iamError(status.Code(err), s.key.ServiceAccountID, err)
	}
	t := Token{Value: resp.GetIamToken()}
	if ts := resp.GetExpiresAt(); ts != nil {
		t.ExpiresAt = ts.AsTime()
	} else {
		t.ExpiresAt = now.Add(jwtLifetime) // the IAM service documents 12 h; assume less
	}
	return t, nil
}

// iamError classifies a refused token exchange: a key the IAM service does
// not accept is EUNAUTHORIZED (it cannot be renewed), a service that is
// down or throttling is EUNAVAILABLE.
func iamError(c codes.Code, serviceAccountID string, cause error) error {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Aborted, codes.Unknown, codes.Canceled:
		return errs.Wrap(errs.EUNAVAILABLE, cause, "the IAM service is unavailable to issue a token for service account %s", serviceAccountID)
	case codes.ResourceExhausted:
		return errs.Wrap(errs.EUNAVAILABLE, cause, "the IAM service throttled the token request of service account %s", serviceAccountID)
	default:
		return errs.Wrap(errs.EUNAUTHORIZED, cause, "the IAM service refused the key of service account %s (%s)", serviceAccountID, c)
	}
}
