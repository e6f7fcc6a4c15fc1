# bench/run, part 2: one load run against one target, with the server's CPU read around it.
# Sourced by bench/run.

REST_PATH=/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand
REST_BODY='{"CmdletInput":{"CmdletName":"Get-Mailbox","Parameters":{"Identity":"bench-user","ResultSize":"Unlimited"}}}'
BENCH_USER=alice@contoso.com
AUTH="Basic $(printf '%s:%s' "$BENCH_USER" bench | base64 -w0)"

# utime+stime in clock ticks, summed over the given processes (all their threads).
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# The process whose CPU a target's row reports: the proxy itself (the endpoint for direct).
proxy_pid() {
    case $1 in
        direct) echo "$MOCK_PID" ;;
        nginx) echo "$NGINX_WORKER" ;;
        gateway) echo "$GATEWAY_PID" ;;
    esac
}

base_url() {
    case $1 in
        direct) echo "http://$MOCK" ;;
        nginx) echo "https://$NGINX_ADDR" ;;
        gateway) echo "https://$GATEWAY_ADDR" ;;
    esac
}

# run_load KIND TARGET LOAD RATE ROUND SECONDS [record]: KIND rest|winrm, LOAD max|25|50|75|g50.
run_load() {
    local kind=$1 target=$2 load=$3 rate=$4 round=$5 secs=$6 mode=${7:-record}
    local raw="$OUT/raw/$kind-$target-$load-$round.json"
    local pid cpu0 cpu1 mock0 mock1
    pid=$(proxy_pid "$target")
    cpu0=$(cpu_ticks "$pid")
    mock0=$(cpu_ticks "$MOCK_PID")
    if [[ $kind == rest ]]; then
        local args=(-z "${secs}s" -c "$REST_CONNS" --no-tui --output-format json --insecure
            -m POST -H "Content-Type: application/json" -H "Authorization: $AUTH" -d "$REST_BODY")
        [[ $load != max ]] && args+=(-q "$rate" --latency-correction)
        on_client "$OHA" "${args[@]}" "$(base_url "$target")$REST_PATH" >"$raw" 2>"$raw.err" \
            || die "oha failed against $target: $(tail -n3 "$raw.err")"
    else
        local args=(winrm --url "$(base_url "$target")/wsman" --ca "$CA" --server-name localhost
            --connections "$WINRM_CONNS" --duration "$secs" --warmup 1)
        [[ $load != max ]] && args+=(--rate "$rate")
        on_client "$LOADER" "${args[@]}" >"$raw" 2>"$raw.err" \
            || die "winrm-load failed against $target: $(tail -n3 "$raw.err")"
    fi
    cpu1=$(cpu_ticks "$pid")
    mock1=$(cpu_ticks "$MOCK_PID")
    [[ $mode == record ]] || return 0
    python3 "$HERE/report.py" record --out "$OUT" --raw "$raw" --kind "$kind" --target "$target" \
        --load "$load" --rate "$rate" --round "$round" --cpu-ticks $((cpu1 - cpu0)) \
        --mock-ticks $((mock1 - mock0)) --clk-tck "$(getconf CLK_TCK)"
}

# A target order that rotates each round, so no target always runs first or last.
round_order() {
    local r=$1 t=(direct nginx gateway)
    echo "${t[$((r % 3))]} ${t[$(((r + 1) % 3))]} ${t[$(((r + 2) % 3))]}"
}

# The median throughput of a kind's direct max runs: the base of the fixed rates.
direct_max() {
    python3 "$HERE/report.py" direct-max --out "$OUT" --kind "$1"
}

# max_of KIND TARGET: the median throughput of a target's max runs.
max_of() {
    python3 "$HERE/report.py" max-of --out "$OUT" --kind "$1" --target "$2"
}

# Memory per idle TLS connection: RSS of the process holding them, before and with N open.
idle_connections() {
    local target=$1 pid before after held
    pid=$(proxy_pid "$target")
    before=$(status_kib "$pid" VmRSS)
    (pinned "$CLIENT_CPUS" "$LOADER" hold --url "$(base_url "$target")/" --ca "$CA" --server-name localhost \
        --connections "$IDLE_CONNS" --hold 600) >"$OUT/raw/hold-$target.json" 2>"$OUT/raw/hold-$target.err" &
    local hold_pid=$!
    for _ in $(seq 1 1200); do
        grep -q '^holding' "$OUT/raw/hold-$target.err" 2>/dev/null && break
        kill -0 "$hold_pid" 2>/dev/null || die "winrm-load hold exited: $(cat "$OUT/raw/hold-$target.err")"
        sleep 0.25
    done
    held=$(sed -n 's/^holding \([0-9]*\) .*/\1/p' "$OUT/raw/hold-$target.err")
    [[ -n $held ]] || die "winrm-load hold never reported its connections"
    sleep 2 # let the server finish accepting and settle
    after=$(status_kib "$pid" VmRSS)
    stop "$hold_pid"
    python3 "$HERE/report.py" idle --out "$OUT" --target "$target" --before-kib "$before" \
        --after-kib "$after" --held "$held" --wanted "$IDLE_CONNS" \
        --failures "$(cat "$OUT/raw/hold-$target.err")"
}
