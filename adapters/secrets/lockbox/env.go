package lockbox

// The environment variables ConfigFromEnv reads.
const (
	EnvServiceAccountKeyFile = "YC_SERVICE_ACCOUNT_KEY_FILE"
	EnvIAMToken              = "YC_IAM_TOKEN"
	EnvMetadataURL           = "YC_METADATA_URL"
	EnvPayloadEndpoint       = "YC_LOCKBOX_PAYLOAD_ENDPOINT"
	EnvEndpoint              = "YC_LOCKBOX_ENDPOINT"
	EnvIAMEndpoint           = "YC_IAM_ENDPOINT"
	// EnvFolderID is the folder the yc CLI and the Terraform provider read
	// from the same variable.
	EnvFolderID = "YC_FOLDER_ID"
)

// ConfigFromEnv reads the Config of the package documentation from the
// environment (getenv is os.Getenv in the binaries). set reports whether
// any of the variables is set; without any, the Config is the defaults,
// which authenticate through the metadata service of a Yandex Cloud VM.
func ConfigFromEnv(getenv func(string) string) (cfg Config, set bool) {
	read := func(name string) string {
		v := getenv(name)
		if v != "" {
			set = true
		}
		return v
	}
	cfg = Config{
		ServiceAccountKeyFile: read(EnvServiceAccountKeyFile),
		IAMToken:              read(EnvIAMToken),
		MetadataURL:           read(EnvMetadataURL),
		PayloadEndpoint:       read(EnvPayloadEndpoint),
		Endpoint:              read(EnvEndpoint),
		IAMEndpoint:           read(EnvIAMEndpoint),
		FolderID:              read(EnvFolderID),
	}
	return cfg, set
}
