# SPDX-License-Identifier: MIT
"""The example agent loop replays real recorded API conversations (no network): the requests
it builds, tool results included, must be the recorded ones."""
import asyncio
import os
import subprocess
import sys

import pytest

import tooldag


def example(src):
    return os.path.join(src, "python", "examples")


def run_example(src, *args):
    env = dict(os.environ, PYTHONPATH=os.path.join(src, "python"))
    return subprocess.run([sys.executable, os.path.join(example(src), "agent_loop.py"), *args],
                          env=env, capture_output=True, text=True, timeout=60)


def test_two_tool_turns_match_the_recording(src):
    out = run_example(src)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1] == ('tool toolu_01LRanfq6DmHn1yDTB4d1SAh: {"location": "San Francisco, CA", '
                        '"temperature": "68\\u00b0F", "condition": "Sunny"}')
    assert lines[2] == "assistant: Now let me check New York."
    assert lines[3].startswith("tool toolu_01RWdcDdE8NAFDgZ8F9Xk2K7: ")
    assert lines[4] == "(the recording ends here)"


def test_a_failing_tool_and_the_final_answer(src):
    rec = os.path.join(example(src), "recorded",
                       "anthropic-runner-10e53c1d-51be-4c64-b5bf-99adb3fa4719.json")
    out = run_example(src, rec, "--failing-tool")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == ("tool toolu_01A9HHF5Ezy3oBrKmSgfASm9: RuntimeError: Unexpected error, "
                        "try again (error)")
    assert lines[1].startswith("assistant: I apologize")


def test_the_replay_catches_a_wrong_tool_result(src):
    sys.path.insert(0, example(src))
    try:
        import agent_loop
    finally:
        sys.path.pop(0)
    graph = tooldag.Graph.load(os.path.join(example(src), "weather.yaml"))

    async def wrong(args):
        return "cloudy"

    with pytest.raises(AssertionError, match="differs from the recording"):
        asyncio.run(agent_loop.agent(graph, agent_loop.ReplayModel(agent_loop.RECORDING),
                                     {"get_weather": wrong}, log=lambda s: None))
