#!/usr/bin/env bash
# with-dynamodb.sh CMD...: runs CMD with DYNAMODB_ENDPOINT pointing at a
# DynamoDB Local started for it (and stopped after), unless the variable is
# already set.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${DYNAMODB_ENDPOINT:-}" ]]; then
	exec "$@"
fi
endpoint="$("$here/dynamodb-local.sh" start)"
trap '"$here/dynamodb-local.sh" stop' EXIT
echo "DynamoDB Local at $endpoint" >&2
DYNAMODB_ENDPOINT="$endpoint" "$@"
