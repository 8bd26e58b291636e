# SPDX-License-Identifier: MIT
"""Graph.run/start and Run driven from this thread: results per dialect (the same as the
command's), options, iteration, cancellation, the whole-run timeout, the report."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import tooldag
from conftest import children, contents, use

SLEEPY = """\
    version: 1
    concurrency: 8
    tools:
      nap: {builtin: sleep}
      slow: {run: [sleep, "30"]}
      echo: {builtin: echo}
      after: {builtin: echo, depends_on: [slow]}
    """


def cli(src, *args):
    out = subprocess.run([os.environ["TOOLDAG"], "run", *args], cwd=src, capture_output=True,
                         check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("dialect", ["anthropic", "openai", "responses"])
def test_results_are_the_commands_in_each_dialect(travel, src, dialect):
    path = os.path.join(src, "graphs", "calls", "travel.%s.json" % dialect)
    with open(path) as f:
        text = f.read()
    want = cli(src, "graphs/travel.yaml", path)
    want = [want] if isinstance(want, dict) else want
    assert travel.run(text) == want
    assert travel.run(json.loads(text)) == want
    assert travel.run(text.encode()) == want


def test_the_graphs_own_calls_answer_in_the_dialect_asked(travel, src):
    assert travel.run() == [cli(src, "graphs/travel.yaml")]
    assert travel.run(dialect="openai") == cli(src, "graphs/travel.yaml", "--dialect", "openai")


def test_sdk_objects_and_whole_responses(travel):
    class Block:  # what an SDK hands back: an object with model_dump()
        def __init__(self, d):
            self.d = d

        def model_dump(self, mode="python"):
            return dict(self.d)

    response = {"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "tool_use",
                "content": [Block({"type": "text", "text": "Checking."}),
                            Block(use("fetch_weather", "toolu_1", city="Oslo"))]}
    got = contents(travel.run(response))
    assert got["toolu_1"][0].startswith("Oslo") and not got["toolu_1"][1]


def test_options(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    batch = [use("nap", str(i), ms=100) for i in range(4)]
    t = time.monotonic()
    with g.start(batch, concurrency=1, schedule="eager", seed=7, kill_grace=0.5) as run:
        run.wait()
        report = run.report()
    assert time.monotonic() - t >= 0.39
    assert report["schedule"] == "eager" and report["concurrency"] == 1
    t = time.monotonic()
    g.run(batch, concurrency=4)
    assert time.monotonic() - t < 0.39
    with pytest.raises(ValueError, match="schedule"):
        g.start(batch, schedule="fastest")
    with pytest.raises(ValueError, match="concurrency"):
        g.start(batch, concurrency=0)
    with pytest.raises(ValueError, match="kill_grace"):
        g.start(batch, kill_grace=-1)


def test_kill_grace_zero_kills_at_once(graph_file):
    g = tooldag.Graph.load(graph_file("""\
        version: 1
        tools:
          stubborn: {run: [sh, -c, 'trap "" TERM; sleep 30'], timeout: 200ms}
        """))
    t = time.monotonic()
    with g.start([use("stubborn", "s")], kill_grace=0) as run:
        run.wait()
        res = run.result(0)
    # SIGKILL at the deadline: no 2 s default grace for a child that ignores SIGTERM
    assert (res.status, res.signal) == ("timeout", signal.SIGKILL)
    assert time.monotonic() - t < 1.5
    assert children() == []


def test_results_report_and_iteration_in_finish_order(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    batch = [use("nap", "late", ms=200), use("echo", "now", x=1), use("nap", "soon", ms=50)]
    with g.start(batch) as run:
        assert [r.status for r in run.results] == ["pending"] * 3
        seen = [r.id for r in run]
        assert seen == ["now", "soon", "late"]
        assert run.done and run.finished == [1, 2, 0]
        res = run.results
        assert [r.id for r in res] == ["late", "now", "soon"]
        assert res[0].status == "ok" and res[0].content == "slept 200ms" and res[0].attempts == 1
        assert res[1].content == '{"x":1}' and res[1].name == "echo"
        assert 0.19 < res[0].end - res[0].start < 1 and run.makespan >= 0.2
        assert run.report()["calls"][0]["status"] == "ok"
        assert run.messages("openai")[1] == {"role": "tool", "tool_call_id": "now",
                                             "content": '{"x":1}'}
        with pytest.raises(IndexError):
            run.result(3)
    with pytest.raises(ValueError, match="closed"):
        run.results


def test_cancel_one_call_and_unknown_ids(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    batch = [use("slow", "s"), use("after", "a"), use("nap", "n", ms=50)]
    t = time.monotonic()
    with g.start(batch) as run:
        with pytest.raises(KeyError):
            run.cancel("zzz")
        for r in run:
            if r.id == "n":
                run.cancel("s")
        got = {r.id: (r.status, r.content) for r in run.results}
    assert time.monotonic() - t < 5
    assert got["s"] == ("cancelled", "cancelled")
    assert got["a"][0] == "skipped" and "dependency slow (s) failed" in got["a"][1]
    assert got["n"] == ("ok", "slept 50ms")
    assert children() == []


def test_cancel_from_another_thread(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    with g.start([use("slow", "s1"), use("slow", "s2")]) as run:
        threading.Timer(0.2, run.cancel).start()
        t = time.monotonic()
        run.wait()
        assert time.monotonic() - t < 5
        assert [r.status for r in run.results] == ["cancelled", "cancelled"]
    assert children() == []


def test_leaving_the_iteration_cancels_the_rest(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    with g.start([use("slow", "s"), use("echo", "e")]) as run:
        for r in run:
            assert r.id == "e"
            break
        assert run.done
        assert run.result(0).status == "cancelled"
    assert children() == []


def test_whole_run_timeout(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    t = time.monotonic()
    out = contents(g.run([use("slow", "s"), use("nap", "n", ms=10)], timeout=0.3))
    assert 0.25 < time.monotonic() - t < 5
    assert out == {"s": ("cancelled", True), "n": ("slept 10ms", False)}
    assert children() == []


def test_a_run_is_driven_once(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    with g.start([use("echo", "e")]) as run:
        run.wait()
        run.wait()  # done: nothing to do
        with pytest.raises(RuntimeError, match="already driven"):
            list(run)


def test_a_plan_runs_many_times(graph_file):
    g = tooldag.Graph.load(graph_file(SLEEPY))
    plan = g.plan([use("echo", "e", n=1)])
    assert g.run(plan) == g.run(plan)
    other = tooldag.Graph.load(graph_file(SLEEPY, "other.yaml"))
    with pytest.raises(ValueError, match="another graph"):
        other.run(plan)
