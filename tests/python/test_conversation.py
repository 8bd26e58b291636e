# SPDX-License-Identifier: MIT
"""Inputs the library's decoder reads beside plain batches, passed through as they are: a
conversation (messages list, request body), a streamed response (Server-Sent Events), on the
real payloads the Anthropic SDK's tests recorded."""
import json
import os

import pytest

import tooldag
from conftest import contents

HERE = os.path.dirname(os.path.abspath(__file__))


def recorded(src, name):
    with open(os.path.join(src, "python", "examples", "recorded", name)) as f:
        return json.load(f)


@pytest.fixture
def weather(src):
    return tooldag.Graph.load(os.path.join(src, "python", "examples", "weather.yaml"))


def get_weather(args):
    return json.dumps({"location": args["location"], "temperature": "68\u00b0F",
                       "condition": "Sunny"})


def test_a_conversation_runs_only_its_pending_calls(src, weather):
    turns = recorded(src, "anthropic-runner-e075a6c2-de4d-4125-9709-f0e178058190.json")
    messages = turns[1]["request"]["body"]["messages"]  # San Francisco already answered
    messages = messages + [{"role": "assistant",
                            "content": turns[1]["response"]["body"]["content"]}]
    seen = []

    def fn(args):
        seen.append(args["location"])
        return get_weather(args)

    out = contents(weather.run(messages, functions={"get_weather": fn}))
    assert seen == ["New York, NY"]
    assert list(out) == ["toolu_01RWdcDdE8NAFDgZ8F9Xk2K7"]
    body = dict(turns[1]["request"]["body"], messages=messages)  # a whole request body
    assert contents(weather.run(body, functions={"get_weather": fn})) == out


def test_a_conversation_with_nothing_pending(src, weather):
    turns = recorded(src, "anthropic-runner-e075a6c2-de4d-4125-9709-f0e178058190.json")
    with pytest.raises(tooldag.Error, match="no call pending"):
        weather.run(turns[1]["request"]["body"]["messages"],
                    functions={"get_weather": get_weather})


def test_a_streamed_response(src):
    g = tooldag.Graph.loads("version: 1\ntools:\n  get_weather: {function: get_weather}\n")
    path = os.path.join(src, "tests", "data", "recorded", "anthropic-stream-tool_use_response.txt")
    with open(path, "rb") as f:
        sse = f.read()
    out = g.run(sse, functions={"get_weather": lambda a: "at " + a["location"]})
    (block,) = out[0]["content"]
    assert block == {"type": "tool_result", "tool_use_id": block["tool_use_id"],
                     "content": "at Paris"}
    cut = sse[:sse.index(b"content_block_stop")]
    with pytest.raises(tooldag.Error) as e:
        g.run(cut.decode())
    assert "cut off" in str(e.value)
