package httpapi

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/polar-gosling/polar-gosling/domain/errs"
	"github.com/polar-gosling/polar-gosling/ports"
)

// binaryWriteTimeout replaces the server's write timeout for one binary
// download: a runner on a slow link takes longer than an API answer.
const binaryWriteTimeout = 30 * time.Minute

// binaryKinds are the binaries /v1/binaries serves.
var binaryKinds = map[string]bool{"gosling": true, "tofu": true}

// downloadBinary serves GET /v1/binaries/{kind}/{version}/{os-arch}: the
// registered build's bytes from the blob store, without authentication
// (cloud-init fetches it with plain curl; binaries are no secret). version
// latest is the kind's active version. http.ServeContent answers Range and
// If-None-Match (against the ETag, the SHA-256) and HEAD.
func (s *server) downloadBinary(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Blobs == nil {
		s.writeError(w, r, errs.Errorf(errs.EUNAVAILABLE, "this MotherGoose has no blob store: binaries are not served"))
		return
	}
	v := mux.Vars(r)
	row, err := s.findBinary(r, v["kind"], v["version"], v["platform"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, info, err := s.cfg.Blobs.Open(r.Context(), row.SHA256)
	if err != nil {
		if errs.Code(err) == errs.ENOTFOUND {
			// Registered but not in this store (another data dir): say so.
			err = errs.Errorf(errs.ENOTFOUND, "%s %s for %s is registered but its blob %s is not in this MotherGoose's blob store", row.Kind, row.BinaryVersion, row.Platform, row.SHA256)
		}
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	raw, _ := hex.DecodeString(row.SHA256)
	h := w.Header()
	h.Set("ETag", `"`+row.SHA256+`"`)
	h.Set("X-Checksum-Sha256", row.SHA256)
	h.Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(raw))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", "attachment; filename="+row.Kind)
	h.Set("X-Binary-Version", row.BinaryVersion)
	if v["version"] == "latest" {
		h.Set("Cache-Control", "no-cache") // activation changes it: revalidate (ETag)
	} else {
		h.Set("Cache-Control", "public, max-age=31536000, immutable") // a registered build never changes
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(binaryWriteTimeout))
	http.ServeContent(w, r, "", info.ModTime, f)
}

// findBinary returns the binary_versions row of kind's version (latest:
// the active one) for the os-arch platform ("linux-amd64").
func (s *server) findBinary(r *http.Request, kind, version, osArch string) (ports.BinaryVersionRow, error) {
	goos, arch, ok := strings.Cut(osArch, "-")
	if !binaryKinds[kind] || !ok || goos == "" || arch == "" {
		return ports.BinaryVersionRow{}, errs.Errorf(errs.ENOTFOUND, "no binary %s %s for %s: want /v1/binaries/gosling|tofu/VERSION|latest/OS-ARCH such as linux-amd64", kind, version, osArch)
	}
	platform := goos + "/" + arch
	t := ports.BinaryVersions.In(s.cfg.Views.Read())
	if version != "latest" {
		row, found, err := t.Get(r.Context(), ports.BinaryVersionKey(kind, version, platform))
		if err != nil {
			return row, err
		}
		if !found {
			return row, errs.Errorf(errs.ENOTFOUND, "%s %s is not registered for %s", kind, version, platform)
		}
		return row, nil
	}
	rows, err := t.List(r.Context(), ports.Query{Eq: map[string]any{"kind": kind}})
	if err != nil {
		return ports.BinaryVersionRow{}, err
	}
	for _, row := range rows {
		if row.Active && row.Platform == platform {
			return row, nil
		}
	}
	return ports.BinaryVersionRow{}, errs.Errorf(errs.ENOTFOUND, "no active %s version is registered for %s (mothergoose binaries activate)", kind, platform)
}

// listBinaries is GET /binaries: the binary_versions view (kind=, active=).
func (s *server) listBinaries(w http.ResponseWriter, r *http.Request) {
	listPage(s, w, r, "binaries", "binaries", ports.BinaryVersions.In(s.cfg.Views.Read()), ports.Query{Eq: eq(r, map[string]string{"kind": "kind"})})
}
