# bench/run, part 1: tools, build, certificates, and the three servers under test.
# Sourced by bench/run; every function uses the globals that bench/run sets.

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Run a load generator in the foreground, pinned to the client CPUs.
on_client() { if [[ -n $CLIENT_CPUS ]]; then taskset -c "$CLIENT_CPUS" "$@"; else "$@"; fi; }
# Replace the current (sub)shell with a pinned program. Background servers start as
# `(pinned CPUS prog ...) &`, so `$!` is the server's own PID: the one whose CPU and memory
# are read, and the one stopped at the end.
pinned() {
    local cpus=$1
    shift
    if [[ -n $cpus ]]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

install_tools() {
    command -v python3 >/dev/null || die "python3 is needed for the report (apt-get install -y python3)"
    command -v taskset >/dev/null || die "taskset is needed (apt-get install -y util-linux)"
    if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
        log "installing nginx from Debian"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    fi
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    OHA=$(command -v oha || echo "$HOME/.cargo/bin/oha")
    if [[ ! -x $OHA ]]; then
        log "installing oha (crates.io; cached in ~/.cargo/bin afterwards)"
        cargo install oha --locked --quiet
        OHA="$HOME/.cargo/bin/oha"
    fi
    log "tools: $("$NGINX" -v 2>&1), $("$OHA" --version)"
}

build() {
    log "building the release binary and winrm-load"
    (cd "$ROOT" && cargo build --release --quiet --bin runspace-gateway)
    (cd "$HERE/winrm-load" && cargo build --release --quiet)
    BIN="$ROOT/target/release/runspace-gateway"
    LOADER="$HERE/winrm-load/target/release/winrm-load"
}

make_certs() {
    local dir="$OUT/certs"
    mkdir -p "$dir"
    "$BIN" certs --out "$dir" --host localhost --loopback >"$OUT/certs.log" 2>&1 \
        || die "runspace-gateway certs failed: $(cat "$OUT/certs.log")"
    CA="$dir/ca.pem"
    CERT="$dir/server.pem"
    KEY="$dir/server.key"
    for f in "$CA" "$CERT" "$KEY"; do [[ -f $f ]] || die "certs did not write $f (see $OUT/certs.log)"; done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until something accepts TCP connections on host:port.
wait_port() {
    local addr=$1 what=$2
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; h,p='$addr'.rsplit(':',1); socket.create_connection((h,int(p)),0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$what did not start listening on $addr"
}

# Wait for a server's `listening on ADDR` line on stdout and print ADDR.
wait_announce() {
    local file=$1 pid=$2 what=$3 addr
    for _ in $(seq 1 300); do
        addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p' "$file" | head -n1)
        [[ -n $addr ]] && { echo "$addr"; return 0; }
        kill -0 "$pid" 2>/dev/null || die "$what exited: $(tail -n5 "${file%.out}.err")"
        sleep 0.1
    done
    die "$what never printed 'listening on ADDR'"
}

start_mock() {
    (pinned "$SERVER_CPUS" "$BIN" mock-upstream --listen 127.0.0.1:0 --threads 1) \
        >"$OUT/mock.out" 2>"$OUT/mock.err" &
    MOCK_PID=$!
    MOCK=$(wait_announce "$OUT/mock.out" "$MOCK_PID" mock-upstream)
    log "mock endpoint on http://$MOCK (pid $MOCK_PID)"
}

render() { # template output: fill in the @...@ values
    sed -e "s|@OUT@|$OUT|g" -e "s|@MOCK@|$MOCK|g" -e "s|@NGINX@|${NGINX_ADDR:-}|g" \
        -e "s|@GATEWAY@|${GATEWAY_ADDR:-}|g" -e "s|@CERT@|$CERT|g" -e "s|@KEY@|$KEY|g" "$1" >"$2"
}

start_nginx() {
    NGINX_ADDR=127.0.0.1:$(free_port)
    mkdir -p "$OUT/nginx-tmp"
    render "$HERE/nginx.conf.in" "$OUT/nginx.conf"
    (pinned "$SERVER_CPUS" "$NGINX" -c "$OUT/nginx.conf" -p "$OUT") >"$OUT/nginx.out" 2>&1 &
    NGINX_PID=$!
    wait_port "$NGINX_ADDR" nginx
    NGINX_WORKER=$(pgrep -P "$NGINX_PID" | head -n1)
    [[ -n $NGINX_WORKER ]] || die "nginx has no worker process (see $OUT/nginx-error.log)"
    log "nginx on https://$NGINX_ADDR (master $NGINX_PID, worker $NGINX_WORKER)"
}

start_gateway() {
    rm -f "$OUT/gateway.db" "$OUT/gateway.db-wal" "$OUT/gateway.db-shm" "$OUT/audit.jsonl"
    GATEWAY_ADDR=127.0.0.1:0
    render "$HERE/gateway.toml.in" "$OUT/gateway.toml"
    (export RUST_LOG=${RUST_LOG:-warn}; pinned "$SERVER_CPUS" "$BIN" serve --config "$OUT/gateway.toml") \
        >"$OUT/gateway.out" 2>"$OUT/gateway.err" &
    GATEWAY_PID=$!
    GATEWAY_ADDR=$(wait_announce "$OUT/gateway.out" "$GATEWAY_PID" gateway)
    log "gateway on https://$GATEWAY_ADDR (pid $GATEWAY_PID)"
}

stop() { # pid...: stop processes this script started, and wait for them
    local pid
    for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# Stop every background job this script started (and only those).
cleanup() {
    local jobs_left
    jobs_left=$(jobs -p)
    [[ -n $jobs_left ]] && stop $jobs_left
    return 0
}
