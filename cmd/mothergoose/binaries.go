package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polar-gosling/polar-gosling/adapters/blobs"
	"github.com/polar-gosling/polar-gosling/adapters/blobs/s3blobs"
	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain"
	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/events"
	"github.com/polar-gosling/polar-gosling/ports"
	"github.com/polar-gosling/polar-gosling/projections"
)

// The binaries MotherGoose keeps: the OpenTofu the provisioner runs for
// an egg that pins it, and the gosling agent cloud runners download.
var binaryKinds = []string{"gosling", "tofu"}

// Bounds of `binaries add`.
const (
	maxBinarySize   = 512 << 20 // bytes
	downloadTimeout = 10 * time.Minute
)

var (
	binaryVersionRe  = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$`)
	binaryPlatformRe = regexp.MustCompile(`^[a-z0-9]{1,16}/[a-z0-9_]{1,16}$`)
)

// binaryRef checks kind, version and platform as they appear in URLs
// (/v1/binaries/KIND/VERSION/OS-ARCH) and file names: a closed set of
// kinds, versions without slashes, "latest" reserved.
func binaryRef(kind, version, platform string) error {
	var problems []string
	if !slices.Contains(binaryKinds, kind) {
		problems = append(problems, fmt.Sprintf("--kind %q: want gosling or tofu", kind))
	}
	if !binaryVersionRe.MatchString(version) || version == "latest" {
		problems = append(problems, fmt.Sprintf("--version %q: want a version such as 1.9.0 (letters, digits, . + _ -; not latest)", version))
	}
	if platform != "" && !binaryPlatformRe.MatchString(platform) {
		problems = append(problems, fmt.Sprintf("--platform %q: want os/arch such as linux/amd64", platform))
	}
	if len(problems) > 0 {
		return errs.Errorf(errs.EINVALID, "%s", strings.Join(problems, "; "))
	}
	return nil
}

// defaultActor is $USER@hostname, else "operator".
func defaultActor() string {
	user := os.Getenv("USER")
	host, _ := os.Hostname()
	switch {
	case user != "" && host != "":
		return user + "@" + host
	case user != "":
		return user
	}
	return "operator"
}

// blobDir is where the embedded default keeps the binaries: <data-dir>/blobs.
func (c Config) blobDir() string { return filepath.Join(c.DataDir, "blobs") }

// openBlobs opens the blob store --blob-store names: the data directory's
// by default, else the S3 bucket (Validate has checked the URL).
func (c Config) openBlobs(ctx context.Context) (ports.Blobs, error) {
	if c.BlobStore == "" {
		return blobs.NewDir(c.blobDir())
	}
	return s3blobs.Open(ctx, c.BlobStore, "")
}

func binariesCommand(cfg *Config) *cobra.Command {
	c := &cobra.Command{
		Use:   "binaries",
		Short: "register, activate and list the tofu and gosling binaries (served at /v1/binaries/KIND/VERSION/OS-ARCH)",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(binariesAddCommand(cfg), binariesActivateCommand(cfg), binariesListCommand(cfg))
	return c
}

// binaryOpts are the flags of binaries add and activate.
type binaryOpts struct {
	kind, version, platform string
	file, url, sha256       string
	reason, actor           string
	activate                bool
}

func binariesAddCommand(cfg *Config) *cobra.Command {
	var o binaryOpts
	c := &cobra.Command{
		Use:   "add",
		Short: "store a binary (--file or --url) after checking its SHA-256 and record binary.version_registered",
		Long: "add reads --file or downloads --url (http or https, at most 512 MiB, 10 minutes), computes its SHA-256 while storing it " +
			"in the blob store (<data-dir>/blobs, or the S3 bucket of --blob-store) and compares it with --sha256: a mismatch is refused (exit 2) and stores nothing, " +
			"neither the file nor an event (a bucket receives the bytes only once they are checked). " +
			"With --activate the version also becomes the active one of its kind.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			st, err := openStorage(cmd.Context(), cfg.StoreURL(), true, cfg.logger())
			if err != nil {
				return err
			}
			defer closeReporting(st, &err)
			b, err := cfg.openBlobs(cmd.Context())
			if err != nil {
				return err
			}
			return addBinary(cmd.Context(), st.Events, b, o, cmd.OutOrStdout())
		},
	}
	f := c.Flags()
	f.StringVar(&o.kind, "kind", "", "gosling or tofu (required)")
	f.StringVar(&o.version, "version", "", "the version, such as 1.9.0 (required)")
	f.StringVar(&o.platform, "platform", "linux/amd64", "os/arch of the build")
	f.StringVar(&o.file, "file", "", "the binary to store (or --url)")
	f.StringVar(&o.url, "url", "", "an http(s) URL to download the binary from (or --file)")
	f.StringVar(&o.sha256, "sha256", "", "the binary's SHA-256, 64 hex digits (required)")
	f.StringVar(&o.reason, "reason", "", "why, recorded in the event")
	f.StringVar(&o.actor, "actor", defaultActor(), "who, recorded in the event")
	f.BoolVar(&o.activate, "activate", false, "also make it the active version of its kind")
	return c
}

func binariesActivateCommand(cfg *Config) *cobra.Command {
	var o binaryOpts
	c := &cobra.Command{
		Use:   "activate",
		Short: "make a registered version the active one of its kind (what /v1/binaries/KIND/latest/... serves) and record binary.version_activated",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if err := binaryRef(o.kind, o.version, ""); err != nil {
				return err
			}
			st, err := openStorage(cmd.Context(), cfg.StoreURL(), true, cfg.logger())
			if err != nil {
				return err
			}
			defer closeReporting(st, &err)
			h, err := binaryHandlers(st.Events)
			if err != nil {
				return err
			}
			res, err := h.ActivateBinaryVersion(cmd.Context(), commands.ActivateBinaryVersion{Meta: commands.Meta{Actor: "operator:" + o.actor},
				Binary: o.kind, Version: o.version, Actor: o.actor, Reason: o.reason})
			if err != nil {
				return err
			}
			if len(res.EventIDs) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s is already the active version\n", o.kind, o.version)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s activated\n", o.kind, o.version)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.kind, "kind", "", "gosling or tofu (required)")
	f.StringVar(&o.version, "version", "", "a registered version (required)")
	f.StringVar(&o.reason, "reason", "", "why, recorded in the event")
	f.StringVar(&o.actor, "actor", defaultActor(), "who, recorded in the event")
	return c
}

func binariesListCommand(cfg *Config) *cobra.Command {
	var kind, format string
	c := &cobra.Command{
		Use:   "list",
		Short: "list the registered binaries, read from the event log (the binary_versions view's rows)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			kinds := binaryKinds
			if kind != "" {
				if !slices.Contains(binaryKinds, kind) {
					return errs.Errorf(errs.EINVALID, "--kind %q: want gosling or tofu", kind)
				}
				kinds = []string{kind}
			}
			if format != "table" && format != "json" {
				return errs.Errorf(errs.EINVALID, "--format %q: want table or json", format)
			}
			st, err := openStorage(cmd.Context(), cfg.StoreURL(), false, cfg.logger())
			if err != nil {
				return err
			}
			defer closeReporting(st, &err)
			var rows []ports.BinaryVersionRow
			for _, k := range kinds {
				got, err := loadBinaryRows(cmd.Context(), st.Events, k)
				if err != nil {
					return err
				}
				rows = append(rows, got...)
			}
			return printBinaryRows(cmd.OutOrStdout(), rows, format)
		},
	}
	c.Flags().StringVar(&kind, "kind", "", "only gosling or tofu")
	c.Flags().StringVar(&format, "format", "table", "table or json")
	return c
}

func binaryHandlers(store ports.EventStore) (*commands.Handlers, error) {
	return commands.NewHandlers(store, events.NewCodec(events.NewRegistry()), time.Now, newID)
}

// loadBinaryRows folds kind's stream as the binary_versions view does.
func loadBinaryRows(ctx context.Context, store ports.EventStore, kind string) ([]ports.BinaryVersionRow, error) {
	recs, err := store.Load(ctx, domain.BinaryStream(kind), 0)
	if err != nil {
		return nil, err
	}
	history, err := events.NewCodec(events.NewRegistry()).DecodeAll(recs)
	if err != nil {
		return nil, err
	}
	return projections.FoldBinaryVersions(history), nil
}

func printBinaryRows(w io.Writer, rows []ports.BinaryVersionRow, format string) error {
	if format == "json" {
		if rows == nil {
			rows = []ports.BinaryVersionRow{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tVERSION\tPLATFORM\tACTIVE\tSIZE\tSHA256\tREGISTERED\tACTOR\tREASON")
	for _, r := range rows {
		active := ""
		if r.Active {
			active = "active"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Kind, r.BinaryVersion, r.Platform, active, r.Size, r.SHA256,
			r.RegisteredAt.Format(time.RFC3339), r.Actor, r.Reason)
	}
	return tw.Flush()
}

// addBinary stores o's binary and records it. The bytes are checked while
// they are stored (blobs refuse a mismatch and keep nothing); the event is
// appended only after, so a refused binary leaves no trace at all.
func addBinary(ctx context.Context, store ports.EventStore, b ports.Blobs, o binaryOpts, out io.Writer) error {
	if err := binaryRef(o.kind, o.version, o.platform); err != nil {
		return err
	}
	sum := strings.ToLower(strings.TrimSpace(o.sha256))
	if err := blobs.CheckSHA256(sum); err != nil {
		return errs.Errorf(errs.EINVALID, "--sha256: %s", errs.Message(err))
	}
	if (o.file == "") == (o.url == "") {
		return errs.Errorf(errs.EINVALID, "give exactly one of --file and --url")
	}
	rows, err := loadBinaryRows(ctx, store, o.kind)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.BinaryVersion == o.version && r.Platform == o.platform {
			return errs.Errorf(errs.ECONFLICT, "%s %s for %s is already registered (sha256 %s)", o.kind, o.version, o.platform, r.SHA256)
		}
	}
	body, source, err := openBinarySource(ctx, o)
	if err != nil {
		return err
	}
	size, err := b.Put(ctx, sum, body, maxBinarySize)
	_ = body.Close()
	if err != nil {
		return fmt.Errorf("%s %s from %s: %w", o.kind, o.version, source, err)
	}
	h, err := binaryHandlers(store)
	if err != nil {
		return err
	}
	meta := commands.Meta{Actor: "operator:" + o.actor}
	if _, err := h.RegisterBinaryVersion(ctx, commands.RegisterBinaryVersion{Meta: meta, Build: events.BinaryVersionRegistered{
		Binary: o.kind, Version: o.version, Platform: o.platform, SHA256: sum, Source: source, Size: size, Actor: o.actor, Reason: o.reason,
	}}); err != nil {
		return err
	}
	fmt.Fprintf(out, "registered %s %s for %s: %d bytes, sha256 %s\n", o.kind, o.version, o.platform, size, sum)
	if !o.activate {
		return nil
	}
	if _, err := h.ActivateBinaryVersion(ctx, commands.ActivateBinaryVersion{Meta: meta, Binary: o.kind, Version: o.version, Actor: o.actor, Reason: o.reason}); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s activated\n", o.kind, o.version)
	return nil
}

// openBinarySource opens --file or starts the download of --url, and
// names it for the event's source (a URL without its credentials or query).
func openBinarySource(ctx context.Context, o binaryOpts) (io.ReadCloser, string, error) {
	if o.file != "" {
		f, err := os.Open(o.file)
		if err != nil {
			return nil, "", errs.Wrap(errs.EINVALID, err, "--file")
		}
		abs, err := filepath.Abs(o.file)
		if err != nil {
			abs = o.file
		}
		return f, "file://" + abs, nil
	}
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", errs.Errorf(errs.EINVALID, "--url %q: want an http:// or https:// URL", o.url)
	}
	shown := *u
	shown.User, shown.RawQuery, shown.Fragment = nil, "", ""
	dctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	req, err := http.NewRequestWithContext(dctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, "", errs.Wrap(errs.EINVALID, err, "--url")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, "", errs.Wrap(errs.EUNAVAILABLE, err, "download %s", shown.String())
	}
	if resp.StatusCode != http.StatusOK {
		_ = resp.Body.Close()
		cancel()
		return nil, "", errs.Errorf(errs.EUNAVAILABLE, "download %s: %s", shown.String(), resp.Status)
	}
	if resp.ContentLength > maxBinarySize {
		_ = resp.Body.Close()
		cancel()
		return nil, "", errs.Errorf(errs.EINVALID, "download %s: %d bytes, more than the %d a binary may have", shown.String(), resp.ContentLength, maxBinarySize)
	}
	return cancelOnClose{resp.Body, cancel}, shown.String(), nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }
