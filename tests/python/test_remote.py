# SPDX-License-Identifier: MIT
"""A `remote:` tool's calls from Python: each CallResult names the Redis worker that ran it and
its wait on the queue, on a real redis-server and a real `tooldag worker` this test starts
(and stops, passed or not)."""
import json
import os
import shutil
import subprocess
import threading
import time

import pytest

import tooldag
from conftest import use

DELAY = 1.0


@pytest.fixture
def redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is needed (Debian: apt-get install redis-server)")
    sock = str(tmp_path / "redis.sock")
    p = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--dir",
                          str(tmp_path), "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        time.sleep(0.05)
        yield sock
    finally:
        p.kill()
        p.wait()


def test_results_name_the_worker_and_the_queue_wait(redis, graph_file):
    path = graph_file("""\
        version: 1
        tools:
          there: {builtin: echo, timeout: 60s, remote: {redis: "unix://%s", queue: py}}
          here: {builtin: echo}
        """ % redis)
    g = tooldag.Graph.load(path)
    workers = []
    stop = threading.Event()

    def start_worker():  # once the call is on the queue, and DELAY later
        while not stop.is_set():
            n = subprocess.run(["redis-cli", "-s", redis, "XLEN", "tooldag:queue:py"],
                               capture_output=True, text=True).stdout.strip()
            if n == "1":
                break
            time.sleep(0.02)
        if not stop.wait(DELAY):
            workers.append(subprocess.Popen(
                [os.environ["TOOLDAG"], "worker", path, "--name", "pyw"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    starter = threading.Thread(target=start_worker)
    starter.start()
    try:
        with g.start(json.dumps([use("there", "a", x=1), use("here", "b", y=2)])) as run:
            run.wait()
            a, b = run.results
        assert (a.content, a.worker) == ('{"x":1}', "pyw")
        assert a.queue >= DELAY  # a lower bound only
        assert a.queue <= a.end - a.start
        assert (b.content, b.worker, b.queue) == ('{"y":2}', None, 0)
        assert a.as_dict()["worker"] == "pyw"
    finally:
        stop.set()
        starter.join()
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
