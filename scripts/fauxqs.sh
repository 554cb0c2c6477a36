#!/usr/bin/env bash
# fauxqs.sh: install, start and stop fauxqs (an in-memory SNS/SQS/S3
# emulator from npm) for the adapters/blobs/s3blobs integration tests.
#
#   scripts/fauxqs.sh install   npm install fauxqs into .tools/fauxqs/
#   scripts/fauxqs.sh start     start it on a free 127.0.0.1 port; print the endpoint
#   scripts/fauxqs.sh stop      stop the instance that start launched
#
# start prints only the endpoint on stdout (everything else goes to stderr), so
#   S3_ENDPOINT=$(scripts/fauxqs.sh start) go test ./adapters/blobs/s3blobs/
# works. fauxqs answers path-style S3 requests (http://127.0.0.1:PORT/bucket/key),
# signs nothing and checks no credentials; buckets are created through the
# S3 API (CreateBucket) by the tests. Its request bodies are bounded at 11 MiB.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.tools/fauxqs"
VERSION="1.9.2"
PKG="$DIR/node_modules/fauxqs/package.json"
PIDFILE="$DIR/pid"
ENDPOINTFILE="$DIR/endpoint"
LOGFILE="$DIR/log"
START_TIMEOUT_SECONDS=30

NAME=fauxqs
# shellcheck source=local-service.sh
. "$ROOT/scripts/local-service.sh"

installed() {
	[[ -f "$PKG" ]] && grep -q "\"version\": \"$VERSION\"" "$PKG"
}

install() {
	if installed; then
		return 0
	fi
	command -v npm >/dev/null || die "npm is needed to install fauxqs"
	mkdir -p "$DIR"
	log "installing fauxqs@$VERSION"
	npm install --silent --no-audit --no-fund --prefix "$DIR" "fauxqs@$VERSION" >&2 || die "npm install fauxqs@$VERSION failed"
	installed || die "fauxqs@$VERSION is not in $DIR after npm install"
	log "installed into $DIR"
}

# answers reports whether fauxqs's health endpoint says ok.
answers() {
	curl -fs -m 2 "$1/health" 2>/dev/null | grep -q '"ok"'
}

# The server: fauxqs's Fastify app bound to 127.0.0.1 (its startFauxqs
# listens on every interface) on a port the kernel picks, so no port is
# guessed and raced for; the address it got is written to a file, renamed
# into place so that start never reads half of it.
SERVER_JS='
import { buildApp } from "fauxqs";
import { writeFileSync, renameSync } from "node:fs";
const app = buildApp({ logger: false });
const address = await app.listen({ host: "127.0.0.1", port: 0 });
const out = process.env.FAUXQS_ENDPOINT_FILE;
writeFileSync(out + ".tmp", address + "\n");
renameSync(out + ".tmp", out);
for (const s of ["SIGTERM", "SIGINT"]) process.on(s, () => app.close().then(() => process.exit(0)));
'

start() {
	command -v node >/dev/null || die "node is needed to run fauxqs"
	install
	if already_up; then
		return 0
	fi
	rm -f "$ENDPOINTFILE"
	local pid
	# Its output goes to a log file and its stdin/stdout are detached, or
	# $(start) would never see end of file. It runs from DIR so that the
	# bare import "fauxqs" resolves in DIR/node_modules.
	(cd "$DIR" && FAUXQS_ENDPOINT_FILE="$ENDPOINTFILE" exec node --input-type=module -e "$SERVER_JS" </dev/null >"$LOGFILE" 2>&1) &
	pid=$!
	echo "$pid" >"$PIDFILE"
	wait_up "$pid"
}

service_main "$@"
