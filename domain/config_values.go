package domain

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds the value checks of the Nest configuration language
// (.fly, see adapters/fly): names, tags, host names, versions, durations and
// schedules. They return EINVALID errors whose message says what is wrong
// and what is expected; the parser turns them into positioned diagnostics.

// MaxConfigName is the longest name (block label) of the configuration:
// names become cloud resource names and DNS labels.
const MaxConfigName = 63

// CheckConfigName checks s against ^[a-z][a-z0-9-]{0,62}$, the syntax of
// every name (block label) of a .fly file. Such a name is also a valid
// identifier (EggName, job name).
func CheckConfigName(s string) error {
	if s == "" {
		return invalid("name is empty")
	}
	if len(s) > MaxConfigName {
		return invalid("name %q is %d characters long; at most %d are allowed", s, len(s), MaxConfigName)
	}
	if c := s[0]; c < 'a' || c > 'z' {
		return invalid("name %q must start with a lowercase letter (a-z)", s)
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return invalid("name %q: only lowercase letters, digits and '-' are allowed (^[a-z][a-z0-9-]{0,62}$)", s)
		}
	}
	return nil
}

// CheckTag checks a GitLab runner tag against ^[a-zA-Z0-9_.:-]+$.
func CheckTag(s string) error {
	if s == "" {
		return invalid("tag is empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return invalid("tag %q: only letters, digits, '_', '.', ':' and '-' are allowed", s)
		}
	}
	return nil
}

// CheckHostName checks s as a fully qualified host name ("gitlab.com"): dot
// separated labels of letters, digits and '-' (not at either end of a
// label), at least two labels, 253 characters at most; no scheme, port or path.
func CheckHostName(s string) error {
	if s == "" {
		return invalid("host name is empty")
	}
	if i := strings.Index(s, "://"); i >= 0 {
		return invalid("%q: give the host name only, without %q", s, s[:i+3])
	}
	if strings.ContainsAny(s, ":/") {
		return invalid("%q: give the host name only, without port or path", s)
	}
	if len(s) > 253 {
		return invalid("host name %q is longer than 253 characters", s)
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return invalid("%q is not a fully qualified host name (like gitlab.example.com)", s)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return invalid("host name %q: each dot-separated part has 1 to 63 characters and does not start or end with '-'", s)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return invalid("host name %q: only letters, digits, '-' and '.' are allowed", s)
			}
		}
	}
	return nil
}

