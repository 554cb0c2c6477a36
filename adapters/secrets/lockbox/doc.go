// Package lockbox resolves and writes yc-lockbox://<secret>/<key> secret
// URIs in Yandex Cloud Lockbox over its gRPC API, with the types of
// github.com/yandex-cloud/go-genproto and plain grpc-go.
//
// The last segment of the URI is the key (an entry of the secret's current
// version). The secret part, all before the last '/', is either
//
//   - a Lockbox secret ID: one segment of exactly 20 lower-case letters
//     and digits, e.g. yc-lockbox://e6q8abcdefghij012345/password. Yandex
//     Cloud documents IDs only as Latin letters and digits
//     (https://yandex.cloud/en/docs/api-design-guide/concepts/resources-identification);
//     the IDs it issues have 20 (a service prefix, e6q for Lockbox, and 17
//     more), and that length is what tells an ID from a name here; or
//   - a secret NAME in the folder Config.FolderID (YC_FOLDER_ID): the secret
//     part with every '/' and '.' replaced by '-', lower-cased (SecretName).
//     The Nest's conventional URI of an egg's GitLab secrets,
//     yc-lockbox://gitlab/<server>/<egg>/<key> (domain.DefaultSecretURI),
//     so names the secret "gitlab-<server with '-' for '.'>-<egg>": for
//     yc-lockbox://gitlab/gitlab.com/payments-api/webhook-secret, the key
//     webhook-secret of the secret gitlab-gitlab-com-payments-api. The name
//     must be a valid Lockbox name
//     (https://yandex.cloud/en/docs/lockbox/concepts/secret): lower-case
//     letters, digits and '-', starting with a letter, at most 63
//     characters; otherwise the URI is EINVALID, and the message says which
//     name it stands for and why that name is not valid (a long server and
//     egg name can pass 63: give that egg an explicit URI). A name of exactly
//     20 letters and digits reads as an ID: such a secret is reached by
//     its ID. A named secret without a folder configured is EINVALID ("the
//     secret is named, not an ID: set YC_FOLDER_ID"), before any call.
//
// The calls:
//
//   - Resolve by ID calls yandex.cloud.lockbox.v1.PayloadService/Get
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Payload/get) on the
//     payload endpoint and returns the entry whose key is the URI's last
//     segment (its text or binary value).
//   - Resolve by name calls PayloadService/GetEx
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Payload/getEx) with
//     folder_and_name {folder_id, secret_name}: one call, whose entries are
//     a map of key to the value's bytes.
//   - Write calls yandex.cloud.lockbox.v1.SecretService/AddVersion
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/addVersion)
//     on the Lockbox endpoint with the one entry to change: Lockbox builds
//     the new version from the current one, so the secret's other keys stay.
//     The returned operation counts as accepted whether or not it is done;
//     an operation that carries an error is mapped by its code.
//   - Write by name first finds the secret's ID with SecretService/List
//     (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/list) of the
//     folder, 1000 secrets a page, matching the name (not GetEx: it would
//     need the right to read the payload and fetch every value to write
//     one). The ID is cached by the Backend (IDs never change); when
//     AddVersion answers NOT_FOUND for a cached ID (the secret was deleted,
//     maybe re-created under the name) it is looked up once more. A name
//     with no secret is ENOTFOUND: secrets are never created here, because
//     creating one means choosing its KMS key and access bindings, which is
//     the operator's decision.
//
// Roles (https://yandex.cloud/en/docs/lockbox/security): reading by ID or
// name needs lockbox.payloadViewer on the secret; writing needs
// lockbox.editor on it, and writing by name also lockbox.auditor (or
// viewer, or editor) on the folder, to list it.
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
//	FolderID               YC_FOLDER_ID                 the folder of named secrets (none: IDs only)
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
// URI that is not yc-lockbox://<secret>/<key>, a secret part that is neither
// an ID nor a valid name, or a name without a folder; ENOTFOUND for a
// missing secret (by ID, or no secret of that name in the folder) or key; EUNAUTHORIZED for PERMISSION_DENIED or a token that stays
// refused after one renewal, EUNAVAILABLE for UNAVAILABLE, DEADLINE_EXCEEDED,
// INTERNAL, a refused connection or throttling (RESOURCE_EXHAUSTED, with
// "throttled" in the message). Messages name the URI, never the value.
package lockbox
