# SPDX-License-Identifier: MIT
"""asyncio: run_async without a thread, coroutine functions on the caller's loop, results as
they finish, deadlines, and cancellation of the awaiting task."""
import asyncio
import os
import threading
import time

import pytest

import tooldag
from conftest import children, contents, use

GRAPH = """\
    version: 1
    concurrency: 64
    tools:
      co: {function: co}
      sync: {function: sync}
      dep: {function: co, depends_on: [sync], stdin: envelope}
      slowco: {function: slowco, timeout: 200ms}
      retried: {function: slowco, timeout: 100ms, retries: 1, backoff: 10ms}
      nap: {builtin: sleep}
      proc: {run: [sleep, "0.3"]}
      hang: {run: [sleep, "30"], timeout: 250ms}
      stuck: {run: [sleep, "30"]}
    """


@pytest.fixture
def g(graph_file):
    return tooldag.Graph.load(graph_file(GRAPH))


def threads_now():
    return len(os.listdir("/proc/self/task"))


def test_run_async_matches_run(g):
    batch = [use("nap", "1", ms=20), use("proc", "2")]
    assert asyncio.run(g.run_async(batch)) == g.run(batch)


def test_coroutine_functions_run_on_the_callers_loop_without_a_thread(g):
    seen = []

    async def co(args):
        seen.append((threading.get_ident(), asyncio.get_running_loop()))
        await asyncio.sleep(0.2)
        return "co %d" % args["i"]

    async def main():
        before = threads_now()
        t = time.monotonic()
        ticks = []

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.02)

        tick = asyncio.ensure_future(ticker())
        out = await g.run_async([use("co", str(i), i=i) for i in range(20)] +
                                [use("proc", "p")], functions={"co": co})
        tick.cancel()
        assert threads_now() == before
        assert time.monotonic() - t < 1.5  # 20 x 0.2 s concurrently, beside a 0.3 s process
        # the loop kept running: about 15 ticks in 0.3 s; a blocked loop gives one (a loaded
        # machine stretches a few sleeps, hence the margin)
        assert len(ticks) >= 5
        return out, asyncio.get_running_loop()

    out, loop = asyncio.run(main())
    got = contents(out)
    assert got["7"] == ("co 7", False) and got["p"] == ("", False)
    assert {s for s in seen} == {(threading.get_ident(), loop)}


def test_mixed_sync_and_coroutine_with_envelope(g):
    async def co(env):
        return "co saw " + env["upstream"][0]["content"]

    out = contents(asyncio.run(g.run_async([use("sync", "s"), use("dep", "d")],
                                           functions={"co": co, "sync": lambda a: "S"})))
    assert out == {"s": ("S", False), "d": ("co saw S", False)}


def test_sync_run_with_coroutines_uses_a_private_loop(g):
    async def co(args):
        await asyncio.sleep(0.01)
        return "fine"

    assert contents(g.run([use("co", "1")], functions={"co": co})) == {"1": ("fine", False)}

    async def inside():
        g.run([use("co", "1")], functions={"co": co})

    with pytest.raises(RuntimeError, match="inside a running event loop: await run_async"):
        asyncio.run(inside())


@pytest.mark.parametrize("body, text", [("raise", "LookupError: nope"),
                                        ("raise late", "LookupError: nope"),
                                        ("int", "function 'co' returned int, not str"),
                                        ("int late", "function 'co' returned int, not str")])
def test_coroutine_errors(g, body, text):
    async def co(args):
        if "late" in body:
            await asyncio.sleep(0.01)
        if body.startswith("raise"):
            raise LookupError("nope")
        return 7

    out = contents(asyncio.run(g.run_async([use("co", "1")], functions={"co": co})))
    assert out == {"1": (text, True)}


def test_a_coroutine_that_never_returns_times_out_and_is_cancelled(g):
    ends = []

    async def slowco(args):
        try:
            await asyncio.sleep(3600)
        finally:
            ends.append(args["n"])
        return "never"

    async def main():
        t = time.monotonic()
        with g.start([use("slowco", "1", n=1), use("retried", "2", n=2)],
                     functions={"slowco": slowco}) as run:
            await run.wait_async()
            res = run.results
        await asyncio.sleep(0.05)
        return time.monotonic() - t, res

    took, res = asyncio.run(main())
    assert took < 2
    assert (res[0].status, res[0].content) == ("timeout", "timed out after 200ms")
    assert (res[1].status, res[1].attempts) == ("timeout", 2)
    assert sorted(ends) == [1, 2, 2]  # every attempt's coroutine was cancelled


