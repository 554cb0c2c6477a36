#!/usr/bin/env bash
# Sends a sample GitLab Job Hook to MotherGoose, as GitLab would.
#
#   scripts/send-job-hook.sh PROJECT_ID WEBHOOK_SECRET [STATUS] [JOB_ID]
#
# PROJECT_ID is the egg's gitlab project id and WEBHOOK_SECRET the value its
# webhook_secret URI resolves to (both may also come from the environment:
# PROJECT_ID, WEBHOOK_SECRET). STATUS is pending (default: asks for a
# runner) or success/failed/canceled (the job ended: its runner slot frees,
# a serverless runner goes). JOB_ID defaults to a number from the clock; send
# the same one with success to end the job. MOTHERGOOSE_URL defaults to
# http://127.0.0.1:8080, GITLAB_HOST (the egg's gitlab server) gitlab.com. The tags sent are $TAGS (comma-separated, default
# docker): they must be among the egg's.
set -euo pipefail
project="${1:-${PROJECT_ID:-}}"
secret="${2:-${WEBHOOK_SECRET:-}}"
status="${3:-pending}"
job="${4:-$(date +%s)}"
url="${MOTHERGOOSE_URL:-http://127.0.0.1:8080}"
host="${GITLAB_HOST:-gitlab.com}"
if [[ -z "$project" || -z "$secret" ]]; then
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
tags="$(printf '%s' "${TAGS:-docker}" | sed 's/[^,][^,]*/"&"/g')"
uuid="$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)"
body=$(cat <<JSON
{"object_kind":"build","ref":"main","build_id":$job,"build_name":"test","build_stage":"test",
 "build_status":"$status","project_id":$project,"project_name":"sample","tags":[$tags],
 "project":{"id":$project,"web_url":"https://$host/sample/project"},
 "repository":{"homepage":"https://$host/sample/project"}}
JSON
)
echo "job $job ($status) for project $project -> $url/webhooks/gitlab"
curl -sS -X POST "$url/webhooks/gitlab" \
	-H 'Content-Type: application/json' \
	-H 'X-Gitlab-Event: Job Hook' \
	-H "X-Gitlab-Event-UUID: $uuid" \
	-H "X-Gitlab-Token: $secret" \
	--data "$body"
echo
