# tests/harness/pictord.sh — sourced by the server script tests
# (tests/scripts/server_*.sh): start pictord on a free loopback port and
# wait for /readyz, stop it, fail with its log. The caller sets D (the
# pictord binary) and T (a scratch folder; pictord's log is $T/log).

fail() { echo "FAIL: $*"; [ -f "$T/log" ] && tail -n 20 "$T/log"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() { # args... ; sets PID, PORT, URL
    PORT=$(free_port)
    URL="http://127.0.0.1:$PORT"
    "$D" "$@" --listen "127.0.0.1:$PORT" > "$T/log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ] && return 0
        kill -0 "$PID" 2>/dev/null || fail "pictord exited: $(cat "$T/log")"
        sleep 0.1
    done
    fail "pictord not ready after 10 s"
}
stop() { kill -TERM "$PID"; wait "$PID"; local rc=$?; PID=; return $rc; }
