package domain

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxSyncErrorLen bounds the error text of a recorded Nest sync failure, in
// bytes: a cause chain is a few hundred bytes; a longer one is cut (at a
// UTF-8 boundary, marked with "...") rather than refused, so the failure is
// still recorded.
const MaxSyncErrorLen = 1024

const redacted = "***"

var (
	// A URL: scheme://rest, up to white space or a quote.
	urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)
	// name=value or name: value where the name says it holds a credential.
	credentialPair = regexp.MustCompile(`(?i)((?:access[_-]?token|private[_-]?token|api[_-]?key|token|password|passwd|secret|authorization)["']?\s*[=:]\s*["']?)(?:(?:bearer|basic|token)\s+)?[^\s"'&,;]+`)
	// An HTTP authorization scheme followed by its credential.
	authScheme = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)
	// A PEM block (a private key), whole or cut off.
	pemBlock = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----(?s:.*?)(?:-----END [A-Z0-9 ]+-----|$)`)
)

// Redact removes credentials from an error text meant to be recorded: every
// occurrence of each known secret value (the resolved credential), the
// userinfo and the query values of URLs, name=value pairs naming a token or
// password, authorization headers' credentials and PEM blocks. It is
// idempotent.
func Redact(s string, known ...string) string {
	for _, k := range known {
		if k = strings.TrimSpace(k); k != "" {
			s = strings.ReplaceAll(s, k, redacted)
		}
	}
	s = pemBlock.ReplaceAllString(s, redacted)
	s = urlPattern.ReplaceAllStringFunc(s, redactURL)
	s = credentialPair.ReplaceAllString(s, "${1}"+redacted)
	s = authScheme.ReplaceAllString(s, "${1} "+redacted)
	return s
}

// redactURL drops the userinfo and every query value of one URL.
func redactURL(u string) string {
	scheme, rest, _ := strings.Cut(u, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = redacted + rest[at:]
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	if !hasQuery {
		return scheme + "://" + rest
	}
	query, frag, hasFrag := strings.Cut(query, "#")
	params := strings.Split(query, "&")
	for i, p := range params {
		if name, _, ok := strings.Cut(p, "="); ok {
			params[i] = name + "=" + redacted
		}
	}
	out := scheme + "://" + path + "?" + strings.Join(params, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// Truncate cuts s to at most n bytes at a UTF-8 boundary, ending it with
// "..." when it was cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := max(n-len(mark), 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
