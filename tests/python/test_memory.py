# SPDX-License-Identifier: MIT
"""10,000 runs through the binding: resident memory and descriptors do not grow."""
import asyncio
import os
import resource

import tooldag
from conftest import use

GRAPH = """\
    version: 1
    tools:
      f: {function: f}
      co: {function: co}
      e: {builtin: echo, depends_on: [f]}
    """


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def fds():
    return len(os.listdir("/proc/self/fd"))


def test_no_growth_over_10000_runs(graph_file):
    g = tooldag.Graph.load(graph_file(GRAPH))

    async def co(args):
        return "co"

    def fail(args):
        raise ValueError("x" * 100)

    batch = [use("f", "1", n=1), use("co", "2"), use("e", "3", big="y" * 1000)]
    fns = [{"f": lambda a: "ok" * 50, "co": co}, {"f": fail, "co": co}]

    def some(n):
        for i in range(n):
            out = g.run(batch, functions=fns[i % 2], workers=1)
            assert len(out[0]["content"]) == 3

    async def some_async(n):
        for i in range(n):
            await g.run_async(batch, functions=fns[i % 2], workers=1)

    some(500)
    asyncio.run(some_async(500))
    base, base_fds = rss_kib(), fds()
    some(4500)
    asyncio.run(some_async(4500))
    grown = rss_kib() - base
    assert fds() == base_fds
    assert grown < 2048, "resident memory grew by %d KiB over 9,000 runs" % grown
