#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An agent loop on tooldag, with a fake model that replays a recorded conversation.

    python3 agent_loop.py [RECORDING] [--failing-tool]

Each turn: ask the model (here: the next recorded response, after checking that the request
is the one that was recorded), append its answer, and if it asked for tools run them all
through tooldag and append the results. No network: the responses are real API payloads
recorded by the Anthropic SDK's tests (recorded/). Ends when the model stops asking for tools
or the recording ends.
"""
import asyncio
import json
import os
import sys

import tooldag

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDING = os.path.join(HERE, "recorded",
                         "anthropic-runner-e075a6c2-de4d-4125-9709-f0e178058190.json")


class ReplayModel:
    """Stands in for client.messages.create(): returns the recorded responses in order, and
    checks that each request (conversation and tools) is the recorded one. `strict=False`
    compares tool results by id and error flag only, not by their text."""

    def __init__(self, path, strict=True):
        with open(path, encoding="utf-8") as f:
            self.turns = json.load(f)
        self.strict = strict
        self.turn = 0

    def first_messages(self):
        return self.turns[0]["request"]["body"]["messages"][:1]

    def create(self, *, messages, tools, **_):
        if self.turn == len(self.turns):
            return None
        want = self.turns[self.turn]["request"]["body"]
        assert tools == want["tools"], "tools differ from the recording"
        got, expected = self._view(messages), self._view(want["messages"])
        assert got == expected, "turn %d: the conversation differs from the recording:\n%s\n%s" \
            % (self.turn, json.dumps(got, indent=1), json.dumps(expected, indent=1))
        self.turn += 1
        return self.turns[self.turn - 1]["response"]["body"]

    def _view(self, messages):
        if self.strict:
            return messages
        out = []
        for m in messages:
            if isinstance(m["content"], list):
                m = dict(m, content=[{k: v for k, v in b.items() if k != "content"}
                                     for b in m["content"]])
            out.append(m)
        return out


async def get_weather(args):
    """The SDK test's weather tool, as a coroutine (a real one would await an HTTP call)."""
    await asyncio.sleep(0.01)
    temperature = "68\u00b0F" if args["units"] == "f" else "20\u00b0C"
    return json.dumps({"location": args["location"], "temperature": temperature,
                       "condition": "Sunny"})


def failing_weather(args):
    raise RuntimeError("Unexpected error, try again")


async def agent(graph, model, functions, log=print):
    """The loop: returns the conversation."""
    messages = model.first_messages()
    tools = graph.tools("anthropic")
    while True:
        response = model.create(model="claude-haiku-4-5", max_tokens=1024, messages=messages,
                                tools=tools)
        if response is None:
            log("(the recording ends here)")
            return messages
        messages.append({"role": "assistant", "content": response["content"]})
        for block in response["content"]:
            if block["type"] == "text":
                log("assistant: " + block["text"])
        if response["stop_reason"] != "tool_use":
            return messages
        results = await graph.run_async(response, functions=functions)
        for block in results[0]["content"]:
            log("tool %s: %s%s" % (block["tool_use_id"], block["content"],
                                   " (error)" if block.get("is_error") else ""))
        messages += results


def main(argv):
    failing = "--failing-tool" in argv
    paths = [a for a in argv if not a.startswith("--")]
    graph = tooldag.Graph.load(os.path.join(HERE, "weather.yaml"))
    model = ReplayModel(paths[0] if paths else RECORDING, strict=not failing)
    functions = {"get_weather": failing_weather if failing else get_weather}
    asyncio.run(agent(graph, model, functions))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
