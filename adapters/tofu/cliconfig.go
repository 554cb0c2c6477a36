package tofu

import (
	"net/url"
	"os"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// CLIConfig is the OpenTofu CLI configuration written for every workspace and
// passed as TF_CLI_CONFIG_FILE, so that provider installation is the
// operator's choice: a shared plugin cache, and for air-gapped sites a
// filesystem or network mirror instead of the registry.
type CLIConfig struct {
	PluginCacheDir   string // shared provider cache; "" for none
	FilesystemMirror string // directory laid out as `tofu providers mirror` writes it
	NetworkMirror    string // https URL of a provider network mirror
	// Direct keeps direct registry installation as a fallback for providers
	// the mirrors lack. Without a mirror installation is always direct.
	Direct bool
}

// render writes the CLI config file content.
func (c CLIConfig) render() []byte {
	f := hclwrite.NewEmptyFile()
	b := f.Body()
	if c.PluginCacheDir != "" {
		b.SetAttributeValue("plugin_cache_dir", cty.StringVal(c.PluginCacheDir))
		// The lock file is per workspace; allow the cache to satisfy it.
		b.SetAttributeValue("plugin_cache_may_break_dependency_lock_file", cty.True)
	}
	if c.FilesystemMirror != "" || c.NetworkMirror != "" {
		pi := b.AppendNewBlock("provider_installation", nil).Body()
		if c.FilesystemMirror != "" {
			pi.AppendNewBlock("filesystem_mirror", nil).Body().
				SetAttributeValue("path", cty.StringVal(c.FilesystemMirror))
		}
		if c.NetworkMirror != "" {
			pi.AppendNewBlock("network_mirror", nil).Body().
				SetAttributeValue("url", cty.StringVal(c.NetworkMirror))
		}
		if c.Direct {
			pi.AppendNewBlock("direct", nil)
		}
	}
	return hclwrite.Format(f.Bytes())
}

// check refuses a config OpenTofu would warn about (its warnings go to
// stdout and would spoil -json output): it creates the plugin cache and
// requires the filesystem mirror to exist and the network mirror to be https.
func (c CLIConfig) check() error {
	if c.PluginCacheDir != "" {
		if err := os.MkdirAll(c.PluginCacheDir, 0o750); err != nil {
			return errs.Wrap(errs.EINVALID, err, "tofu: plugin cache dir %s", c.PluginCacheDir)
		}
	}
	if c.FilesystemMirror != "" {
		if fi, err := os.Stat(c.FilesystemMirror); err != nil || !fi.IsDir() {
			return errs.Errorf(errs.EINVALID, "tofu: filesystem mirror %s is not a directory", c.FilesystemMirror)
		}
	}
	if c.NetworkMirror != "" {
		if u, err := url.Parse(c.NetworkMirror); err != nil || u.Scheme != "https" || u.Host == "" {
			return errs.Errorf(errs.EINVALID, "tofu: network mirror %q must be an https URL", c.NetworkMirror)
		}
	}
	return nil
}
