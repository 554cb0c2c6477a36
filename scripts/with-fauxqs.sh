#!/usr/bin/env bash
# with-fauxqs.sh CMD...: runs CMD with S3_ENDPOINT pointing at a fauxqs (a
# local S3) started for it (and stopped after), unless the variable is
# already set. It composes with with-dynamodb.sh:
#   scripts/with-dynamodb.sh scripts/with-fauxqs.sh go test ./...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${S3_ENDPOINT:-}" ]]; then
	exec "$@"
fi
endpoint="$("$here/fauxqs.sh" start)"
trap '"$here/fauxqs.sh" stop' EXIT
echo "fauxqs (S3) at $endpoint" >&2
S3_ENDPOINT="$endpoint" "$@"
