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

// maxRollbackBody bounds a rollback's body ({"to_plan_id": "..."}).
const maxRollbackBody = 4 << 10

// deployer is the configured EggDeployer, or an EUNAVAILABLE error.
func (s *server) deployer() (commands.EggDeployer, error) {
	if s.cfg.Deployer == nil {
		return nil, errs.Errorf(errs.EUNAVAILABLE, "no provisioner runs in this process: deploy, rollback and plan are answered by mothergoose serve")
	}
	return s.cfg.Deployer, nil
}

// eggPlan answers what a deploy of the egg would change; nothing is recorded.
func (s *server) eggPlan(w http.ResponseWriter, r *http.Request) {
	d, err := s.deployer()
	if err == nil {
		var plan commands.DeployPlan
		if plan, err = d.Plan(r.Context(), mux.Vars(r)["name"]); err == nil {
			writeJSON(w, http.StatusOK, plan)
			return
		}
	}
	s.writeError(w, r, err)
}

// deployEgg records a deploy of the egg to the Nest's configuration (202).
func (s *server) deployEgg(w http.ResponseWriter, r *http.Request) {
	drain(r.Body)
	d, err := s.deployer()
	if err == nil {
		var ans commands.DeployAnswer
		if ans, err = d.Deploy(r.Context(), mux.Vars(r)["name"], commands.Meta{Actor: "api"}); err == nil {
			writeJSON(w, http.StatusAccepted, ans)
			return
		}
	}
	s.writeError(w, r, err)
}

// rollbackEgg pins the egg to an earlier configuration (202). The body is
// optional: {"to_plan_id": "..."}.
func (s *server) rollbackEgg(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ToPlanID string `json:"to_plan_id"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRollbackBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		s.writeError(w, r, errs.Errorf(errs.EINVALID, "the body must be empty or {\"to_plan_id\": \"...\"} (at most %d bytes): %v", maxRollbackBody, err))
		return
	}
	drain(r.Body)
	d, err := s.deployer()
	if err == nil {
		var ans commands.DeployAnswer
		if ans, err = d.Rollback(r.Context(), mux.Vars(r)["name"], body.ToPlanID, commands.Meta{Actor: "api"}); err == nil {
			writeJSON(w, http.StatusAccepted, ans)
			return
		}
	}
	s.writeError(w, r, err)
}

// deployStatus answers the progress of a deploy or rollback.
func (s *server) deployStatus(w http.ResponseWriter, r *http.Request) {
	d, err := s.deployer()
	if err == nil {
		var st commands.DeployStatus
		if st, err = d.DeployStatus(r.Context(), mux.Vars(r)["name"], mux.Vars(r)["id"]); err == nil {
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	s.writeError(w, r, err)
}
