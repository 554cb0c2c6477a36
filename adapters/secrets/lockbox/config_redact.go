package lockbox

import (
	"fmt"
	"log/slog"
)

// String shows cfg without the IAM token, so that printing or logging a
// Config cannot leak it.
func (c Config) String() string {
	return fmt.Sprintf("lockbox.Config{ServiceAccountKeyFile:%q IAMToken:%s MetadataURL:%q FolderID:%q PayloadEndpoint:%q Endpoint:%q IAMEndpoint:%q Timeout:%v}",
		c.ServiceAccountKeyFile, redacted(c.IAMToken), c.MetadataURL, c.FolderID, c.PayloadEndpoint, c.Endpoint, c.IAMEndpoint, c.Timeout)
}

// LogValue is String for log/slog.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("service_account_key_file", c.ServiceAccountKeyFile),
		slog.String("iam_token", redacted(c.IAMToken)),
		slog.String("metadata_url", c.MetadataURL),
		slog.String("folder_id", c.FolderID),
		slog.String("payload_endpoint", c.PayloadEndpoint),
		slog.String("endpoint", c.Endpoint),
		slog.String("iam_endpoint", c.IAMEndpoint),
		slog.Duration("timeout", c.Timeout),
	)
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// GoString is String for %#v.
func (c Config) GoString() string { return c.String() }
