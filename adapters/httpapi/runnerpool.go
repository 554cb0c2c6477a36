package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/polar-gosling/polar-gosling/commands"
	"github.com/polar-gosling/polar-gosling/domain/errs"
)

// maxPoolBody bounds POST /runners/{id}/pool's body ({"pool": "nadir"}).
const maxPoolBody = 1024

// changeRunnerPool moves a VM runner between the Apex and Nadir pools, as
// UglyFox's demote_to_nadir/promote_to_apex do: body {"pool": "nadir" |
// "apex", "reason": "..."} (reason optional). 202: runner.pool_changed is
// recorded; the provisioner stops a Nadir runner once it holds no job and
// starts a promoted stopped one. A BUSY runner is refused (409): it is not
// moved under its job.
func (s *server) changeRunnerPool(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Pool   string `json:"pool"`
		Reason string `json:"reason"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxPoolBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty body")
		}
		s.writeError(w, r, errs.Errorf(errs.EINVALID, "the body must be {\"pool\": \"apex\" or \"nadir\", \"reason\": \"...\"} (at most %d bytes): %v", maxPoolBody, err))
		return
	}
	drain(r.Body)
	id := mux.Vars(r)["id"]
	reason := body.Reason
	if reason == "" {
		reason = "moved to the " + body.Pool + " pool through the API"
	}
	res, err := s.cfg.Handlers.ChangeRunnerPool(r.Context(), commands.ChangeRunnerPool{
		Meta: commands.Meta{Actor: "api"}, RunnerID: id, To: body.Pool, Reason: reason,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"runner_id": id, "pool": body.Pool, "version": res.LastVersion})
}