def test_process_deadline_fires_under_asyncio(g):
    t = time.monotonic()
    out = contents(asyncio.run(g.run_async([use("hang", "h")], kill_grace=0.2)))
    assert out == {"h": ("timed out after 250ms", True)}
    assert time.monotonic() - t < 3
    assert children() == []


def test_results_as_they_finish(g):
    async def co(args):
        await asyncio.sleep(args["s"])
        return str(args["s"])

    async def main():
        order = []
        with g.start([use("co", "a", s=0.3), use("co", "b", s=0.0), use("nap", "c", ms=100)],
                     functions={"co": co}) as run:
            async for r in run:
                order.append((r.id, r.status))
            await run.wait_async()  # already done: returns at once
            return order, run.messages()

    order, msgs = asyncio.run(main())
    assert order == [("b", "ok"), ("c", "ok"), ("a", "ok")]
    assert [b["tool_use_id"] for b in msgs[0]["content"]] == ["a", "b", "c"]


def test_cancelling_the_awaiting_task_cancels_the_run(g):
    ends = []

    async def co(args):
        try:
            await asyncio.sleep(3600)
        finally:
            ends.append(args)
        return "never"

    async def main():
        run = g.start([use("stuck", "p"), use("co", "c"), use("nap", "n", ms=10),
                       use("nap", "later", ms=5000)], functions={"co": co}, kill_grace=0.2)
        task = asyncio.ensure_future(run.wait_async())
        await asyncio.sleep(0.2)
        task.cancel()
        t = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        took = time.monotonic() - t
        res = {r.id: (r.status, r.content) for r in run.results}
        run.close()
        return took, res

    took, res = asyncio.run(main())
    assert took < 2
    assert res == {"p": ("cancelled", "cancelled"), "c": ("cancelled", "cancelled"),
                   "n": ("ok", "slept 10ms"), "later": ("cancelled", "cancelled")}
    assert ends == [{}]
    assert children() == []


def test_cancelling_run_async_raises_and_reaps(g):
    async def main():
        task = asyncio.ensure_future(g.run_async([use("stuck", "p"), use("stuck", "q")],
                                                 kill_grace=0.2))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert children() == []


def test_cancelling_an_async_for_consumer_cancels_the_run(g):
    async def main():
        run = g.start([use("nap", "quick", ms=1), use("stuck", "p")], kill_grace=0.2)
        seen = []

        async def consume():
            async for r in run:
                seen.append(r.id)

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        res = [r.status for r in run.results]
        run.close()
        return seen, res

    seen, res = asyncio.run(main())
    assert seen == ["quick"]
    assert res == ["ok", "cancelled"]
    assert children() == []


def test_two_runs_on_one_loop(g):
    async def co(args):
        await asyncio.sleep(0.05)
        return args["who"]

    async def main():
        return await asyncio.gather(
            g.run_async([use("co", "x", who="first"), use("nap", "n", ms=50)],
                        functions={"co": co}),
            g.run_async([use("co", "x", who="second")], functions={"co": co}))

    a, b = asyncio.run(main())
    assert contents(a)["x"] == ("first", False) and contents(b)["x"] == ("second", False)


def test_whole_run_timeout_under_asyncio(g):
    out = contents(asyncio.run(g.run_async([use("stuck", "p"), use("nap", "n", ms=1)],
                                           timeout=0.2, kill_grace=0.2)))
    assert out == {"p": ("cancelled", True), "n": ("slept 1ms", False)}


def test_a_run_left_behind_by_its_loop_is_closed_cleanly(g):
    async def main():
        run = g.start([use("nap", "n", ms=1), use("stuck", "p")], kill_grace=0.2)
        async for r in run:
            assert r.id == "n"
            break  # the run goes on, but the loop is about to end
        return run

    run = asyncio.run(main())
    assert not run.done and children() != []
    run.close()  # kills and reaps what the loop left running
    assert children() == []
