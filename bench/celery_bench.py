#!/usr/bin/python3
"""celery_bench.py [ROUNDS] - remote tools: tooldag run + 4 tooldag workers against Celery with
4 workers, on one Redis server on loopback.

Run from the repository root after `cmake --workflow --preset default`; needs redis-server and
python3-celery (Debian). Starts its own redis-server on a free loopback port (no persistence)
and stops it, and every worker, at the end. Each round runs every case once, tooldag and Celery
in turn; the tables quote medians over the rounds.

Cases, each with 4 workers taking one call at a time (tooldag worker -j 1, celery worker -c 1):
  noop:    10,000 no-op calls (tooldag: builtin echo; Celery: a task returning its argument);
  sleep50: 1,000 calls of a 50 ms tool (tooldag: builtin sleep; Celery: time.sleep(0.05)).
Throughput is calls over the wall time from the first submission to the last result. Latency
is per call from its submission to its result: for tooldag the run report's start_ms (queued
on Redis) to end_ms (answer read); for Celery apply_async() to the result's arrival
(ResultSet.join_native's callback). Every call is submitted at once (tooldag: concurrency
10000). The same batches also run locally (`tooldag run`, no remote:, concurrency 4) for the
overhead a remote call adds.
"""
import gc, json, os, signal, socket, statistics, subprocess, sys, tempfile, time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ROOT = os.getcwd()
TOOLDAG = os.path.join(ROOT, "build", "tooldag")
TMP = tempfile.mkdtemp(prefix="celery-bench-")
CASES = [("noop", 10000, "{builtin: echo}", {}), ("sleep50", 1000, "{builtin: sleep}", {"ms": 50})]
WORKERS = 4
procs = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_redis():
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--dir", TMP, "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return "redis://127.0.0.1:%d" % port
        except OSError:
            time.sleep(0.02)
    raise SystemExit("redis-server did not start")


def flush(url):
    subprocess.run(["redis-cli", "-u", url, "FLUSHALL"], stdout=subprocess.DEVNULL, check=True)


def graph(url, name, tool, remote):
    path = os.path.join(TMP, "%s-%s.yaml" % (name, "remote" if remote else "local"))
    if remote:
        tool = tool[:-1] + ', remote: {redis: "%s", queue: bench}}' % url
    with open(path, "w") as f:
        f.write("version: 1\nconcurrency: %d\ntools:\n  %s: %s\n" %
                (10000 if remote else WORKERS, name, tool))
    return path


def batch(name, n, inp):
    path = os.path.join(TMP, name + ".json")
    with open(path, "w") as f:
        json.dump([{"type": "tool_use", "id": "c%d" % i, "name": name, "input": dict(inp, i=i)}
                   for i in range(n)], f)
    return path


def run_tooldag(g, calls, n):
    rep = os.path.join(TMP, "report.json")
    t0 = time.monotonic()
    out = subprocess.run([TOOLDAG, "run", "--report", rep, g, calls], capture_output=True,
                         check=True)
    wall = time.monotonic() - t0
    res = json.loads(out.stdout)["content"]
    assert len(res) == n and not any(r.get("is_error") for r in res), "tooldag: failed calls"
    with open(rep) as f:
        lat = [c["end_ms"] - c["start_ms"] for c in json.load(f)["calls"]]
    return wall, lat


def tooldag_workers(g):
    ws = [subprocess.Popen([TOOLDAG, "worker", g, "-j", "1", "--name", "b%d" % i],
                           stderr=subprocess.DEVNULL) for i in range(WORKERS)]
    procs.extend(ws)
    time.sleep(0.5)  # joined their group
    return ws


