# SPDX-License-Identifier: MIT
"""Graph: a loaded graph file, and the batches and plans made from it."""
import ctypes
import json
import os

from . import _lib
from ._errors import check
from ._run import Run, _dialect_code

api = _lib.api


def _text(b):
    return b.decode("utf-8", "replace")


def _sdk_object(obj):
    """SDK response objects (pydantic models and the like) as the dicts they stand for."""
    for attr in ("model_dump", "to_dict", "dict"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            return fn(mode="json") if attr == "model_dump" else fn()
    raise TypeError("a call batch holds %s, which is not JSON data" % type(obj).__name__)


def _batch_bytes(batch):
    if isinstance(batch, (bytes, bytearray, memoryview)):
        return bytes(batch)
    if isinstance(batch, str):
        return batch.encode("utf-8", "surrogatepass")
    return json.dumps(batch, default=_sdk_object, ensure_ascii=False).encode(
        "utf-8", "surrogatepass")


class _Batch:
    """A decoded td_batch (borrows the graph)."""

    def __init__(self, graph, batch, dialect, name):
        out, diag = ctypes.c_void_p(), _lib.Diag()
        self.graph = graph
        self.ptr = None
        self.own = batch is None  # the file's own calls: in no dialect
        if batch is None:
            check(api.batch_from_graph(graph.ptr, ctypes.byref(out), ctypes.byref(diag)),
                  "the graph's own calls", diag)
        else:
            data = _batch_bytes(batch)
            if isinstance(batch, (str, bytes, bytearray, memoryview)) and \
                    api.stream_detect(data, len(data)) > 0:
                self._stream(data, dialect, name, out, diag)
            else:
                check(api.batch_decode(graph.ptr, data, len(data), dialect, name.encode(),
                                       ctypes.byref(out), ctypes.byref(diag)),
                      "cannot read the calls", diag)
        self.ptr = out.value
        self.count = api.batch_count(self.ptr)
        self._ids = None

    def _stream(self, data, dialect, name, out, diag):
        """A streamed response (Server-Sent Events) given whole. One that did not end
        properly (cut off, an API error event) is an Error naming each call cut short."""
        stream = ctypes.c_void_p()
        check(api.stream_new(dialect, name.encode(), ctypes.byref(stream)), "stream")
        try:
            check(api.stream_feed(stream, data, len(data)), "cannot read the stream")
            rc = api.stream_finish(stream, self.graph.ptr, ctypes.byref(out), ctypes.byref(diag))
            if rc < 0 and out.value:
                api.batch_free(out.value)
                out.value = None
            check(rc, "cannot read the stream", diag)
        finally:
            api.stream_free(stream)

    def ids(self):
        if self._ids is None:
            self._ids = {_text(api.batch_call_id(self.ptr, i)): i for i in range(self.count)}
        return self._ids

    def __del__(self):
        if self.ptr:
            api.batch_free(self.ptr)
            self.ptr = None


class Plan:
    """A batch of calls leveled against its graph (Graph.plan()). It can be run any number of
    times, from any number of threads at once: pass it to Graph.run()/start() as the batch."""

    def __init__(self, batch):
        out, diag = ctypes.c_void_p(), _lib.Diag()
        self.batch = batch
        self.ptr = None
        check(api.plan_new(batch.ptr, ctypes.byref(out), ctypes.byref(diag)),
              "cannot plan the calls", diag)
        self.ptr = out.value

    def __del__(self):
        if self.ptr:
            api.plan_free(self.ptr)
            self.ptr = None

    def __len__(self):
        """The number of calls."""
        return self.batch.count

    @property
    def levels(self):
        """Call ids level by level (calls with a call-level error are in no level)."""
        ids = [_text(api.batch_call_id(self.batch.ptr, i)) for i in range(self.batch.count)]
        calls = ctypes.POINTER(ctypes.c_uint32)()
        out = []
        for k in range(api.plan_level_count(self.ptr)):
            n = check(api.plan_level(self.ptr, k, ctypes.byref(calls)), "plan level")
            out.append([ids[calls[i]] for i in range(n)])
        return out

    def as_dict(self):
        """{"levels": [[id, ...], ...], "calls": [{"id", "name", "level", "depends_on",
        "error"?}, ...]} (tooldag plan --json). Error TD_ETOOBIG when tool-level dependencies
        between many calls would make the depends_on lists quadratic."""
        return json.loads(_take(api.plan_json, "plan", self.ptr, 0))

    def dot(self):
        """Graphviz DOT of the calls, one rank per level."""
        return _take(api.plan_dot, "dot", self.ptr)

    def mermaid(self):
        """A Mermaid flowchart of the calls, one subgraph per level."""
        return _take(api.plan_mermaid, "mermaid", self.ptr)


def _take(rc_fn, what, *args):
    out = ctypes.c_void_p()
    check(rc_fn(*args, ctypes.byref(out)), what)
    return _lib.take_string(out.value)


class Graph:
    """A graph file: tools, limits, dependencies. Read-only once loaded: one Graph may be used
    from any number of threads and runs at once."""

    def __init__(self, ptr, name):
        self.ptr = ptr
        self.name = name

    @classmethod
    def load(cls, path, *, keep_env=False):
        """Loads a graph file. Raises tooldag.Error with every problem found (file, line,
        column). keep_env=True leaves ${NAME} in http: tools unread: such a graph can be looked
        at (tools, plan, dot) but not run."""
        path = os.fspath(path)
        out, diag = ctypes.c_void_p(), _lib.Diag()
        check(api.graph_load_file_flags(os.fsencode(path), _lib.TD_LOAD_KEEP_ENV if keep_env
                                        else 0, ctypes.byref(out), ctypes.byref(diag)),
              "cannot load %s" % path, diag)
        return cls(out.value, path)

    @classmethod
    def loads(cls, text, *, name=None, basedir=None):
        """Loads a graph from YAML text; `name` is used in diagnostics, relative paths resolve
        against `basedir` (default: the current directory)."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        out, diag = ctypes.c_void_p(), _lib.Diag()
        check(api.graph_load_buffer(data, len(data), name.encode() if name else None,
                                    os.fsencode(basedir) if basedir else None,
                                    ctypes.byref(out), ctypes.byref(diag)),
              "cannot load %s" % (name or "<buffer>"), diag)
        return cls(out.value, name or "<buffer>")

    def __del__(self):
        if getattr(self, "ptr", None):
            api.graph_free(self.ptr)
            self.ptr = None

    def __repr__(self):
        return "Graph(%r, tools=%r)" % (self.name, self.tool_names)

    @property
    def tool_names(self):
        """The tools' names in declaration order."""
        return [_text(api.graph_tool_name(self.ptr, i))
                for i in range(api.graph_tool_count(self.ptr))]

    @property
    def concurrency(self):
        """The file's global concurrency (or the library's default)."""
        return api.graph_concurrency(self.ptr)

    @property
    def has_calls(self):
        """Whether the file declares its own `calls:` batch."""
        return bool(api.graph_has_calls(self.ptr))

    def tools(self, dialect="anthropic"):
        """The tools as the model API's `tools` request parameter (a list) in `dialect`:
        "anthropic", "openai" (Chat Completions) or "responses"."""
        return json.loads(_take(api.graph_tools_json, "tools", self.ptr,
                                _dialect_code(dialect), 0))

    def dot(self):
        """Graphviz DOT of the tools and their dependencies."""
        return _take(api.graph_dot, "dot", self.ptr)

    def _plan(self, batch, dialect):
        if isinstance(batch, Plan):
            if batch.batch.graph is not self:
                raise ValueError("the plan was made from another graph")
            return batch
        return Plan(_Batch(self, batch, _dialect_code(dialect), "<calls>"))

    def plan(self, batch=None, *, dialect=None):
        """Levels a batch of calls (None: the file's own `calls:`; see start()) without
        running it: a Plan (levels, as_dict(), dot(), mermaid()) that run()/start() also
        accept in place of the batch. Raises tooldag.Error for a batch that cannot be read
        and for a dependency cycle among the calls."""
        return self._plan(batch, dialect)

    def start(self, batch=None, *, functions=None, concurrency=None, schedule=None,
              dialect=None, timeout=None, kill_grace=None, seed=None, workers=None):
        """A Run of `batch`, not yet started: drive it with wait(), iteration, `await
        wait_async()` or `async for`, then close() it.

        batch: the calls as the model API returned them: a message, a response, a list of
        tool_use blocks / tool_calls / function_call items, a conversation (a dict or list;
        SDK objects with model_dump() are converted), or JSON text; None runs the file's own
        `calls:`. dialect forces the calls' dialect (default: detected); for the file's own
        calls it is the results' dialect (default Anthropic).
        functions: {function name: callable} for `function:` tools. A plain callable runs on
        the run's worker threads (`workers` of them, default 4); a coroutine function runs on
        the event loop that drives the run. Each gets the call's input as a dict (the
        envelope {"id", "name", "input", "upstream"} for `stdin: envelope` tools) and returns
        the result text as a str.
        concurrency: calls at once (default: the file's); schedule: "level", "eager" or
        "critical"; timeout: seconds for the whole run, after which what is left is cancelled;
        kill_grace: seconds between SIGTERM and SIGKILL (0: SIGKILL at once); seed: retry
        jitter seed."""
        code = _dialect_code(dialect)
        p = self._plan(batch, None if batch is None else dialect)
        results = 0
        if p.batch.own:
            results = code or _dialect_code("anthropic")
        return Run(self, p.batch, p, functions=functions, concurrency=concurrency,
                   schedule=schedule, kill_grace=kill_grace, seed=seed, workers=workers,
                   timeout=timeout, dialect=results)

    def run(self, batch=None, **options):
        """Runs a batch to the end on this thread and returns its results as a list to extend
        the conversation with, in the calls' dialect (Run.messages()). Options as start()."""
        with self.start(batch, **options) as run:
            run.wait()
            return run.messages()

    async def run_async(self, batch=None, **options):
        """run() on the running event loop, without a thread. Cancelling the awaiting task
        cancels the run (every call still gets its result) and raises CancelledError."""
        run = self.start(batch, **options)
        try:
            await run.wait_async()
            return run.messages()
        finally:
            run.close()
