#!/usr/bin/env bash
# End-to-end suite: the real pypsrp client through the gateway's TLS to the mock endpoint.
# Creates tests/e2e/.venv on first use, builds the binary, runs pytest. Exits non-zero on failure.
# Extra arguments go to pytest (e.g. `tests/e2e/run.sh -k unicode -x`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

(cd "$root" && cargo build --quiet --bin runspace-gateway)
export RUNSPACE_GATEWAY_BIN="${RUNSPACE_GATEWAY_BIN:-$root/target/debug/runspace-gateway}"

# Optional second client (psrp-rs from crates.io), a separate crate so its dependencies are
# only built on request.
if [ "${E2E_PSRP_RS:-0}" = "1" ]; then
    (cd "$root/tests/psrp_rs" && cargo build --quiet --locked)
    export PSRP_RS_CLIENT="$root/tests/psrp_rs/target/debug/psrp-rs-e2e-client"
fi

cd "$here"
exec "$venv/bin/python" -m pytest -q "$@"
