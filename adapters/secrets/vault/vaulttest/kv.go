package vaulttest

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// kvSecret is a KV v2 secret: its versions, oldest first (version n is
// versions[n-1]).
type kvSecret struct {
	versions []kvVersion
}

type kvVersion struct {
	data    map[string]any // nil once destroyed
	created time.Time
	deleted time.Time // zero unless soft-deleted
	destroy bool
}

func (v kvVersion) metadata(n int) map[string]any {
	deletion := ""
	if !v.deleted.IsZero() {
		deletion = v.deleted.UTC().Format(time.RFC3339Nano)
	}
	return map[string]any{
		"created_time":    v.created.UTC().Format(time.RFC3339Nano),
		"custom_metadata": nil,
		"deletion_time":   deletion,
		"destroyed":       v.destroy,
		"version":         n,
	}
}

// AddMount adds a KV v2 mount ("secret" exists from the start).
func (s *Server) AddMount(mount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[mount] = true
}

// Put writes a new version of the secret at mount/path with key set to
// value and the previous version's other keys kept (what `vault kv patch`
// does); it creates the secret if needed. Calling it again rotates the
// value.
func (s *Server) Put(mount, path, key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[mount] = true
	data := map[string]any{}
	if sec := s.secrets[mount+"/"+path]; sec != nil {
		if last := sec.versions[len(sec.versions)-1]; last.deleted.IsZero() && !last.destroy {
			data = maps.Clone(last.data)
		}
	}
	data[key] = value
	s.putLocked(mount, path, data)
}

// PutData writes a new version of the secret at mount/path holding exactly
// data (what `vault kv put` does).
func (s *Server) PutData(mount, path string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[mount] = true
	s.putLocked(mount, path, maps.Clone(data))
}

func (s *Server) putLocked(mount, path string, data map[string]any) int {
	sec := s.secrets[mount+"/"+path]
	if sec == nil {
		sec = &kvSecret{}
		s.secrets[mount+"/"+path] = sec
	}
	sec.versions = append(sec.versions, kvVersion{data: data, created: s.now()})
	return len(sec.versions)
}

// Delete soft-deletes the latest version of the secret, as DELETE
// /v1/<mount>/data/<path> does; a read then answers 404 with the version's
// metadata. Destroy (true) destroys it instead (POST <mount>/destroy/<path>).
func (s *Server) Delete(mount, path string, destroy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[mount+"/"+path]
	if sec == nil {
		return
	}
	last := &sec.versions[len(sec.versions)-1]
	if destroy {
		last.destroy, last.data = true, nil
	} else {
		last.deleted = s.now()
	}
}

// Data returns the latest version of the secret at mount/path and its
// number; ok is false when there is none (or it is deleted).
func (s *Server) Data(mount, path string) (data map[string]any, version int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[mount+"/"+path]
	if sec == nil {
		return nil, 0, false
	}
	last := sec.versions[len(sec.versions)-1]
	if !last.deleted.IsZero() || last.destroy {
		return nil, len(sec.versions), false
	}
	return maps.Clone(last.data), len(sec.versions), true
}

// handleKV serves /v1/<mount>/data/<path>
// (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version
// and #create-update-secret).
func (s *Server) handleKV(w http.ResponseWriter, r *http.Request, apiPath string) {
	mount, path, ok := strings.Cut(apiPath, "/data/")
	s.mu.Lock()
	known := ok && s.mounts[mount] && path != ""
	s.mu.Unlock()
	if s.authorize(w, r, apiPath) == nil {
		return
	}
	if !known {
		// Vault's answer for a path no mount serves.
		writeErrors(w, http.StatusNotFound, "no handler for route \""+apiPath+"\". route entry not found.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.readKV(w, r, mount, path)
	case http.MethodPost, http.MethodPut:
		s.writeKV(w, r, mount, path)
	default:
		writeErrors(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

// readKV answers the latest version (or ?version=n): 200 with
// {"data":{"data":{...},"metadata":{...}}}; 404 {"errors":[]} when the
// secret does not exist; 404 with "data": null and the metadata when the
// version is deleted or destroyed.
func (s *Server) readKV(w http.ResponseWriter, r *http.Request, mount, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[mount+"/"+path]
	if sec == nil {
		writeErrors(w, http.StatusNotFound)
		return
	}
	n := len(sec.versions)
	if q := r.URL.Query().Get("version"); q != "" && q != "0" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 1 {
			writeErrors(w, http.StatusBadRequest, "invalid version")
			return
		}
		if v > n {
			writeErrors(w, http.StatusNotFound)
			return
		}
		n = v
	}
	ver := sec.versions[n-1]
	if !ver.deleted.IsZero() || ver.destroy {
		writeJSON(w, http.StatusNotFound, response(map[string]any{"data": nil, "metadata": ver.metadata(n)}, nil))
		return
	}
	writeJSON(w, http.StatusOK, response(map[string]any{"data": ver.data, "metadata": ver.metadata(n)}, nil))
}

// writeKV stores {"data":{...},"options":{"cas":n}} as a new version and
// answers its metadata; a cas that is not the current version is refused
// with 400, as Vault does.
func (s *Server) writeKV(w http.ResponseWriter, r *http.Request, mount, path string) {
	var body struct {
		Data    map[string]any `json:"data"`
		Options struct {
			CAS *json.Number `json:"cas"`
		} `json:"options"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeErrors(w, http.StatusBadRequest, "error parsing JSON")
		return
	}
	if body.Data == nil {
		writeErrors(w, http.StatusBadRequest, "no data provided")
		return
	}
	s.mu.Lock()
	hook := s.beforeWrite
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if body.Options.CAS != nil {
		want, err := body.Options.CAS.Int64()
		current := 0
		if sec := s.secrets[mount+"/"+path]; sec != nil {
			current = len(sec.versions)
		}
		if err != nil || int(want) != current {
			writeErrors(w, http.StatusBadRequest, "check-and-set parameter did not match the current version")
			return
		}
	}
	n := s.putLocked(mount, path, body.Data)
	writeJSON(w, http.StatusOK, response(s.secrets[mount+"/"+path].versions[n-1].metadata(n), nil))
}
