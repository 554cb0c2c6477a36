#!/usr/bin/env bash
# tofu-install.sh: build OpenTofu into .tools/bin/tofu when it is not there.
#
# OpenTofu is not in apt and `go install` refuses its module (it has replace
# directives), but the module builds from the Go module proxy, which is
# reachable here. The first build takes about 7 minutes and 2 GB; afterwards
# this script exits at once. Progress goes to stderr.
#
#   scripts/tofu-install.sh          install (idempotent)
#   TOFU_VERSION=1.12.6 scripts/tofu-install.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${TOFU_VERSION:-1.12.6}"
BINDIR="$ROOT/.tools/bin"
BIN="$BINDIR/tofu"
GO="${GO:-go}"

log() { echo "tofu-install: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# `tofu version` may print CLI config warnings on stdout before the version line.
# Its output is captured before matching: piping it into `grep -q` would let
# grep exit at the match while tofu still writes "on linux_amd64", and under
# pipefail the SIGPIPE tofu gets would fail a binary that is fine.
has_version() {
	[[ -x "$1" ]] || return 1
	local out
	out="$("$1" version 2>/dev/null)" || return 1
	grep -qx "OpenTofu v$VERSION" <<<"$out"
}

if has_version "$BIN"; then
	exit 0
fi

command -v "$GO" >/dev/null || die "go is needed to build OpenTofu"
MOD="github.com/opentofu/opentofu@v$VERSION"
log "downloading $MOD from the Go module proxy"
SRC="$(cd "$ROOT" && GOFLAGS=-mod=mod "$GO" mod download -json "$MOD" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$SRC" && -d "$SRC" ]] || die "go mod download $MOD gave no module directory"

WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp -R "$SRC/." "$WORK/src"
chmod -R u+w "$WORK/src"
mkdir -p "$BINDIR"
log "building OpenTofu v$VERSION (about 7 minutes on a cold cache)"
(
	cd "$WORK/src"
	# The copied module is its own main module: resolve its go.mod against the
	# proxy, never against the project's vendor/workspace settings.
	# version.dev=no is what release builds set: without it the binary calls
	# itself v$VERSION-dev.
	GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 "$GO" build -trimpath \
		-ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" -o "$BIN.tmp" ./cmd/tofu
)
has_version "$BIN.tmp" || die "built binary does not report v$VERSION: $("$BIN.tmp" version 2>&1 | grep OpenTofu)"
mv "$BIN.tmp" "$BIN"
log "installed OpenTofu v$VERSION at $BIN"
