# SPDX-License-Identifier: MIT
"""Graph.load/loads, tools(), plan(), and every load error with its position."""
import errno
import os

import pytest

import tooldag
from conftest import use


def test_load_reads_the_tools(travel):
    assert travel.tool_names == ["get_flight_prices", "fetch_weather", "lookup_pollen",
                                 "check_inventory", "recommend_product"]
    assert travel.concurrency == 8
    assert travel.has_calls


def test_tools_in_each_dialect(travel):
    anthropic = travel.tools("anthropic")
    assert [t["name"] for t in anthropic] == travel.tool_names
    assert anthropic[1]["input_schema"]["required"] == ["city"]
    openai = travel.tools("openai")
    assert openai[1]["type"] == "function"
    assert openai[1]["function"]["name"] == "fetch_weather"
    assert openai[1]["function"]["parameters"]["required"] == ["city"]
    responses = travel.tools("responses")
    assert responses[1] == {"type": "function", "name": "fetch_weather",
                            "description": "Current weather for a city",
                            "parameters": openai[1]["function"]["parameters"]}
    assert travel.tools() == anthropic
    with pytest.raises(ValueError, match="dialect"):
        travel.tools("gemini")


def test_missing_file_is_an_error_with_the_path(tmp_path):
    path = str(tmp_path / "nope.yaml")
    with pytest.raises(tooldag.Error) as e:
        tooldag.Graph.load(path)
    assert e.value.code == -errno.ENOENT
    assert e.value.name == "ENOENT"
    assert path in str(e.value)


def test_bad_yaml_gives_line_and_column(graph_file):
    path = graph_file("""\
        version: 1
        tools:
          a: {run: [echo, hi]
          b: {run: [true]}
        """)
    with pytest.raises(tooldag.Error) as e:
        tooldag.Graph.load(path)
    assert e.value.name == "TD_ESYNTAX"
    d = e.value.diagnostics[0]
    assert d.file == path and d.line == 4 and d.column is not None
    assert str(d).startswith("%s:4:%d: " % (path, d.column))


def test_every_problem_is_reported_with_its_position(graph_file):
    path = graph_file("""\
        version: 1
        tools:
          a: {run: [echo], depends_on: [nope]}
          b: {run: [echo], timeout: soon}
          c: {run: [echo], retries: -1}
        """)
    with pytest.raises(tooldag.Error) as e:
        tooldag.Graph.load(path)
    assert e.value.name == "TD_EGRAPH"
    lines = sorted(d.line for d in e.value.diagnostics)
    assert lines == [3, 4, 5], e.value.diagnostics
    assert all(d.file == path and d.column for d in e.value.diagnostics)
    assert "nope" in str(e.value)


def test_loads_names_the_buffer_and_resolves_against_basedir(tmp_path):
    (tmp_path / "hello.sh").write_text("#!/bin/sh\necho hello from $(pwd)\n")
    os.chmod(tmp_path / "hello.sh", 0o755)
    g = tooldag.Graph.loads("version: 1\ntools:\n  hi: {run: [./hello.sh]}\n",
                            name="mem.yaml", basedir=str(tmp_path))
    out = g.run([use("hi", "1")])
    assert out[0]["content"][0]["content"].startswith("hello from")
    with pytest.raises(tooldag.Error) as e:
        tooldag.Graph.loads("version: 1\ntools: [\n", name="mem.yaml")
    assert e.value.diagnostics[0].file == "mem.yaml"
    assert e.value.diagnostics[0].line is not None


def test_plan_levels_and_dict(travel, src):
    plan = travel.plan()
    assert plan.levels == [["toolu_01", "toolu_02", "toolu_03", "toolu_04", "toolu_06",
                            "toolu_07"], ["toolu_05", "toolu_08"]]
    assert len(plan) == 8
    d = plan.as_dict()
    assert d["levels"] == plan.levels
    pollen = [c for c in d["calls"] if c["id"] == "toolu_05"][0]
    assert pollen["name"] == "lookup_pollen" and pollen["depends_on"] == ["toolu_04"]
    assert "toolu_05" in plan.dot() and "flowchart" in plan.mermaid()
    assert "fetch_weather" in travel.dot()
    with open(os.path.join(src, "graphs", "calls", "travel.openai.json")) as f:
        assert travel.plan(f.read()).levels[1] == ["call_05", "call_08"]


def test_plan_of_a_cycle_names_it(travel):
    batch = [dict(use("fetch_weather", "a", city="Paris"), depends_on=["b"]),
             dict(use("fetch_weather", "b", city="Rome"), depends_on=["a"])]
    with pytest.raises(tooldag.Error) as e:
        travel.plan(batch)
    assert e.value.name == "TD_ECYCLE"
    assert "dependency cycle: a (fetch_weather) -> b (fetch_weather) -> a" in str(e.value)


def test_bad_batches(travel):
    with pytest.raises(tooldag.Error) as e:
        travel.plan('[{"type":"tool_use",')
    assert e.value.name == "TD_ESYNTAX"
    assert e.value.diagnostics[0].line == 1 and e.value.diagnostics[0].column
    with pytest.raises(tooldag.Error, match="no tool calls found"):
        travel.plan([{"type": "text", "text": "hello"}])
    with pytest.raises(tooldag.Error, match="duplicate call id 'x'"):
        travel.plan([use("fetch_weather", "x", city="a"), use("fetch_weather", "x", city="b")])
    with pytest.raises(TypeError, match="not JSON data"):
        travel.plan([object()])


def test_unknown_tool_is_that_calls_error(travel):
    out = travel.run([use("fetch_wether", "1", city="Paris"),
                      use("fetch_weather", "2", city="Paris")])
    blocks = out[0]["content"]
    assert blocks[0]["is_error"] is True
    assert blocks[0]["content"] == "unknown tool 'fetch_wether' (did you mean 'fetch_weather'?)"
    assert "Paris" in blocks[1]["content"] and "is_error" not in blocks[1]
    plan = travel.plan([use("fetch_wether", "1")])
    assert plan.as_dict()["calls"][0]["error"].startswith("unknown tool")


def test_a_graph_kept_with_env_unread_cannot_run(graph_file):
    path = graph_file("""\
        version: 1
        tools:
          h: {http: {url: "http://127.0.0.1:1/${TD_PY_UNSET_SECRET}"}}
        """)
    with pytest.raises(tooldag.Error, match="TD_PY_UNSET_SECRET"):
        tooldag.Graph.load(path)
    g = tooldag.Graph.load(path, keep_env=True)
    assert g.tools()[0]["name"] == "h"
    with pytest.raises(tooldag.Error) as e:
        g.run([use("h", "1")])
    assert e.value.name == "TD_EINVAL"


def test_version():
    assert tooldag.library_version() == tooldag.__version__
