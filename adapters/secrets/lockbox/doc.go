// Package lockbox resolves and writes yc-lockbox://<secret-id>/<key> secret
// URIs in Yandex Cloud Lockbox over its gRPC API, with the types of
// github.com/yandex-cloud/go-genproto and plain grpc-go:
//
//   - Resolve calls yandex.cloud.lockbox.v1.PayloadService/Get
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Payload/get) on the
//     payload endpoint and returns the entry whose key is the URI's last
//     segment (its text or binary value). The secret part of the URI (all
//     before the last '/') is the Lockbox secret ID.
//   - Write calls yandex.cloud.lockbox.v1.SecretService/AddVersion
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/addVersion)
//     on the Lockbox endpoint with the one entry to change: Lockbox builds
//     the new version from the current one, so the secret's other keys stay.
//     The returned operation counts as accepted whether or not it is done;
//     an operation that carries an error is mapped by its code.
//
// Every call carries an IAM token in the "authorization: Bearer <token>"
// metadata (https://yandex.cloud/en/docs/iam/concepts/authorization/iam-token).
// The token comes from, in this order of precedence:
//
//  1. a service-account authorized key file (the JSON `yc iam key create`
//     writes): a PS256 JWT signed with its private key is exchanged at
//     yandex.cloud.iam.v1.IamTokenService/Create
//     (https://yandex.cloud/en/docs/iam/operations/iam-token/create-for-sa);
//  2. a static IAM token (development; it is never renewed);
//  3. otherwise the metadata service of the VM or container
//     (https://yandex.cloud/en/docs/compute/operations/vm-connect/auth-inside-vm):
//     GET {metadata}/computeMetadata/v1/instance/service-accounts/default/token
//     with "Metadata-Flavor: Google".
//
// The token is cached and renewed before it expires (when less than a tenth
// of its life or five minutes, whichever is smaller, remains), one renewal at
// a time. A call answered UNAUTHENTICATED drops the token, renews it once and
// is retried once. Values are never cached here: the caching router of
// adapters/secrets sits in front of this backend.
//
// Configuration (Config field, environment variable read by ConfigFromEnv):
//
//	ServiceAccountKeyFile  YC_SERVICE_ACCOUNT_KEY_FILE  path of the authorized key JSON
//	IAMToken               YC_IAM_TOKEN                 a static IAM token
//	MetadataURL            YC_METADATA_URL              default http://169.254.169.254
//	PayloadEndpoint        YC_LOCKBOX_PAYLOAD_ENDPOINT  default payload.lockbox.api.cloud.yandex.net:443
//	Endpoint               YC_LOCKBOX_ENDPOINT          default lockbox.api.cloud.yandex.net:443
//	IAMEndpoint            YC_IAM_ENDPOINT              default iam.api.cloud.yandex.net:443
//	Timeout                (none)                       per call, default 5s
//
// Endpoints are host:port. They are reached over TLS with the system's root
// certificates, except when the host is a loopback address (127.0.0.1, ::1,
// localhost): then the connection is plaintext. That exception exists for
// the fake in lockboxtest and for local tunnels; a remote host is never
// spoken to in plaintext.
//
// Errors carry domain/errs codes the cache in front acts on: EINVALID for a
// URI that is not yc-lockbox://<secret-id>/<key>, ENOTFOUND for a missing
// secret or key, EUNAUTHORIZED for PERMISSION_DENIED or a token that stays
// refused after one renewal, EUNAVAILABLE for UNAVAILABLE, DEADLINE_EXCEEDED,
// INTERNAL, a refused connection or throttling (RESOURCE_EXHAUSTED, with
// "throttled" in the message). Messages name the URI, never the value.
package lockbox
