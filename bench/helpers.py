#!/usr/bin/env python3
"""Small helpers for bench/run (standard library only).

  helpers.py wrk FILE
      Reads one `wrk --latency` output and prints one tab-separated line:
      req_per_s  p50_ms  p99_ms  requests  non_2xx_3xx  socket_errors
  helpers.py cold-start URL -- COMMAND...
      Starts COMMAND, polls URL as fast as it can (1 ms between tries) until it answers 200, prints the
      seconds from exec to that first 200, then stops the server (SIGINT, then SIGKILL after 10 s).
  helpers.py unit-id CODE < org-units.json
      Prints the id of the unit with this code from a /api/v1/org-units answer.
  helpers.py idle SECONDS
      Prints how idle the CPUs were (percent, from /proc/stat) over the next SECONDS.
  helpers.py table RESULTS.tsv
      Prints the markdown table of a results file (backend, endpoint, clients, rps, p50, p99), each figure
      also as a ratio to /healthz measured with the same backend and client count.
"""

import http.client
import json
import re
import signal
import subprocess
import sys
import time
import urllib.parse

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"cannot read latency {text!r}")
    return float(m.group(1)) * UNITS_MS[m.group(2)]


def wrk(path):
    out = open(path, encoding="utf-8").read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rps and p50 and p99 and total):
        sys.exit(f"cannot read wrk output {path}:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(g) for g in sock.groups()) if sock else 0
    print(
        f"{float(rps.group(1)):.1f}\t{to_ms(p50.group(1)):.2f}\t{to_ms(p99.group(1)):.2f}\t"
        f"{total.group(1)}\t{int(non2xx.group(1)) if non2xx else 0}\t{errors}"
    )


def healthy(url):
    u = urllib.parse.urlsplit(url)
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=1)
        c.request("GET", u.path or "/")
        status = c.getresponse().status
        c.close()
        return status == 200
    except OSError:
        return False


def cold_start(url, command):
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        while not healthy(url):
            if proc.poll() is not None:
                sys.exit(f"server exited with {proc.returncode} before answering {url}")
            if time.perf_counter() - started > 60:
                sys.exit(f"no 200 from {url} within 60 s")
            time.sleep(0.001)
        print(f"{time.perf_counter() - started:.4f}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def unit_id(code):
    for item in json.load(sys.stdin)["items"]:
        if item.get("code") == code:
            print(item["id"])
            return
    sys.exit(f"no unit with code {code}")


def idle(seconds):
    def sample():
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    print(f"{100 * (idle1 - idle0) / max(total1 - total0, 1):.0f}")


def timed(command):
    """Runs a command; prints its wall time in seconds and its peak RSS in MiB (the child's VmHWM)."""
    import resource
    import subprocess

    start = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{command[0]} exited with {done.returncode}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{wall:.2f} {peak:.0f}")


def check(command):
    """Runs `mamori check --format json` (exit 0 or 1 are both answers); prints wall seconds, peak RSS in MiB, the
    milliseconds it spent reading the records, evaluating the checks and writing the findings, and how many
    findings it reports."""
    import json
    import resource
    import subprocess

    start = time.monotonic()
    done = subprocess.run(command, stdout=subprocess.PIPE)
    wall = time.monotonic() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{command[0]} exited with {done.returncode}")
    report = json.loads(done.stdout)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    t = report["timing_ms"]
    print(f"{wall:.2f} {peak:.0f} {t['load']} {t['evaluate']} {t['write']} {len(report['findings'])}")


def table(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path, encoding="utf-8") if line.strip()]
    health = {(r[0], r[2]): r for r in rows if r[1] == "/healthz"}
    print("| backend | endpoint | clients | req/s | p50 ms | p99 ms | req/s ÷ healthz | p50 ÷ healthz | p99 ÷ healthz |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for backend, endpoint, clients, rps, p50, p99, *_ in rows:
        h = health.get((backend, clients))
        if h:
            ratios = (
                f"{float(rps) / float(h[3]):.3f} | {float(p50) / float(h[4]):.1f}× | "
                f"{float(p99) / float(h[5]):.1f}×"
            )
        else:
            ratios = "– | – | –"
        print(f"| {backend} | `{endpoint}` | {clients} | {float(rps):,.0f} | {p50} | {p99} | {ratios} |")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "wrk":
        wrk(args[0])
    elif cmd == "cold-start":
        cold_start(args[0], args[args.index("--") + 1 :])
    elif cmd == "unit-id":
        unit_id(args[0])
    elif cmd == "idle":
        idle(float(args[0]))
    elif cmd == "timed":
        timed(args[args.index("--") + 1 :])
    elif cmd == "check":
        check(args[args.index("--") + 1 :])
    elif cmd == "table":
        table(args[0])
    else:
        sys.exit(__doc__)
