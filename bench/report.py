#!/usr/bin/env python3
"""bench/run's bookkeeping: normalise each load run, then print the table and write results.json.

Subcommands (all take --out DIR, bench/out by default):
  check       exit non-zero unless a warm-up run fully succeeded
  record      append one run (oha or winrm-load output) to runs.jsonl, with the server CPU it cost
  direct-max  print the median maximum throughput of the direct target (the base of fixed rates)
  max-of      print the median maximum throughput of any target
  idle        store memory per idle TLS connection for a target
  peak        store peak RSS (VmHWM) of the servers
  meta        store the machine and the command line
  table       print the table and write results.json
"""
import argparse
import json
import os
import statistics
import sys

TARGETS = ("direct", "nginx", "gateway")
# 25/50/75: percent of the direct maximum. g50: half the gateway's own maximum, a rate all
# three targets sustain, so the added latency is measured below saturation.
LOADS = ("max", "25", "50", "75", "g50")
KINDS = {
    "rest": "REST InvokeCommand POSTs, keep-alive (oha)",
    "winrm": "WinRM Command/Receive/Signal cycles, one shell per connection (winrm-load)",
}


def extras_path(out):
    return os.path.join(out, "extras.json")


def load_extras(out):
    try:
        with open(extras_path(out)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_extras(out, key, value):
    extras = load_extras(out)
    extras[key] = {**extras.get(key, {}), **value} if isinstance(value, dict) else value
    with open(extras_path(out), "w") as f:
        json.dump(extras, f, indent=1)


def normalise(raw, kind):
    """Throughput of successful units, latency percentiles in ms, and the HTTP request count."""
    if kind == "rest":
        statuses = raw.get("statusCodeDistribution", {})
        # oha cuts the requests in flight when the duration ends; those are not failures.
        failures = {k: v for k, v in raw.get("errorDistribution", {}).items() if k != "aborted due to deadline"}
        ok = statuses.get("200", 0)
        total_requests = sum(statuses.values())
        seconds = raw["summary"]["total"]
        pct = raw["latencyPercentiles"]
        ms = lambda key: (pct.get(key) or 0.0) * 1000.0
        return {
            "throughput": ok / seconds,
            "units": ok,
            "http_requests": total_requests,
            "errors": total_requests - ok + sum(failures.values()),
            "error_detail": {**{k: v for k, v in statuses.items() if k != "200"}, **failures},
            "p50": ms("p50"), "p99": ms("p99"), "p99_9": ms("p99.9"),
            "seconds": seconds,
        }
    lat = raw["latency_ms"]
    return {
        "throughput": raw["throughput"],
        "units": raw["cycles"],
        "http_requests": raw["requests"],
        "errors": raw["errors"],
        "error_detail": raw.get("first_error"),
        "p50": lat["p50"], "p99": lat["p99"], "p99_9": lat["p99_9"],
        "seconds": raw["duration_s"],
    }


def cmd_record(a):
    with open(a.raw) as f:
        raw = json.load(f)
    run = {"kind": a.kind, "target": a.target, "load": a.load, "rate": float(a.rate), "round": a.round}
    run.update(normalise(raw, a.kind))
    run["cpu_s"] = a.cpu_ticks / a.clk_tck
    run["mock_cpu_s"] = a.mock_ticks / a.clk_tck
    run["loadavg"] = open("/proc/loadavg").read().split()[0]
    with open(os.path.join(a.out, "runs.jsonl"), "a") as f:
        f.write(json.dumps(run) + "\n")
    rate = "" if a.load == "max" else f" at {float(a.rate):.0f}/s"
    print(f"  {a.kind:5} {a.target:7} {a.load:>3}{rate}: {run['throughput']:9.0f}/s  p50 {run['p50']:7.2f}  "
          f"p99 {run['p99']:7.2f}  p99.9 {run['p99_9']:7.2f} ms  errors {run['errors']}", file=sys.stderr)


def read_runs(out):
    path = os.path.join(out, "runs.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cmd_max_of(a):
    target = getattr(a, "target", "direct")
    values = [r["throughput"] for r in read_runs(a.out)
              if r["kind"] == a.kind and r["target"] == target and r["load"] == "max"]
    if not values:
        sys.exit(f"no {target} max run recorded for {a.kind}")
    print(f"{statistics.median(values):.0f}")


def cmd_check(a):
    """Fail unless a warm-up run succeeded completely: nothing is measured through a broken path."""
    with open(a.raw) as f:
        run = normalise(json.load(f), a.kind)
    if run["units"] == 0 or run["errors"]:
        sys.exit(f"{a.kind} through {a.target}: {run['units']} succeeded, {run['errors']} failed: {run['error_detail']}")


def cmd_idle(a):
    per_conn = (a.after_kib - a.before_kib) * 1024 / a.held if a.held else None
    save_extras(a.out, "idle_tls", {a.target: {
        "connections_wanted": a.wanted, "connections_held": a.held,
        "rss_before_kib": a.before_kib, "rss_after_kib": a.after_kib,
        "bytes_per_connection": per_conn, "client_report": a.failures.strip()}})


def cmd_peak(a):
    save_extras(a.out, "peak_rss_kib", dict(kv.split("=", 1) for kv in a.values))


def cmd_meta(a):
    save_extras(a.out, "meta", json.loads(a.json))


def median_row(runs):
    med = lambda key: statistics.median(r[key] for r in runs)
    reqs = sum(r["http_requests"] for r in runs)
    return {
        "rate": runs[0]["rate"], "rounds": len(runs),
        "throughput": med("throughput"), "p50": med("p50"), "p99": med("p99"), "p99_9": med("p99_9"),
        "errors": sum(r["errors"] for r in runs),
        "cpu_s_per_10k_requests": sum(r["cpu_s"] for r in runs) / reqs * 10_000 if reqs else None,
        "throughput_spread": [min(r["throughput"] for r in runs), max(r["throughput"] for r in runs)],
    }


def summarise(runs):
    rows = {}
    for kind in KINDS:
        for load in LOADS:
            for target in TARGETS:
                sel = [r for r in runs if (r["kind"], r["load"], r["target"]) == (kind, load, target)]
                if sel:
                    rows.setdefault(kind, {}).setdefault(load, {})[target] = median_row(sel)
    ratios = {}
    for kind, by_load in rows.items():
        mx, half, below = by_load.get("max", {}), by_load.get("50", {}), by_load.get("g50", {})
        r = {}
        if "gateway" in mx and "nginx" in mx:
            r["gateway_over_nginx_throughput"] = mx["gateway"]["throughput"] / mx["nginx"]["throughput"]
        if "gateway" in half and "direct" in half:
            r["gateway_added_p99_ms_at_50pct"] = half["gateway"]["p99"] - half["direct"]["p99"]
        if "nginx" in half and "direct" in half:
            r["nginx_added_p99_ms_at_50pct"] = half["nginx"]["p99"] - half["direct"]["p99"]
        if "gateway" in below and "direct" in below:
            r["gateway_added_p99_ms_at_half_gateway_max"] = below["gateway"]["p99"] - below["direct"]["p99"]
            r["half_gateway_max_rate"] = below["gateway"]["rate"]
        if "nginx" in below and "direct" in below:
            r["nginx_added_p99_ms_at_half_gateway_max"] = below["nginx"]["p99"] - below["direct"]["p99"]
        if "gateway" in mx:
            r["gateway_cpu_s_per_10k_requests"] = mx["gateway"]["cpu_s_per_10k_requests"]
        if "nginx" in mx:
            r["nginx_cpu_s_per_10k_requests"] = mx["nginx"]["cpu_s_per_10k_requests"]
        ratios[kind] = r
    return rows, ratios


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(rows, ratios, extras):
    unit = {"rest": "req/s", "winrm": "cycles/s"}
    for kind, by_load in rows.items():
        print(f"\n{KINDS[kind]}")
        print(f"  {'load':<14} {'target':<8} {unit[kind]:>10} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'errors':>7}")
        for load in LOADS:
            for target in TARGETS:
                row = by_load.get(load, {}).get(target)
                if not row:
                    continue
                if load == "max":
                    label = "max"
                elif load == "g50":
                    label = f"50%gw ({row['rate']:.0f}/s)"
                else:
                    label = f"{load}% ({row['rate']:.0f}/s)"
                print(f"  {label:<14} {target:<8} {row['throughput']:>10.0f} {row['p50']:>8.2f} "
                      f"{row['p99']:>8.2f} {row['p99_9']:>9.2f} {row['errors']:>7}")
    print("\nSummary")
    for kind, r in ratios.items():
        print(f"  {kind}: gateway/nginx throughput at max          {fmt(r.get('gateway_over_nginx_throughput'), '.2f')}x  (target >= 1.0x)")
        print(f"  {kind}: gateway-added p99 over direct at 50%      {fmt(r.get('gateway_added_p99_ms_at_50pct'), '+.2f')} ms  "
              f"(nginx {fmt(r.get('nginx_added_p99_ms_at_50pct'), '+.2f')} ms; target < 1 ms)")
        print(f"  {kind}: added p99 over direct at 50% of gateway max {fmt(r.get('gateway_added_p99_ms_at_half_gateway_max'), '+.2f')} ms  "
              f"(nginx {fmt(r.get('nginx_added_p99_ms_at_half_gateway_max'), '+.2f')} ms; "
              f"{fmt(r.get('half_gateway_max_rate'), '.0f')}/s, below every target's maximum)")
        print(f"  {kind}: CPU seconds per 10,000 requests at max    gateway {fmt(r.get('gateway_cpu_s_per_10k_requests'), '.3f')}  "
              f"nginx {fmt(r.get('nginx_cpu_s_per_10k_requests'), '.3f')}")
    for name, kib in extras.get("peak_rss_kib", {}).items():
        print(f"  peak RSS (VmHWM) {name:<26} {int(kib) / 1024:8.1f} MiB")
    for target, idle in extras.get("idle_tls", {}).items():
        per = idle.get("bytes_per_connection")
        print(f"  idle TLS connection, {target:<8} {fmt(per / 1024 if per is not None else None, '8.1f')} KiB each "
              f"at {idle['connections_held']} open  (target < 64 KiB)")


def cmd_table(a):
    runs = read_runs(a.out)
    extras = load_extras(a.out)
    rows, ratios = summarise(runs)
    print_table(rows, ratios, extras)
    results = {"meta": extras.get("meta", {}), "rows": rows, "summary": ratios,
               "peak_rss_kib": extras.get("peak_rss_kib", {}), "idle_tls": extras.get("idle_tls", {}),
               "runs": runs}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwritten: {os.path.join(a.out, 'results.json')}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    for name in ("raw", "kind", "target", "load", "rate"):
        r.add_argument(f"--{name}", required=True)
    r.add_argument("--round", type=int, required=True)
    r.add_argument("--cpu-ticks", type=int, required=True)
    r.add_argument("--mock-ticks", type=int, required=True)
    r.add_argument("--clk-tck", type=int, required=True)
    c = sub.add_parser("check")
    for name in ("raw", "kind", "target"):
        c.add_argument(f"--{name}", required=True)
    d = sub.add_parser("direct-max")
    d.add_argument("--kind", required=True)
    x = sub.add_parser("max-of")
    x.add_argument("--kind", required=True)
    x.add_argument("--target", required=True, choices=TARGETS)
    i = sub.add_parser("idle")
    i.add_argument("--target", required=True)
    for name in ("before-kib", "after-kib", "held", "wanted"):
        i.add_argument(f"--{name}", type=int, required=True)
    i.add_argument("--failures", default="")
    k = sub.add_parser("peak")
    k.add_argument("values", nargs="*", help="name=KiB")
    m = sub.add_parser("meta")
    m.add_argument("--json", required=True)
    sub.add_parser("table")
    for s in (r, d, x, i, k, m, sub.choices["table"]):
        s.add_argument("--out", default="bench/out")
    a = p.parse_args()
    {"record": cmd_record, "check": cmd_check, "direct-max": cmd_max_of, "max-of": cmd_max_of, "idle": cmd_idle, "peak": cmd_peak,
     "meta": cmd_meta, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    main()