// CheckGitLabServer checks a GitLab server as an egg names it: a fully
// qualified host name (CheckHostName) with an optional ":port" (1 to
// 65535) for a self-managed GitLab that does not listen on 443
// ("gitlab.internal.net:8443"). The API is reached over HTTPS.
func CheckGitLabServer(s string) error {
	host, port, hasPort := strings.Cut(s, ":")
	if !hasPort || strings.Contains(s, "://") {
		return CheckHostName(s)
	}
	if err := CheckHostName(host); err != nil {
		return err
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '0' {
		return invalid("%q: the port %q is not a number from 1 to 65535", s, port)
	}
	return nil
}

// CheckVersion checks a release version pin: MAJOR.MINOR.PATCH with an
// optional -prerelease ("1.12.6", "0.3.0-rc.1"), without a leading "v".
func CheckVersion(s string) error {
	core, pre, hasPre := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	ok := len(parts) == 3 && (!hasPre || pre != "")
	for _, p := range parts {
		if !ok {
			break
		}
		ok = p != "" && strings.Trim(p, "0123456789") == "" && (len(p) == 1 || p[0] != '0')
	}
	for i := 0; ok && i < len(pre); i++ {
		c := pre[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
	}
	if !ok {
		return invalid("version %q is not MAJOR.MINOR.PATCH (like 1.12.6, without a leading v)", s)
	}
	return nil
}

// CheckEnvName checks an environment variable name: ^[A-Za-z_][A-Za-z0-9_]*$.
func CheckEnvName(s string) error {
	ok := s != "" && !(s[0] >= '0' && s[0] <= '9')
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	if !ok {
		return invalid("%q is not an environment variable name (letters, digits and '_', not starting with a digit)", s)
	}
	return nil
}

// ScheduleMacros are the cron shorthands a schedule may be instead of five fields.
var ScheduleMacros = []string{"@hourly", "@daily", "@weekly"}

// macroFields are ScheduleMacros as five-field schedules, in the same order.
var macroFields = []string{"0 * * * *", "0 0 * * *", "0 0 * * 0"}

// CronFields returns a configuration schedule as the five fields CheckCron
// (and so the Job aggregate) takes: a macro expanded, anything else as it is.
func CronFields(schedule string) string {
	if i := slices.Index(ScheduleMacros, strings.TrimSpace(schedule)); i >= 0 {
		return macroFields[i]
	}
	return schedule
}

// CheckSchedule checks a cron schedule of the configuration: one of
// ScheduleMacros, or five fields checked one by one by CheckCron.
func CheckSchedule(s string) error {
	if strings.HasPrefix(s, "@") {
		for _, m := range ScheduleMacros {
			if s == m {
				return nil
			}
		}
		return invalid("schedule %q: the only macros are %s", s, strings.Join(ScheduleMacros, ", "))
	}
	return CheckCron(s)
}

// Duration is a length of time as written in the configuration ("10m",
// "1h30m", "3d") with its value. Its JSON form is {"text":"10m","seconds":600}.
type Duration struct {
	Text string
	D    time.Duration
}

// ParseDuration parses a Go duration extended with a "d" unit of 24 hours:
// a sequence of decimal numbers, each with a unit (ns, us, ms, s, m, h, d),
// as "90s", "1h30m", "3d", "1.5h". Negative durations are not accepted.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return Duration{}, invalid("duration is empty; write a number with a unit, like \"90s\", \"10m\", \"1h30m\" or \"3d\"")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] >= 'a' && rest[j] <= 'z' || rest[j] >= 0x80) {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		switch {
		case num == "" || num == ".":
			return Duration{}, invalid("duration %q: expected a number at %q (units: ns, us, ms, s, m, h, d; no sign)", s, rest)
		case unit == "":
			return Duration{}, invalid("duration %q: the number %s has no unit (ns, us, ms, s, m, h or d)", s, num)
		}
		var part time.Duration
		if unit == "d" {
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return Duration{}, invalid("duration %q: %q is not a number", s, num)
			}
			if n*float64(24*time.Hour) >= math.MaxInt64 {
				return Duration{}, invalid("duration %q is too long", s)
			}
			part = time.Duration(n * float64(24*time.Hour))
		} else {
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return Duration{}, invalid("duration %q: %q is not a duration (units: ns, us, ms, s, m, h, d)", s, num+unit)
			}
			part = d
		}
		if total > math.MaxInt64-part {
			return Duration{}, invalid("duration %q is too long", s)
		}
		total += part
		rest = rest[j:]
	}
	return Duration{Text: s, D: total}, nil
}

// MustDuration is ParseDuration for constants of the program; it panics on error.
func MustDuration(s string) Duration {
	d, err := ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Seconds returns the duration in seconds.
func (d Duration) Seconds() float64 { return d.D.Seconds() }

func (d Duration) String() string { return d.Text }

type durationJSON struct {
	Text    string  `json:"text"`
	Seconds float64 `json:"seconds"`
}

// MarshalJSON encodes {"text":"10m","seconds":600}.
func (d Duration) MarshalJSON() ([]byte, error) {
	return marshalNoEscape(durationJSON{Text: d.Text, Seconds: d.D.Seconds()})
}

// UnmarshalJSON decodes the MarshalJSON form; the text is authoritative.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var j durationJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	v, err := ParseDuration(j.Text)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
