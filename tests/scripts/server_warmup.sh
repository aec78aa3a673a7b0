#!/bin/bash
# tests/scripts/server_warmup.sh — pictord's warm-up generation at load
# (config key `warmup`, docs/configuration.md) with the demo model on the CPU:
#   1. warmup = true: one "warmed up" line at the model's default size and
#      steps; /readyz answers 503 after the model is loaded and until the
#      warm-up is over, and 200 only once its line is in the log;
#   2. warmup = false, --warmup false over a file saying true, and auto (the
#      shipped etc/pictor/pictord.ini) on the CPU: no warm-up;
#   3. a warm-up that fails (a default scheduler the family cannot use) is a
#      load failure: pictord exits 1 and never reports ready;
#   4. SIGTERM during the warm-up: a clean exit 0, no failure logged.
# No timing assertions: the warm-up of a 1024x1024 image takes seconds on a
# loaded 2-core machine, so the waits are long and nothing is timed.
set -u
B=${PICTOR_BUILD:-build}
D="$B/bin/pictord"
T=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
. tests/harness/pictord.sh # fail, free_port, stop
READY_WAIT_S=900 # a generous bound for a 1024x1024 CPU warm-up on a busy machine
DEMO=$(pwd)/models/demo

# ini WARMUP_LINE [EXTRA_MODEL_LINE]: a config serving the demo model on the CPU
ini() {
    cat > "$T/pictord.ini" <<INI
[server]
devices = cpu
[modes]
realtime = demo
[model demo]
path = $DEMO
plugin = flux
steps = 2
$1
${2:-}
INI
}

# launch ARGS...: pictord in the background on a free port (no waiting)
launch() {
    PORT=$(free_port)
    URL="http://127.0.0.1:$PORT"
    "$D" "$@" --listen "127.0.0.1:$PORT" > "$T/log" 2>&1 &
    PID=$!
}
readyz() { curl -s -o /dev/null -w '%{http_code}' "$URL/readyz"; }

# wait_ready: polls /readyz until 200. Sets SAW_503_LOADED=1 when /readyz said
# 503 to a request sent after "loaded demo" was already in the log, and checks
# that a 200 never comes before the log has the warm-up line when WANT_WARMUP=1.
wait_ready() {
    SAW_503_LOADED=0
    local i
    for i in $(seq 1 $((READY_WAIT_S * 10))); do
        local loaded=0
        grep -q 'loaded demo' "$T/log" && loaded=1
        local code
        code=$(readyz)
        if [ "$code" = 200 ]; then
            # the worker logs the warm-up line before it counts itself ready
            if [ "$WANT_WARMUP" = 1 ]; then
                grep -q 'warmed up demo' "$T/log" || fail "ready before the warm-up line"
            fi
            return 0
        fi
        [ "$code" = 503 ] && [ "$loaded" = 1 ] && SAW_503_LOADED=1
        kill -0 "$PID" 2>/dev/null || fail "pictord exited: $(cat "$T/log")"
        sleep 0.1
    done
    fail "pictord not ready after $READY_WAIT_S s"
}

# ---- 1. warmup = true ------------------------------------------------------------
ini "warmup = true"
launch --config "$T/pictord.ini"
WANT_WARMUP=1 wait_ready
[ "$SAW_503_LOADED" = 1 ] || fail "/readyz never said 503 between loading and the end of the warm-up"
n=$(grep -c 'warmed up demo' "$T/log")
[ "$n" = 1 ] || fail "want one warm-up line, got $n"
# the family's default size (FLUX.1: 1024x1024) and the section's steps
grep -qE '^pictord: cpu: warmed up demo: 1024x1024, 2 steps in [0-9]+ ms$' "$T/log" ||
    fail "warm-up line: $(grep 'warmed up' "$T/log")"
