# local-service.sh: what the scripts that run a local test service
# (dynamodb-local.sh, fauxqs.sh) share. Source it after setting NAME (for
# messages), PIDFILE, ENDPOINTFILE, LOGFILE and START_TIMEOUT_SECONDS and
# defining install, start and answers ENDPOINT; then `service_main "$@"`.

log() { echo "$NAME: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# running reports whether the pid in PIDFILE is a live process.
running() {
	[[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

# already_up prints the endpoint of an instance a previous start left
# running and answering, and reports whether there is one.
already_up() {
	running && [[ -f "$ENDPOINTFILE" ]] && answers "$(cat "$ENDPOINTFILE")" && cat "$ENDPOINTFILE"
}

# wait_up PID: waits until the endpoint in ENDPOINTFILE answers; dies with
# the log's tail if PID exits first or START_TIMEOUT_SECONDS pass.
wait_up() {
	local pid=$1 deadline=$((SECONDS + START_TIMEOUT_SECONDS))
	until [[ -f "$ENDPOINTFILE" ]] && answers "$(cat "$ENDPOINTFILE")"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$PIDFILE" "$ENDPOINTFILE"
			die "$NAME exited during start; its log ($LOGFILE):$(printf '\n')$(tail -n 20 "$LOGFILE" 2>/dev/null)"
		fi
		if ((SECONDS >= deadline)); then
			stop
			die "$NAME did not answer within ${START_TIMEOUT_SECONDS}s; see $LOGFILE"
		fi
		sleep 0.2
	done
	log "running at $(cat "$ENDPOINTFILE") (pid $pid)"
	cat "$ENDPOINTFILE"
}

stop() {
	if running; then
		local pid
		pid="$(cat "$PIDFILE")"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		log "stopped (pid $pid)"
	fi
	rm -f "$PIDFILE" "$ENDPOINTFILE"
}

service_main() {
	case "${1:-}" in
	install) install ;;
	start) start ;;
	stop) stop ;;
	*)
		echo "usage: $0 install|start|stop" >&2
		exit 2
		;;
	esac
}
