package domain

import (
	"slices"
	"strconv"
	"strings"

	"github.com/polar-gosling/polar-gosling/events"
)

// Job is a scheduled self-management task of the Nest (token rotation,
// image updates).
type Job struct {
	version
	name    string
	config  events.JobSynced
	synced  bool
	removed bool
}

// RehydrateJob rebuilds job name from its stream's history.
func RehydrateJob(name string, history []events.Envelope) (*Job, error) {
	if err := checkIdentifier("job name", name); err != nil {
		return nil, err
	}
	j := &Job{name: name}
	v, err := replay(j, JobStream(name), history)
	if err != nil {
		return nil, err
	}
	j.v = v
	return j, nil
}

func (j *Job) Name() string       { return j.name }
func (j *Job) Exists() bool       { return j.synced && !j.removed }
func (j *Job) Schedule() string   { return j.config.Schedule }
func (j *Job) ConfigHash() string { return j.config.ConfigHash }

// Sync records the job as of a Nest commit, or its removal (Removed set).
// The same configuration hash and removal flag again is no events.
func (j *Job) Sync(c events.JobSynced) ([]events.Event, error) {
	if c.Name != j.name {
		return nil, invalid("job config names %q, not %q", c.Name, j.name)
	}
	if c.Removed {
		if !j.synced {
			return nil, notFound("job %s does not exist", j.name)
		}
		if j.removed {
			return nil, nil
		}
		// A removal names the config it removes. A caller that no longer
		// has it (a Nest sync whose last commit does not load any more)
		// leaves the hash out, and it is the job's last one.
		if c.ConfigHash == "" {
			c.ConfigHash = j.config.ConfigHash
		}
	} else {
		if c.ConfigHash == "" {
			return nil, invalid("job %s: config hash is empty", j.name)
		}
		if err := CheckCron(c.Schedule); err != nil {
			return nil, invalid("job %s: %s", j.name, err.Error())
		}
		if c.Egg != "" {
			if _, err := NewEggName(c.Egg); err != nil {
				return nil, err
			}
		}
		if j.Exists() && j.config.ConfigHash == c.ConfigHash {
			return nil, nil
		}
	}
	c.Tags = slices.Clone(c.Tags)
	return []events.Event{c}, nil
}

func (j *Job) apply(ev events.Event) error {
	e, ok := ev.(events.JobSynced)
	if !ok {
		return unknownEvent("job "+j.name, ev)
	}
	j.synced, j.removed = true, e.Removed
	if !e.Removed {
		e.Tags = slices.Clone(e.Tags)
		j.config = e
	}
	return nil
}

// cronFields are the five fields of a cron schedule with their bounds and names.
var cronFields = []struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}},
	{"day of week", 0, 7, []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}},
}

// CheckCron checks a five-field cron schedule ("0 3 * * 1-5") syntactically:
// lists of '*', values, ranges and steps, values within each field's bounds,
// month and weekday names allowed. Macros such as "@daily" are not accepted.
func CheckCron(schedule string) error {
	fields := strings.Fields(schedule)
	if len(fields) != len(cronFields) {
		return invalid("schedule %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", schedule, len(fields))
	}
	for i, f := range fields {
		spec := cronFields[i]
		for item := range strings.SplitSeq(f, ",") {
			if err := checkCronItem(item, spec.min, spec.max, spec.names); err != nil {
				return invalid("schedule %q: %s field %q: %s", schedule, spec.name, f, err.Error())
			}
		}
	}
	return nil
}

type cronError string

func (e cronError) Error() string { return string(e) }

func checkCronItem(item string, lo, hi int, names []string) error {
	rng, step, hasStep := strings.Cut(item, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n <= 0 {
			return cronError("step " + strconv.Quote(step) + " is not a positive number")
		}
	}
	if rng == "*" {
		return nil
	}
	from, to, isRange := strings.Cut(rng, "-")
	a, err := cronValue(from, lo, hi, names)
	if err != nil {
		return err
	}
	if !isRange {
		return nil
	}
	b, err := cronValue(to, lo, hi, names)
	if err != nil {
		return err
	}
	if a > b {
		return cronError("range " + rng + " runs backwards")
	}
	return nil
}

func cronValue(s string, lo, hi int, names []string) (int, error) {
	if i := slices.Index(names, strings.ToUpper(s)); i >= 0 {
		return lo + i, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || strings.HasPrefix(s, "+") {
		return 0, cronError(strconv.Quote(s) + " is not a value")
	}
	if n < lo || n > hi {
		return 0, cronError(strconv.Quote(s) + " is out of range " + strconv.Itoa(lo) + "-" + strconv.Itoa(hi))
	}
	return n, nil
}
