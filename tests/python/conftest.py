# SPDX-License-Identifier: MIT
"""Fixtures: the package from the source tree (python/), the library of this build."""
import os
import sys
import textwrap

import pytest

SRC = os.environ.get("TD_SRC") or os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                               "..", ".."))
sys.path.insert(0, os.path.join(SRC, "python"))

import tooldag  # noqa: E402


@pytest.fixture
def src():
    return SRC


@pytest.fixture
def graph_file(tmp_path):
    """graph_file(yaml_text) -> path of a graph file written in a fresh directory."""
    def write(text, name="graph.yaml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return str(path)
    return write


@pytest.fixture
def travel(src):
    return tooldag.Graph.load(os.path.join(src, "graphs", "travel.yaml"))


def use(tool, call_id, **input):
    """An Anthropic tool_use block."""
    return {"type": "tool_use", "id": call_id, "name": tool, "input": input}


def contents(messages):
    """{tool_use_id: (content, is_error)} of an Anthropic results message list."""
    assert len(messages) == 1 and messages[0]["role"] == "user"
    return {b["tool_use_id"]: (b["content"], b.get("is_error", False))
            for b in messages[0]["content"]}


def children():
    """Our child processes that have not been reaped (zombies included)."""
    me = str(os.getpid())
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/stat" % pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                out.append(int(pid))
    return out
