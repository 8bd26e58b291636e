# SPDX-License-Identifier: MIT
"""Two runs of one graph on two threads at once: sync callables, processes, and two event
loops; a run stays on the thread that drives it."""
import asyncio
import threading

import tooldag
from conftest import children, contents, use

GRAPH = """\
    version: 1
    tools:
      f: {function: f}
      co: {function: co}
      p: {run: [sh, -c, "read x; echo got $x"]}
      after: {function: f, depends_on: [p], stdin: envelope}
    """


def test_two_runs_in_two_threads(graph_file):
    g = tooldag.Graph.load(graph_file(GRAPH))
    out, errors = {}, []
    barrier = threading.Barrier(2)

    def f(args):
        if "upstream" in args:
            return "after " + args["upstream"][0]["content"].strip()
        return "f %s %d" % (args["who"], args["i"])

    def worker(who):
        try:
            barrier.wait()
            for _ in range(20):
                batch = [use("f", "f%d" % i, who=who, i=i) for i in range(10)]
                batch += [use("p", "p", who=who), use("after", "a")]
                got = contents(g.run(batch, functions={"f": f}))
                assert got["f3"] == ("f %s 3" % who, False)
                assert got["a"] == ('after got {"who":"%s"}' % who, False)
            out[who] = got
        except BaseException as e:  # noqa: B036 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(w,)) for w in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(out) == ["one", "two"]
    assert children() == []


def test_two_event_loops_in_two_threads(graph_file):
    g = tooldag.Graph.load(graph_file(GRAPH))
    out = {}

    async def co(args):
        await asyncio.sleep(0.01)
        return "%s on %s" % (args["who"], threading.current_thread().name)

    def worker(who):
        async def main():
            return await g.run_async([use("co", str(i), who=who) for i in range(50)],
                                     functions={"co": co})
        out[who] = contents(asyncio.run(main()))

    threads = [threading.Thread(target=worker, args=(w,), name=w) for w in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert out["a"]["7"] == ("a on a", False) and out["b"]["7"] == ("b on b", False)
