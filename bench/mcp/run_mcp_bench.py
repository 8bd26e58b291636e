#!/usr/bin/python3
"""run_mcp_bench.py [ROUNDS] - MCP tools: tooldag against the official TypeScript SDK client.

Run from the repository root after `cmake --workflow --preset default` and `npm ci`. Each round
runs every program once, in turn; the tables quote medians over the rounds.

  1. 10,000 echo calls over one stdio connection to server-everything: `tooldag run -j 10000`
     against sdk_echo.mjs (Promise.all of 10,000 callTool). Both include spawning the server,
     initialize, the calls and closing. Client CPU is the client process's own (the server's
     excluded): for tooldag read from /proc/PID/stat while it is a zombie, for node from
     process.cpuUsage().
  2. A one-call run of each: what starting a server costs a run.
  3. The same echo as an MCP call and as a process spawned per call (echo_tool.mjs on node):
     200 calls, 16 in flight, through tooldag both ways (the MCP run includes starting the
     server).
"""
import json, os, statistics, subprocess, sys, tempfile, time

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ROOT = os.getcwd()
TOOLDAG = os.path.join(ROOT, "build", "tooldag")
EVERYTHING = os.path.join(ROOT, "node_modules", ".bin", "mcp-server-everything")
TMP = tempfile.mkdtemp(prefix="mcp-bench-")


def graph(name, n, tool, jobs):
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write("version: 1\nconcurrency: %d\n" % jobs)
        f.write("servers:\n  everything: {command: [%s, stdio]}\n" % EVERYTHING)
        f.write("tools:\n  echo: %s\n" % tool)
    calls = [{"type": "tool_use", "id": "c%d" % i, "name": "echo", "input": {"message": "m%d" % i}}
             for i in range(n)]
    with open(path + ".json", "w") as f:
        json.dump(calls, f)
    return path


def run_tooldag(path, n):
    """Wall ms and tooldag's own CPU ms (not its children's), results checked."""
    out = open(os.path.join(TMP, "out.json"), "w+")
    t0 = time.monotonic()
    p = subprocess.Popen([TOOLDAG, "run", path, path + ".json"], stdout=out,
                         stderr=subprocess.DEVNULL)
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    wall = (time.monotonic() - t0) * 1000
    with open("/proc/%d/stat" % p.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) * 1000 / tick  # utime + stime, self only
    p.wait()
    out.seek(0)
    res = json.load(out)["content"]
    assert len(res) == n and all(r["content"] == "Echo: m%d" % i for i, r in enumerate(res)), \
        "wrong results"
    return wall, cpu


def run_sdk(n):
    r = subprocess.run(["node", os.path.join(ROOT, "bench", "mcp", "sdk_echo.mjs"), str(n)],
                       capture_output=True, text=True, check=True)
    d = json.loads(r.stdout)
    return d["wall_ms"], d["cpu_ms"]


def med(xs):
    return statistics.median(xs)


def main():
    big = graph("big", 10000, "{mcp: everything}", 10000)
    one = graph("one", 1, "{mcp: everything}", 1)
    mcp1k = graph("mcp1k", 200, "{mcp: everything}", 16)
    proc1k = graph("proc1k", 200, "{run: [node, %s]}" %
                   os.path.join(ROOT, "bench", "mcp", "echo_tool.mjs"), 16)
    rows = {k: [] for k in ("td", "sdk", "td1", "sdk1", "mcp1k", "proc1k")}
    for _ in range(ROUNDS):
        rows["td"].append(run_tooldag(big, 10000))
        rows["sdk"].append(run_sdk(10000))
        rows["td1"].append(run_tooldag(one, 1))
        rows["sdk1"].append(run_sdk(1))
        rows["mcp1k"].append(run_tooldag(mcp1k, 200))
        rows["proc1k"].append(run_tooldag(proc1k, 200))
    w = {k: med([r[0] for r in v]) for k, v in rows.items()}
    c = {k: med([r[1] for r in v]) for k, v in rows.items()}
    print("| client | wall (ms) | calls/s | client CPU (ms) | CPU per call (µs) |")
    print("|---|---:|---:|---:|---:|")
    for k, name in (("td", "tooldag run -j 10000"), ("sdk", "TS SDK, Promise.all")):
        print("| %s | %.0f | %.0f | %.0f | %.1f |" % (name, w[k], 10000 / w[k] * 1000, c[k],
                                                       c[k] * 1000 / 10000))
    print("\ntooldag / SDK: wall %.2f, client CPU %.2f (medians of %d rounds, 10,000 calls, "
          "start + initialize + calls + close)" % (w["td"] / w["sdk"], c["td"] / c["sdk"], ROUNDS))
    print("\n| one-call run (server start-up) | wall (ms) |\n|---|---:|")
    print("| tooldag | %.0f |\n| TS SDK | %.0f |" % (w["td1"], w["sdk1"]))
    print("\n| 200 echo calls, 16 in flight | wall (ms) |\n|---|---:|")
    print("| MCP call (one server) | %.0f |\n| process per call (node) | %.0f |" %
          (w["mcp1k"], w["proc1k"]))
    print("\nprocess per call / MCP call: %.1f" % (w["proc1k"] / w["mcp1k"]))


main()
