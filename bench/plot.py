#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""plot.py - charts of tooldag-bench's output, as PDF, SVG or PNG (matplotlib).

    bench/plot.py makespan ROWS.csv -o FILE [-o FILE...] [--graph PATH] [--title T]
    bench/plot.py ratio    ROWS.csv -o FILE [-o FILE...] [--title T]
    bench/plot.py gantt    CALLS.csv -o FILE [-o FILE...] [--policy P] [-j N] [--graph PATH]

ROWS.csv is what `tooldag-bench simulate --csv` or `sweep --csv` prints; CALLS.csv what
`simulate --calls-csv FILE` writes (one row per call of every policy and j). The format of
each output file follows its extension (.pdf, .svg, .png).

  makespan  makespan against j (log2 axis; unlimited drawn as "inf" at the right), one fixed
            colour, marker and line style per policy, the lower bound max(critical path,
            work / j) as a dashed line, the optimum (or the band between known bounds) where
            the rows carry one; one panel per graph, side by side.
  ratio     over every graph of a sweep: the mean ratio of makespan to the optimum (rows with
            a published or proven optimum only) and to the lower bound, per policy against j;
            two panels sharing both axes.
  gantt     one policy at one j: a lane per slot (calls packed on the lowest free lane),
            bars coloured by level with a level legend (a colour bar past 20 levels), time in
            ms, s or min as the makespan asks.
