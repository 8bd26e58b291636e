# SPDX-License-Identifier: MIT
"""tooldag: run a model turn's tool calls as a dependency graph, from Python.

    import tooldag
    g = tooldag.Graph.load("graphs/travel.yaml")
    response = client.messages.create(..., tools=g.tools("anthropic"))
    messages += g.run(response.model_dump(), functions={"weather": weather})

A thin ctypes binding over libtooldag.so: loading, leveling and scheduling happen in C.
"""
from ._lib import library_version
from ._errors import Diagnostic, Error
from ._functions import cancelled
from ._graph import Graph
from ._run import CallResult, Run

__version__ = "0.1.0"
__all__ = ["Graph", "Run", "CallResult", "Error", "Diagnostic", "cancelled",
           "library_version", "__version__"]
