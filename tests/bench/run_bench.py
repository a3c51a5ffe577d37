#!/usr/bin/env python3
"""`make bench`: runs the scheduling-core benchmark, the baselines (fdatasync rate, thread
wake-up round trip, bare Beast HTTP server) and the end-to-end load against oshin-server in one go, prints a table of every
issue-8 target beside its figure, and writes <out-dir>/results.json (docs/PERFORMANCE.md)."""

import argparse
import json
import os
import subprocess
import sys
import time


def log(msg):
    print(f"[bench] {msg}", flush=True)


def dispatch_bench(bin_dir, out_dir):
    path = os.path.join(out_dir, "dispatch.json")
    subprocess.run([os.path.join(bin_dir, "oshin_dispatch_bench"),
                    "--benchmark_counters_tabular=true",
                    f"--benchmark_out={path}", "--benchmark_out_format=json"], check=True)
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data.get("benchmarks", []):
        if b["name"].startswith("decision/"):
            out[b["name"]] = {k: b[k] for k in ("p99_us", "cpu_p99_us") if k in b}
    return out


def fsync_probe(bin_dir, out_dir):
    tmp = os.path.join(out_dir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    r = subprocess.run([os.path.join(bin_dir, "oshin_fsync_probe"), tmp, "3"],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)


def wake_probe(bin_dir):
    r = subprocess.run([os.path.join(bin_dir, "oshin_wake_probe")],
                       check=True, capture_output=True, text=True)
    return json.loads(r.stdout)


def bare_beast(bin_dir, args, conns):
    server = subprocess.Popen([os.path.join(bin_dir, "oshin_bare_http"), "2"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = line.strip().rsplit(":", 1)[1]
        r = subprocess.run([os.path.join(bin_dir, "oshin_loadgen"), "--mode", "get",
                            "--port", port, "--target", "/",
                            "--get-conns", str(conns),
                            "--get-seconds", str(args.get_seconds)],
                           check=True, capture_output=True, text=True)
        return json.loads(r.stdout)
    finally:
        server.terminate()
        server.wait()


def loadgen(bin_dir, out_dir, args):
    path = os.path.join(out_dir, "loadgen.json")
    cmd = [os.path.join(bin_dir, "oshin_loadgen"), "--mode", "full", "--out", path,
           "--rate", str(args.rate), "--seconds", str(args.seconds),
           "--get-conns", str(args.get_conns), "--get-conns-more", str(args.get_conns_more),
           "--get-seconds", str(args.get_seconds),
           "--fill-visits", str(args.fill_visits)]
    log(" ".join(cmd))
    subprocess.run(cmd, check=True)
    with open(path) as f:
        return json.load(f)


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        v = f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{v}{unit}"


def table(r):
    fs = r.get("fdatasyncPerSec", 0)
    bare = r.get("bareBeastReqPerSec", 0)
    rows = [
        ("POST→offer at doctor's socket p50", r.get("e2eP50Ms"), " ms", "≤ 1 ms",
         r.get("e2eP50Ms", 1e9) <= 1),
        ("POST→offer at doctor's socket p99", r.get("e2eP99Ms"), " ms", "≤ 5 ms",
         r.get("e2eP99Ms", 1e9) <= 5),
        ("  at arrival rate (created/s)", r.get("e2eRate"), "/s", "500/s",
         r.get("e2eRate", 0) >= 0.98 * r.get("e2eTargetRate", 500)),
        ("  POST→201 p50 / p99", f"{fmt(r.get('postP50Ms'))} / {fmt(r.get('postP99Ms'))}",
         " ms", "-", None),
        ("  offer after 201 p99", r.get("offerPushP99Ms"), " ms", "-", None),
        ("durable state changes/s", r.get("durableCommitsPerSec"), "/s",
         f"≥ 0.75 × {fmt(fs)} = {fmt(0.75 * fs)}", r.get("durableCommitsPerSec", 0) >= 0.75 * fs),
        ("fdatasync/s (baseline)", fs, "/s", "-", None),
        ("thread wake-up round trip p50, busy / idle CPU (baseline)",
         f"{fmt(r.get('wakeRoundTripBusyUs'))} / {fmt(r.get('wakeRoundTripIdleUs'))}", " µs", "-",
         None),
        ("authenticated GET /v1/visits/{id}", r.get("getReqPerSec"), " req/s",
         f"≥ 0.30 × {fmt(bare)} = {fmt(0.3 * bare)}", r.get("getReqPerSec", 0) >= 0.3 * bare),
        ("  GET p99", r.get("getP99Ms"), " ms", "≤ 2 ms", r.get("getP99Ms", 1e9) <= 2),
        ("bare Beast GET (baseline)", bare, " req/s", "-", None),
        (f"  same GET over {r.get('getMoreConnections', '-')} connections",
         f"{fmt(r.get('getMoreReqPerSec'))} vs bare {fmt(r.get('bareBeastMoreReqPerSec'))}, "
         f"p99 {fmt(r.get('getMoreP99Ms'))} ms", "", "-", None),
        ("stream connections held", r.get("wsConnections"), "", "≥ 1,000",
         r.get("wsConnections", 0) >= 1000),
        ("fan-out to 5 recipients p99", r.get("wsFanoutP99Ms"), " ms", "≤ 1 ms",
         r.get("wsFanoutP99Ms", 1e9) <= 1),
        ("  POST→last of 5 recipients p99", r.get("wsPostToLastRecipientP99Ms"), " ms", "-",
         None),
        (f"RSS after {fmt(r.get('visitsStored'))} visits", r.get("rssMb"), " MB", "≤ 200 MB",
         r.get("rssMb", 1e9) <= 200 and r.get("visitsStored", 0) >= 100000),
    ]
    lines = ["| measure | figure | target | met |", "|---|---|---|---|"]
    if r.get("error"):
        lines.insert(0, f"load generator stopped early: {r['error']}\n")
    for name, v, unit, target, ok in rows:
        met = "" if ok is None else ("yes" if ok else "NO")
        lines.append(f"| {name} | {fmt(v, unit)} | {target} | {met} |")
    for name, d in sorted(r.get("dispatch", {}).items()):
        lines.append(f"| core {name} cpu p99 | {fmt(d.get('cpu_p99_us'), ' µs')} | "
                     f"(issue 3) | |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--rate", type=float, default=500)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--get-conns", type=int, default=8)
    p.add_argument("--get-conns-more", type=int, default=32)
    p.add_argument("--get-seconds", type=float, default=5)
    p.add_argument("--fill-visits", type=int, default=100000)
    p.add_argument("--skip-core", action="store_true")
    args = p.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    started = time.time()
    results = {"loadAverageAtStart": os.getloadavg()}
    if not args.skip_core:
        log("scheduling core (oshin_dispatch_bench)")
        results["dispatch"] = dispatch_bench(args.bin_dir, args.out_dir)
    # Dirty pages of the build (or of anything else) are written back first, so that neither the
    # fdatasync baseline nor the server's commits queue behind that writeback.
    os.sync()
    log("baseline: fdatasync rate")
    results.update(fsync_probe(args.bin_dir, args.out_dir))
    log("baseline: thread wake-up round trip")
    results.update(wake_probe(args.bin_dir))
    log("baseline: bare Beast HTTP server")
    bare = bare_beast(args.bin_dir, args, args.get_conns)
    results["bareBeastReqPerSec"] = bare["reqPerSec"]
    results["bareBeastP99Ms"] = bare["p99Ms"]
    if args.get_conns_more > 0:
        more = bare_beast(args.bin_dir, args, args.get_conns_more)
        results["bareBeastMoreReqPerSec"] = more["reqPerSec"]
        results["bareBeastMoreP99Ms"] = more["p99Ms"]
    log("end-to-end load against oshin-server")
    results.update(loadgen(args.bin_dir, args.out_dir, args))
    results["loadAverage"] = os.getloadavg()
    results["nproc"] = os.cpu_count()
    results["benchSeconds"] = round(time.time() - started, 1)
    path = os.path.join(args.out_dir, "results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    print()
    print(table(results))
    print()
    log(f"wrote {path} in {results['benchSeconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
