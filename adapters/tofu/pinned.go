package tofu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/hashicorp/go-version"

	"github.com/polar-gosling/polar-gosling/commands/provisioner"
)

// pinnedVersionRe is a registered version usable as a directory name.
var pinnedVersionRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$`)

// executor returns the Executor a plan runs with: the default one, or for
// an egg that pins its OpenTofu the registered build sha256hex of version
// (provisioner.Spec.TofuVersion), materialised once from the blob store as
// an executable file and checked to report that version. Executors of
// pinned builds are kept, one per build. A failure is a *StageError of
// stage init.
func (c *Compute) executor(ctx context.Context, pin, sha256hex string) (*Executor, error) {
	if c.cfg.Executor == nil {
		return nil, &provisioner.StageError{Stage: "init", Message: c.cfg.Missing}
	}
	if sha256hex == "" {
		return c.cfg.Executor, nil
	}
	fail := func(format string, args ...any) error {
		return &provisioner.StageError{Stage: "init", Message: fmt.Sprintf("pinned tofu %s (sha256 %s): ", pin, sha256hex) + fmt.Sprintf(format, args...)}
	}
	if c.cfg.Blobs == nil || c.cfg.ToolsDir == "" {
		return nil, fail("this MotherGoose has no blob store to read registered binaries from")
	}
	if !pinnedVersionRe.MatchString(pin) {
		return nil, fail("the version is not a directory name")
	}
	c.pinMu.Lock()
	defer c.pinMu.Unlock() // one materialisation at a time; the rest wait for it
	if exe := c.pinned[sha256hex]; exe != nil {
		return exe, nil
	}
	path := filepath.Join(c.cfg.ToolsDir, "tofu", pin, sha256hex[:16], "tofu")
	if err := c.materialise(ctx, path, sha256hex); err != nil {
		return nil, fail("%v", err)
	}
	cfg := c.cfg.Executor.cfg
	cfg.Binary, cfg.VersionConstraint = path, ""
	exe, err := New(ctx, cfg)
	if err != nil {
		return nil, fail("%v", err)
	}
	want, err := version.NewVersion(pin)
	if err != nil || !want.Equal(exe.version) {
		return nil, fail("the registered binary reports version %s, not the pinned %s", exe.Version(), pin)
	}
	c.pinned[sha256hex] = exe
	return exe, nil
}

// materialise writes the blob sha256hex to path as an executable (0755),
// unless a file with that SHA-256 is there already. The copy is checked
// against the SHA-256 before it is renamed into place.
func (c *Compute) materialise(ctx context.Context, path, sha256hex string) error {
	if sumOfFile(path) == sha256hex {
		return nil
	}
	src, _, err := c.cfg.Blobs.Open(ctx, sha256hex)
	if err != nil {
		return fmt.Errorf("read the registered binary: %w", err)
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tofu-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha256hex {
		return fmt.Errorf("the stored blob has SHA-256 %s: the blob store is corrupt", got)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// sumOfFile is the hex SHA-256 of the file at path, "" when it cannot be read.
func sumOfFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// executors are the default Executor and every pinned one made so far.
func (c *Compute) executors() []*Executor {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	out := []*Executor{c.cfg.Executor}
	for _, e := range c.pinned {
		out = append(out, e)
	}
	return out
}
