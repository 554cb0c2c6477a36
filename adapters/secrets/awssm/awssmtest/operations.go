package awssmtest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"
)

// Staging labels (https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html#term_version).
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// secret is one secret and its versions.
type secret struct {
	name, arn, description string
	tags                   []Tag
	created, changed       time.Time
	versions               []*version // oldest first; only versions with a staging label
}

type version struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

// current is the AWSCURRENT version, nil for a secret created without a
// value.
func (sec *secret) current() *version {
	for _, v := range sec.versions {
		if slices.Contains(v.stages, stageCurrent) {
			return v
		}
	}
	return nil
}

// addVersion makes a new AWSCURRENT version; the former current one
// becomes AWSPREVIOUS, and a version left without a label is dropped, as
// Secrets Manager deprecates it.
func (sec *secret) addVersion(id string, str *string, bin []byte, now time.Time) *version {
	for _, v := range sec.versions {
		v.stages = slices.DeleteFunc(v.stages, func(l string) bool { return l == stagePrevious })
		for i, l := range v.stages {
			if l == stageCurrent {
				v.stages[i] = stagePrevious
			}
		}
	}
	sec.versions = slices.DeleteFunc(sec.versions, func(v *version) bool { return len(v.stages) == 0 })
	v := &version{id: id, str: str, bin: bin, stages: []string{stageCurrent}, created: now}
	sec.versions = append(sec.versions, v)
	sec.changed = now
	return v
}

// nameOf returns the name of the secret a SecretId names: its name or its
// ARN (unknown IDs are returned as they are).
func (s *Server) nameOf(id string) string {
	for name, sec := range s.secrets {
		if sec.arn == id {
			return name
		}
	}
	return id
}

func (s *Server) nextID() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
}

// epoch is a timestamp as JSON 1.1 sends it: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func notFound(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ResourceNotFoundException", message: msg}
}

func invalidParameter(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidParameterException", message: msg}
}

// getSecretValue answers GetSecretValue
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html):
// the AWSCURRENT version unless VersionId or VersionStage picks another.
func (s *Server) getSecretValue(req request) (any, *apiError) {
	sec := s.secrets[s.nameOf(req.SecretID)]
	if sec == nil {
		return nil, notFound("Secrets Manager can't find the specified secret.")
	}
	stage := req.VersionStage
	if stage == "" && req.VersionID == "" {
		stage = stageCurrent
	}
	var v *version
	for _, c := range sec.versions {
		if (req.VersionID == "" || c.id == req.VersionID) && (stage == "" || slices.Contains(c.stages, stage)) {
			v = c
		}
	}
	if v == nil {
		return nil, notFound("Secrets Manager can't find the specified secret value for VersionId: " + req.VersionID + ", staging label: " + stage)
	}
	out := map[string]any{
		"ARN":           sec.arn,
		"Name":          sec.name,
		"VersionId":     v.id,
		"VersionStages": v.stages,
		"CreatedDate":   epoch(v.created),
	}
	if v.str != nil {
		out["SecretString"] = *v.str
	} else {
		out["SecretBinary"] = v.bin
	}
	return out, nil
}

// putSecretValue answers PutSecretValue
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html):
// a new version labelled AWSCURRENT. A ClientRequestToken already used for
// the same value answers that version again (idempotency); for another
// value, ResourceExistsException.
func (s *Server) putSecretValue(req request) (any, *apiError) {
	sec := s.secrets[s.nameOf(req.SecretID)]
	if sec == nil {
		return nil, notFound("Secrets Manager can't find the specified secret.")
	}
	if (req.SecretString == nil) == (req.SecretBinary == nil) {
		return nil, invalidParameter("You must provide either SecretString or SecretBinary, but not both.")
	}
	id := req.ClientRequestToken
	if id == "" {
		id = s.nextID()
	}
	for _, v := range sec.versions {
		if v.id != id {
			continue
		}
		if sameValue(v, req.SecretString, req.SecretBinary) {
			return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": v.stages}, nil
		}
		return nil, &apiError{status: http.StatusBadRequest, code: "ResourceExistsException", message: "You can't modify an existing version, you can only create a new version."}
	}
	v := sec.addVersion(id, req.SecretString, req.SecretBinary, time.Now())
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": v.stages}, nil
}

func sameValue(v *version, str *string, bin []byte) bool {
	if str != nil {
		return v.str != nil && *v.str == *str
	}
	return v.str == nil && string(v.bin) == string(bin)
}

// secretName is the documented name pattern: 1 to 512 characters of ASCII
// letters, digits and /_+=.@-.
var secretName = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

// createSecret answers CreateSecret
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html):
// ResourceExistsException when the name is taken; a first version when a
// value is given.
func (s *Server) createSecret(req request, region string) (any, *apiError) {
	if !secretName.MatchString(req.Name) {
		return nil, invalidParameter("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	if s.secrets[req.Name] != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "ResourceExistsException", message: "The operation failed because the secret " + req.Name + " already exists."}
	}
	if req.SecretString != nil && req.SecretBinary != nil {
		return nil, invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	sec := s.create(req.Name, region)
	sec.description = req.Description
	sec.tags = req.Tags
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if req.SecretString != nil || req.SecretBinary != nil {
		id := req.ClientRequestToken
		if id == "" {
			id = s.nextID()
		}
		out["VersionId"] = sec.addVersion(id, req.SecretString, req.SecretBinary, sec.created).id
	}
	return out, nil
}

// create adds an empty secret. The caller holds s.mu.
func (s *Server) create(name, region string) *secret {
	s.seq++
	now := time.Now()
	// A secret's ARN ends with a dash and six random characters.
	sec := &secret{name: name, created: now, changed: now,
		arn: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%06d", region, Account, name, s.seq%1000000)}
	s.secrets[name] = sec
	return sec
}

// describeSecret answers DescribeSecret
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html):
// the metadata, never the value.
func (s *Server) describeSecret(req request) (any, *apiError) {
	sec := s.secrets[s.nameOf(req.SecretID)]
	if sec == nil {
		return nil, notFound("Secrets Manager can't find the specified secret.")
	}
	stages := map[string][]string{}
	for _, v := range sec.versions {
		stages[v.id] = v.stages
	}
	out := map[string]any{
		"ARN":                sec.arn,
		"Name":               sec.name,
		"CreatedDate":        epoch(sec.created),
		"LastChangedDate":    epoch(sec.changed),
		"VersionIdsToStages": stages,
	}
	if sec.description != "" {
		out["Description"] = sec.description
	}
	if len(sec.tags) > 0 {
		out["Tags"] = sec.tags
	}
	return out, nil
}