Exit codes: 0 written, 1 usage, 2 unreadable or unsuitable input.
"""
import argparse
import csv
import heapq
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402

# text stays text in SVG (searchable, and what the tests read)
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["pdf.fonttype"] = 42
matplotlib.rcParams["svg.hashsalt"] = "tooldag"

POLICIES = ["level", "eager", "critical"]
STYLE = {  # one fixed look per policy, whatever the order on the command line
    "level": dict(color="#d62728", marker="s", linestyle="-", markersize=8),
    "eager": dict(color="#1f77b4", marker="o", linestyle="--", markersize=6),
    "critical": dict(color="#2ca02c", marker="^", linestyle=":", markersize=5),
}
INF = "inf"


def die(msg, code=2):
    print(f"plot.py: {msg}", file=sys.stderr)
    sys.exit(code)


def read_csv(path, need):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        die(f"{path}: {e.strerror}")
    if not rows:
        die(f"{path}: no rows")
    missing = [c for c in need if c not in rows[0]]
    if missing:
        die(f"{path}: not tooldag-bench output: no column {', '.join(missing)}")
    return rows


def num(s):
    return float(s) if s not in ("", None) else None


def j_positions(js):
    """Finite j on a log2 axis; unlimited one doubling right of the largest."""
    finite = sorted({int(j) for j in js if j != INF})
    top = finite[-1] if finite else 1
    pos = {str(j): float(j) for j in finite}
    if INF in js:
        pos[INF] = float(top * 2)
    return pos


def j_axis(ax, pos):
    ax.set_xscale("log", base=2)
    ticks = sorted(pos.items(), key=lambda kv: kv[1])
    ax.set_xticks([p for _, p in ticks])
    ax.set_xticklabels([k for k, _ in ticks])
    ax.minorticks_off()
    ax.set_xlabel("concurrency j (slots)")


def time_unit(max_ms):
    if max_ms >= 120 * 60000:
        return "h", 3600000.0
    if max_ms >= 120000:
        return "min", 60000.0
    if max_ms >= 2000:
        return "s", 1000.0
    return "ms", 1.0


def save(fig, outs):
    for out in outs:
        ext = os.path.splitext(out)[1].lower()
        if ext not in (".pdf", ".svg", ".png"):
            die(f"{out}: the extension must be .pdf, .svg or .png", 1)
        fig.savefig(out, dpi=150 if ext == ".png" else None, bbox_inches="tight",
                    metadata={"Date": None} if ext in (".svg", ".pdf") else None)
    plt.close(fig)


def short(path):
    """The last two parts of a path: 50/rand0000.stg, montage/calls.json."""
    return "/".join(path.rstrip("/").split("/")[-2:])


def plot_makespan(a):
    rows = read_csv(a.input, ["graph", "policy", "j", "makespan_ms", "lower_bound_ms"])
    graphs = [a.graph] if a.graph else list(dict.fromkeys(r["graph"] for r in rows))
    rows = [r for r in rows if r["graph"] in graphs]
    if not rows:
        die(f"{a.input}: no rows for graph {a.graph}")
    top = max(float(r["makespan_ms"]) for r in rows)
    unit, div = time_unit(top)
    fig, axes = plt.subplots(1, len(graphs), figsize=(5.2 * len(graphs), 4), sharex=True,
                             squeeze=False)
    for ax, g in zip(axes[0], graphs):
        gr = [r for r in rows if r["graph"] == g]
        pos = j_positions({r["j"] for r in gr})
        order = sorted(pos, key=pos.get)
        for pol in POLICIES:
            pr = {r["j"]: r for r in gr if r["policy"] == pol}
            if pr:
                xs = [pos[j] for j in order if j in pr]
                ys = [float(pr[j]["makespan_ms"]) / div for j in order if j in pr]
                ax.plot(xs, ys, label=pol, **STYLE[pol])
        first = {}
        for r in gr:
            first.setdefault(r["j"], r)
        xs = [pos[j] for j in order]
        ax.plot(xs, [float(first[j]["lower_bound_ms"]) / div for j in order], color="black",
                linestyle=(0, (4, 3)), linewidth=1, label="lower bound")
        opt = [(pos[j], num(first[j].get("optimum_ms"))) for j in order]
        if any(o is not None for _, o in opt):
            ax.plot([x for x, o in opt if o is not None], [o / div for _, o in opt if o is not None],
                    color="#7f7f7f", marker="*", linestyle="none", markersize=11, label="optimum")
        lo = [(pos[j], num(first[j].get("opt_lower_ms")), num(first[j].get("opt_upper_ms")))
              for j in order]
        band = [(x, l, u) for x, l, u in lo if l is not None and u is not None and u > l]
        if band:
            ax.vlines([x for x, _, _ in band], [l / div for _, l, _ in band],
                      [u / div for _, _, u in band], color="#7f7f7f", linewidth=4, alpha=0.5,
                      label="optimum bounds")
        j_axis(ax, pos)
        ax.set_title(short(g))
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel(f"makespan ({unit})")
    axes[0][-1].legend(loc="upper right", fontsize="small")
    fig.suptitle(a.title or "Makespan against concurrency")
    save(fig, a.output)


def plot_ratio(a):
    rows = read_csv(a.input, ["graph", "policy", "j", "makespan_ms", "lower_bound_ms"])
    pos = j_positions({r["j"] for r in rows})
    order = sorted(pos, key=pos.get)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True, sharey=True)
    panels = [("optimum_ms", "makespan / optimum"), ("lower_bound_ms", "makespan / lower bound")]
    for ax, (col, label) in zip(axes, panels):
        for pol in POLICIES:
            xs, ys = [], []
            for j in order:
                qs = [float(r["makespan_ms"]) / float(r[col]) for r in rows
                      if r["policy"] == pol and r["j"] == j and num(r.get(col))]
                if qs:
                    xs.append(pos[j])
                    ys.append(sum(qs) / len(qs))
            if xs:
                ax.plot(xs, ys, label=pol, **STYLE[pol])
        ax.axhline(1.0, color="black", linewidth=1, linestyle=(0, (4, 3)))
        j_axis(ax, pos)
        ax.set_title(f"mean {label}")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("mean ratio (1 = optimal)")
    axes[1].legend(loc="upper left", fontsize="small")
    n = len({r["graph"] for r in rows})
    fig.suptitle(a.title or f"Makespan over the optimum and the lower bound ({n} graphs)")
    save(fig, a.output)


def lanes(calls):
    """Lane of each call: the lowest-numbered lane free at its start."""
    free, busy, lane = [], [], {}
    used = 0
    for c in sorted(calls, key=lambda c: (c["start"], c["end"])):
        while busy and busy[0][0] <= c["start"]:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            k = heapq.heappop(free)
        else:
            k, used = used, used + 1
        lane[id(c)] = k
        heapq.heappush(busy, (c["end"], k))
    return lane, used


def plot_gantt(a):
    rows = read_csv(a.input, ["graph", "policy", "j", "call", "level", "start_ms", "end_ms"])
    pol = a.policy or rows[0]["policy"]
    j = a.j or rows[0]["j"]
    g = a.graph or rows[0]["graph"]
    calls = [dict(start=float(r["start_ms"]), end=float(r["end_ms"]), level=int(r["level"]))
             for r in rows if r["policy"] == pol and r["j"] == j and r["graph"] == g]
    if not calls:
        die(f"{a.input}: no calls of policy {pol} at j = {j} for {g}")
    lane, nlanes = lanes(calls)
    top = max(c["end"] for c in calls)
    unit, div = time_unit(top)
    nlev = 1 + max(c["level"] for c in calls)
    base = plt.get_cmap("tab10" if nlev <= 10 else "tab20" if nlev <= 20 else "viridis")
    cmap = ListedColormap([base(k % base.N) for k in range(nlev)]) if nlev <= 20 else base
    norm = BoundaryNorm([k - 0.5 for k in range(nlev + 1)], cmap.N)
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.35 * nlanes + 1.5)))
    for c in calls:
        ax.barh(lane[id(c)], (c["end"] - c["start"]) / div, left=c["start"] / div, height=0.8,
                color=cmap(norm(c["level"])), edgecolor="#333333", linewidth=0.3)
    ax.set_yticks(range(nlanes))
    ax.set_yticklabels([f"slot {k + 1}" for k in range(nlanes)])
    ax.invert_yaxis()
    ax.set_xlim(0, top / div)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("lane")
    if nlev <= 20:
        handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(norm(k))) for k in range(nlev)]
        ax.legend(handles, [f"level {k}" for k in range(nlev)], title="level",
                  loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    else:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, label="level")
    ax.set_title(a.title or f"{short(g)}: {pol}, j = {j}, makespan {top / div:.3g} {unit}")
    save(fig, a.output)


def main():
    ap = argparse.ArgumentParser(prog="plot.py", description=__doc__.split("\n")[0])
    ap.add_argument("kind", choices=["makespan", "ratio", "gantt"])
    ap.add_argument("input")
    ap.add_argument("-o", "--output", action="append", required=True,
                    help="output file (.pdf, .svg or .png); repeat for several")
    ap.add_argument("--graph", help="the graph (its path as in the rows)")
    ap.add_argument("--policy", choices=POLICIES, help="gantt: the policy (default: the first)")
    ap.add_argument("-j", help="gantt: the concurrency, a number or inf (default: the first)")
    ap.add_argument("--title")
    try:
        a = ap.parse_args()
    except SystemExit as e:
        sys.exit(1 if e.code else 0)
    {"makespan": plot_makespan, "ratio": plot_ratio, "gantt": plot_gantt}[a.kind](a)


if __name__ == "__main__":
    main()