def celery_workers(url):
    env = dict(os.environ, TD_BENCH_REDIS=url, PYTHONPATH=os.path.join(ROOT, "bench"))
    ws = [subprocess.Popen(["/usr/bin/python3", "-m", "celery", "-A", "celery_tasks", "worker",
                            "-c", "1", "-n", "b%d@%%h" % i, "--without-gossip",
                            "--without-mingle", "--without-heartbeat", "-l", "ERROR"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True) for i in range(WORKERS)]
    procs.extend(ws)
    import celery_tasks
    for _ in range(300):  # every worker answers a ping: connected and consuming
        if len(celery_tasks.app.control.ping(timeout=0.5)) >= WORKERS:
            return ws
    raise SystemExit("celery workers did not start")


def stop(ws):
    """SIGTERM (tooldag: drain; Celery: warm shutdown of the process group), SIGKILL after 10 s."""
    for w in ws:
        try:
            if w.args[0].endswith("python3"):
                os.killpg(w.pid, signal.SIGTERM)
            else:
                w.terminate()
        except ProcessLookupError:
            pass
    for w in ws:
        try:
            w.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(w.pid, signal.SIGKILL) if w.args[0].endswith("python3") else w.kill()
            w.wait()


def run_celery(name, n, inp):
    from celery.result import ResultSet
    import celery_tasks
    task = getattr(celery_tasks, name)
    sent, got = {}, {}
    t0 = time.monotonic()
    results = []
    for i in range(n):
        r = task.apply_async((i,))
        sent[r.id] = time.monotonic()
        results.append(r)

    def arrived(task_id, value):
        got[task_id] = time.monotonic()

    ResultSet(results).join_native(callback=arrived, timeout=600)
    wall = max(got.values()) - t0
    assert len(got) == n, "celery: %d of %d results" % (len(got), n)
    del results[:]  # their __del__ talks to Redis: now, while it runs
    gc.collect()
    return wall, [(got[k] - sent[k]) * 1000 for k in sent]


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    url = start_redis()
    os.environ["TD_BENCH_REDIS"] = url
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    rows = {}
    try:
        for rnd in range(ROUNDS):
            for name, n, tool, inp in CASES:
                calls = batch(name, n, inp)
                g = graph(url, name, tool, True)
                flush(url)
                ws = tooldag_workers(g)
                rows.setdefault((name, "tooldag"), []).append(run_tooldag(g, calls, n))
                stop(ws)
                flush(url)
                ws = celery_workers(url)
                rows.setdefault((name, "celery"), []).append(run_celery(name, n, inp))
                stop(ws)
                wall, _ = run_tooldag(graph(url, name, tool, False), calls, n)
                rows.setdefault((name, "local"), []).append((wall, [0]))
                print("round %d %s done" % (rnd + 1, name), file=sys.stderr)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for p in procs:  # a Celery worker's pool processes, in its own process group
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    print("| case | system | calls/s | wall (s) | p50 latency (ms) | p99 latency (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, n, _, _ in CASES:
        for who in ("tooldag", "celery"):
            r = rows[(name, who)]
            wall = statistics.median(x[0] for x in r)
            p50 = statistics.median(pct(x[1], 0.50) for x in r)
            p99 = statistics.median(pct(x[1], 0.99) for x in r)
            print("| %s (%d) | %s | %.0f | %.2f | %.1f | %.1f |" % (name, n, who, n / wall, wall,
                                                               p50, p99))
    for name, n, _, _ in CASES:
        t = statistics.median(x[0] for x in rows[(name, "tooldag")])
        c = statistics.median(x[0] for x in rows[(name, "celery")])
        loc = statistics.median(x[0] for x in rows[(name, "local")])
        ratios = [cw[0] / tw[0] for tw, cw in zip(rows[(name, "tooldag")], rows[(name, "celery")])]
        print("%s: tooldag/Celery throughput x%.1f (median of same-round ratios x%.1f); local run "
              "%.3f s; remote over local: %.0f us of wall per call, %.0f us per call with %d in "
              "parallel" % (name, c / t, statistics.median(ratios), loc, (t - loc) / n * 1e6,
                            (t - loc) / n * WORKERS * 1e6, WORKERS))


if __name__ == "__main__":
    main()
