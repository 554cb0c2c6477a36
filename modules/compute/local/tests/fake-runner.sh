#!/bin/sh
# A stand-in for `gosling runner` used by the tests: it logs the environment it
# was started with (URIs only, no secret values exist here) and runs until it
# is stopped.
echo "fake runner $GOSLING_RUNNER_ID for egg $GOSLING_EGG talking to $GOSLING_MOTHERGOOSE_URL"
echo "secret uris: $GOSLING_SECRET_URIS"
trap 'echo stopping; exit 0' TERM INT
while :; do sleep 1; done
