package events

// Providers and runner types are spelled in lower case, as operators write
// them in the Nest ("yandex", "aws", "serverless", "apex", "nadir"; the
// domain's CloudProvider and RunnerType are the one definition). v1 events
// recorded before that spelled them in upper case ("YANDEX", "APEX"). The
// names and shapes did not change, so there is no .v2: the codec reads those
// fields of a stored event in the current spelling (a same-version upcast),
// and the stored bytes never change. Replay therefore rebuilds every view in
// the current spelling. testdata/retired_spelling holds such old events; each
// decodes to the payload of its golden file.

// retiredSpellings maps each retired spelling to the current one. It is
// closed: values it does not list are read as stored.
var retiredSpellings = map[string]string{
	"YANDEX":     "yandex",
	"AWS":        "aws",
	"SERVERLESS": "serverless",
	"APEX":       "apex",
	"NADIR":      "nadir",
}

// Respell returns the current spelling of a provider or runner type spelled
// s, which is s itself unless s is a retired spelling.
func Respell(s string) string {
	if v, ok := retiredSpellings[s]; ok {
		return v
	}
	return s
}

// respeller is implemented by the payloads that carry a provider or a runner
// type; Decode calls it on every one it reads.
type respeller interface{ respell() }

func (e *EggSynced) respell() { e.RunnerType, e.Provider = Respell(e.RunnerType), Respell(e.Provider) }
func (e *RunnerRequested) respell() {
	e.RunnerType, e.Provider = Respell(e.RunnerType), Respell(e.Provider)
}
func (e *RunnerDeployed) respell() {
	e.RunnerType, e.Provider = Respell(e.RunnerType), Respell(e.Provider)
}
func (e *RunnerPoolChanged) respell() { e.From, e.To = Respell(e.From), Respell(e.To) }