# its place in the log: after loading, before "ready" (which main logs when it
# next looks, up to LOAD_POLL_MS after /readyz turned 200)
for _ in $(seq 1 100); do grep -q 'ready on' "$T/log" && break; sleep 0.1; done
line_of() { grep -n "$1" "$T/log" | head -n 1 | cut -d: -f1; }
l_load=$(line_of 'loaded demo')
l_warm=$(line_of 'warmed up demo')
l_ready=$(line_of 'ready on')
[ -n "$l_load" ] && [ -n "$l_ready" ] && [ "$l_load" -lt "$l_warm" ] &&
    [ "$l_warm" -lt "$l_ready" ] || fail "log order: $(cat "$T/log")"
stop || fail "exit status after warm-up"
echo "ok: warmup = true"

# ---- 2. warmup = false, and auto on the CPU ---------------------------------------
ini "warmup = false"
launch --config "$T/pictord.ini"
WANT_WARMUP=0 wait_ready
grep -q 'loaded demo' "$T/log" || fail "no load line: $(cat "$T/log")"
! grep -q 'warmed up' "$T/log" || fail "warmup = false warmed up: $(cat "$T/log")"
stop || fail "exit status (warmup = false)"
echo "ok: warmup = false"

ini "warmup = true" # the command line overrides the file
launch --config "$T/pictord.ini" --warmup false
WANT_WARMUP=0 wait_ready
! grep -q 'warmed up' "$T/log" || fail "--warmup false warmed up: $(cat "$T/log")"
stop || fail "exit status (--warmup false)"
"$D" --config "$T/pictord.ini" --warmup maybe > "$T/log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q -- '--warmup maybe: not auto, true or false' "$T/log" ||
    fail "--warmup maybe: status $rc: $(cat "$T/log")"
echo "ok: --warmup overrides"

launch --config etc/pictor/pictord.ini --device cpu
WANT_WARMUP=0 wait_ready
grep -q 'loaded demo' "$T/log" || fail "no load line: $(cat "$T/log")"
! grep -q 'warmed up' "$T/log" || fail "auto warmed up on the CPU: $(cat "$T/log")"
stop || fail "exit status (shipped file)"
echo "ok: warmup = auto on the CPU"

# ---- 3. a failing warm-up fails the load ---------------------------------------------
ini "warmup = true" "scheduler = euler" # epsilon-prediction: FLUX needs flow matching
launch --config "$T/pictord.ini"
wait "$PID"
rc=$?
PID=
[ "$rc" = 1 ] || fail "failed warm-up: exit status $rc, want 1: $(cat "$T/log")"
grep -q 'worker cpu: model demo: warm-up generation failed: .*euler' "$T/log" ||
    fail "no warm-up failure line: $(cat "$T/log")"
grep -q 'cannot load the models: cpu: model demo: warm-up generation failed' "$T/log" ||
    fail "no load failure line: $(cat "$T/log")"
! grep -q 'ready on' "$T/log" || fail "reported ready after a failed warm-up"
echo "ok: failed warm-up"

# ---- 4. SIGTERM while warming up ------------------------------------------------------
ini "warmup = true"
launch --config "$T/pictord.ini"
for _ in $(seq 1 $((READY_WAIT_S * 10))); do
    grep -q 'loaded demo' "$T/log" && break
    kill -0 "$PID" 2>/dev/null || fail "pictord exited: $(cat "$T/log")"
    sleep 0.1
done
grep -q 'loaded demo' "$T/log" || fail "never loaded"
[ "$(readyz)" = 503 ] || grep -q 'warmed up demo' "$T/log" || fail "ready without a warm-up"
stop || fail "SIGTERM during the warm-up: exit status $?: $(cat "$T/log")"
! grep -qE 'failed|cannot load' "$T/log" || fail "SIGTERM logged a failure: $(cat "$T/log")"
grep -q 'pictord: stopped' "$T/log" || fail "no clean stop: $(cat "$T/log")"
echo "ok: SIGTERM during the warm-up"
