# SPDX-License-Identifier: MIT
"""Python callables as function tools, sync ones on the library's worker threads: input,
envelope, errors (an exception, a value that is not a str, a timeout), retries, workers."""
import threading
import time

import pytest

import tooldag
from conftest import contents, use

GRAPH = """\
    version: 1
    concurrency: 16
    tools:
      f: {function: f}
      g: {function: g, depends_on: [f], stdin: envelope}
      slow: {function: slow, timeout: 200ms}
      flaky: {function: flaky, retries: 2, backoff: 10ms}
      missing: {function: nobody}
    """


@pytest.fixture
def g(graph_file):
    return tooldag.Graph.load(graph_file(GRAPH))


def test_input_and_envelope(g):
    seen = {}

    def f(args):
        seen["f"] = args
        return "sum=%d" % sum(args["n"])

    def g_(env):
        seen["g"] = env
        return "after " + env["upstream"][0]["content"]

    out = contents(g.run([use("f", "1", n=[1, 2, 3], s="é"), use("g", "2", q=True)],
                         functions={"f": f, "g": g_}))
    assert out == {"1": ("sum=6", False), "2": ("after sum=6", False)}
    assert seen["f"] == {"n": [1, 2, 3], "s": "é"}
    assert seen["g"] == {"id": "2", "name": "g", "input": {"q": True},
                         "upstream": [{"id": "1", "name": "f", "content": "sum=6",
                                       "is_error": False}]}


def test_sync_functions_run_on_worker_threads_in_parallel(g):
    threads = set()

    def f(args):
        threads.add(threading.get_ident())
        time.sleep(0.3)  # releases the GIL: the other workers go on
        return "ok"

    t = time.monotonic()
    out = contents(g.run([use("f", str(i)) for i in range(4)], functions={"f": f}))
    assert time.monotonic() - t < 0.9
    assert set(out.values()) == {("ok", False)}
    assert threading.get_ident() not in threads and len(threads) == 4


def test_workers_bound_the_pool(g):
    running, peak, lock = [0], [0], threading.Lock()

    def f(args):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return "ok"

    g.run([use("f", str(i)) for i in range(8)], functions={"f": f}, workers=2)
    assert peak[0] == 2


@pytest.mark.parametrize("exc, text", [(ValueError("boom"), "ValueError: boom"),
                                       (KeyError("k"), "KeyError: 'k'"),
                                       (RuntimeError(), "RuntimeError"),
                                       (SystemExit(3), "SystemExit: 3")])
def test_an_exception_is_the_calls_error_result(g, exc, text):
    def f(args):
        raise exc

    out = contents(g.run([use("f", "1"), use("flaky", "2")],
                         functions={"f": f, "flaky": lambda a: "fine"}))
    assert out == {"1": (text, True), "2": ("fine", False)}


@pytest.mark.parametrize("value, kind", [(42, "int"), (None, "NoneType"), (b"x", "bytes"),
                                         ({"a": 1}, "dict")])
def test_a_value_that_is_not_a_str_is_an_error(g, value, kind):
    out = contents(g.run([use("f", "1")], functions={"f": lambda a: value}))
    assert out == {"1": ("function 'f' returned %s, not str" % kind, True)}


def test_a_function_that_overruns_its_timeout(g):
    saw = []

    def slow(args):
        if args.get("cooperative"):
            while not tooldag.cancelled():
                time.sleep(0.01)
            saw.append("cancelled")
            return "too late"
        time.sleep(1.5)
        return "too late"

    assert not tooldag.cancelled()  # outside a function tool
    t = time.monotonic()
    out = contents(g.run([use("slow", "1"), use("slow", "2", cooperative=True)],
                         functions={"slow": slow}))
    assert time.monotonic() - t < 1.2  # not held up by the function still sleeping
    assert out == {"1": ("timed out after 200ms", True), "2": ("timed out after 200ms", True)}
    time.sleep(0.1)
    assert saw == ["cancelled"]


def test_retries_call_the_function_again(g):
    attempts = []

    def flaky(args):
        attempts.append(1)
        if len(attempts) < 3:
            raise OSError("try again")
        return "third time"

    with g.start([use("flaky", "1")], functions={"flaky": flaky}) as run:
        run.wait()
        r = run.result(0)
    assert (r.status, r.content, r.attempts) == ("ok", "third time", 3)


def test_an_unregistered_function(g):
    out = contents(g.run([use("missing", "1"), use("f", "2")], functions={"f": lambda a: "x"}))
    assert out["1"] == ("function 'nobody' is not registered with this run", True)
    out = contents(g.run([use("f", "2")]))
    assert out["2"] == ("function 'f' is not registered with this run", True)


def test_bad_registrations(g):
    with pytest.raises(TypeError, match="callable"):
        g.run([use("f", "1")], functions={"f": "not callable"})
    with pytest.raises(TypeError):
        g.run([use("f", "1")], functions={1: len})
    with pytest.raises(tooldag.Error):
        g.run([use("f", "1")], functions={"f": len}, workers=0)


def test_cancelling_from_inside_a_function(g):
    box = {}

    def f(args):
        box["run"].cancel()
        return "done anyway"

    with g.start([use("f", "1"), use("slow", "2")],
                 functions={"f": f, "slow": lambda a: time.sleep(0.1) or "slow"}) as run:
        box["run"] = run
        run.wait()
        statuses = sorted(r.status for r in run.results)
    assert statuses[0] in ("cancelled", "ok") and "cancelled" in statuses


def test_a_worker_thread_keeps_its_python_state_between_calls(g):
    local, seen = threading.local(), []

    def f(args):
        local.n = getattr(local, "n", 0) + 1
        seen.append(local.n)
        return "ok"

    g.run([use("f", str(i)) for i in range(20)], functions={"f": f}, workers=1)
    assert sorted(seen) == list(range(1, 21))  # one thread state for the pool's one thread
    seen.clear()
    g.run([use("f", str(i)) for i in range(3)], functions={"f": f}, workers=1)
    assert sorted(seen) == [1, 2, 3]  # a new run, a new pool: a fresh state
