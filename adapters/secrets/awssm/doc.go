// Package awssm is the secret backend of aws-sm://<secret-name>/<json-key>
// URIs: AWS Secrets Manager through aws-sdk-go-v2. The secret name may
// itself contain '/' ("gitlab/gitlab.com/web/runner-token" is the key
// "runner-token" of the secret "gitlab/gitlab.com/web"); the last segment is
// always the key.
//
// Resolve reads the secret's AWSCURRENT version with GetSecretValue; its
// SecretString must be a JSON object (the shape the console's key/value
// editor writes). A string member is returned as it is, a number or boolean
// as its JSON text; an object, array or null member, a SecretString that is
// not a JSON object and a secret stored as SecretBinary are EINVALID (a
// binary secret has no keys to pick from).
//
// Write sets one key: it reads the secret, merges the key into its JSON
// object (other keys kept as they were) and stores the result with
// PutSecretValue, a new AWSCURRENT version; a missing secret is created
// with CreateSecret, described "managed by polar-gosling" and tagged
// managed-by=polar-gosling. Secrets Manager has no conditional put, so two
// writers of different keys of one secret at the same instant can lose
// one update; MotherGoose writes each runner's secret from one place.
//
// # Configuration
//
// Config fields, each with the standard environment variable
// ConfigFromEnv reads for it:
//
//   - Region (AWS_REGION, else AWS_DEFAULT_REGION): the region of a
//     resolution whose scope (ports.SecretScope.Region, the egg's region or
//     zone) is not an AWS region. Without either, a resolution is EINVALID.
//   - BaseEndpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER, else
//     AWS_ENDPOINT_URL): another endpoint than the region's, such as a VPC
//     endpoint or a test fake.
//   - Credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN when the first two are set): static keys; nil uses
//     the SDK's default credential chain (environment, shared config and
//     credentials files with AWS_PROFILE, web identity with
//     AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, the ECS task role, the
//     EC2 instance role), which also reads the other variables the SDK
//     documents (https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html).
//   - Timeout: the bound of every call to the service (default 5 s).
//
// # Errors
//
// Error codes follow the ports.Secrets contract: ResourceNotFoundException
// and a missing key are ENOTFOUND; AccessDeniedException,
// UnrecognizedClientException, InvalidSignatureException, DecryptionFailure
// (KMS refuses the key) and an ExpiredTokenException that survives one
// refresh of the credentials are EUNAUTHORIZED; throttling, quota limits,
// 5xx, InternalServiceError, timeouts and transport errors are EUNAVAILABLE;
// InvalidParameterException and InvalidRequestException (for example a
// secret scheduled for deletion) are EINVALID; credentials the default
// chain cannot find are EUNAUTHORIZED (EUNAVAILABLE when their source, such
// as the instance metadata service, does not answer); any other error type
// is EINTERNAL. Calls make at most two
// attempts with at most 250 ms between them, so a backend that is down fails
// within the timeout instead of after the SDK's longer default retries.
// Messages name the URI, never the value. The backend caches clients (one
// per region) and credentials, never values: the caching router in front
// of it does that.
package awssm
