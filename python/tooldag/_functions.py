# SPDX-License-Identifier: MIT
"""Python callables as `function:` tools.

A run gets its own td_functions registry. Every callable is registered under its function name
with one of two module-level C callbacks, the userdata being a key into `_entries`:

- a plain callable is TD_FN_BLOCKING: it runs on one of the run's worker threads, which takes
  the GIL only while Python code runs (ctypes does that around the callback);
- a coroutine function is TD_FN_ASYNC: invoked on the thread that steps the run, which is the
  event loop's. Its first step runs at once, inside td_run_step (an eager start, as Python
  3.12's eager tasks do): a coroutine that finishes without suspending never costs a Task or a
  trip through the loop. One that suspends goes on as an asyncio Task on that loop, whose
  completion calls td_fn_complete() and wakes the run through its descriptor.

Whatever the callable does, the call gets exactly one completion: its string, or an error
result naming what went wrong (an exception's type and message, a value that is not a str).
"""
import asyncio
import contextvars
import functools
import inspect
import itertools
import json
import json.scanner
import threading
import types

from . import _lib
from ._errors import check

api = _lib.api
_complete = api.fn_complete
_envelope = api.fn_call_envelope
_input = api.fn_call_input
_copy_context = contextvars.copy_context
_Coroutine = types.CoroutineType
_entries = {}
_keys = itertools.count(1)
_tls = threading.local()


class _Entry:
    __slots__ = ("name", "fn", "side")

    def __init__(self, name, fn, side):
        self.name, self.fn, self.side = name, fn, side


def is_coroutine_function(fn):
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))


# The C scanner behind json.loads, called directly: the library hands over compact JSON text
# (no leading whitespace, one value), and this saves json.loads' checks on every call.
_scan = json.scanner.c_make_scanner or json.scanner.py_make_scanner
_scan = _scan(json.JSONDecoder())


def _parse(text):
    text = text.decode()
    try:
        return _scan(text, 0)[0]
    except StopIteration:
        return json.loads(text)  # raises the error that says what is wrong


def _argument(call):
    """The function's argument: the envelope when the tool has one, else the input."""
    return _parse(_envelope(call, None) or _input(call, None))


def _finish(call, name, value):
    if type(value) is str or isinstance(value, str):
        try:
            data = value.encode()
        except UnicodeEncodeError:  # lone surrogates
            data = value.encode("utf-8", "replace")
        _complete(call, 0, data, len(data))
    else:
        _error(call, "function '%s' returned %s, not str" % (name, type(value).__name__))


def _error(call, text):
    data = text.encode("utf-8", "replace")
    api.fn_complete(call, 1, data, len(data))


def _exception_text(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def _on_blocking(call, key):
    """A worker thread: the call's whole life, then its completion."""
    side = None
    try:
        ent = _entries[key]
        side = ent.side
        with side.lock:
            side.running += 1
        _tls.call = call
        try:
            value = ent.fn(_argument(call))
        finally:
            _tls.call = None
        _finish(call, ent.name, value)
    except BaseException as exc:  # noqa: B036 - a callback must never leave an exception
        _error(call, _exception_text(exc))
    finally:
        if side is not None:
            with side.lock:
                side.running -= 1


def _on_async(call, key):
    """The loop thread, inside td_run_step: start the coroutine, finish it or hand it on.
    The common case (a coroutine that returns without suspending) stays on this path."""
    try:
        ent = _entries[key]
        coro = ent.fn(_parse(_envelope(call, None) or _input(call, None)))
        if type(coro) is _Coroutine and ent.side.loop is not None:
            ctx = _copy_context()
            try:
                yielded = ctx.run(coro.send, None)
            except StopIteration as stop:
                _finish(call, ent.name, stop.value)
                return
            ent.side.suspended(call, ent.name, coro, yielded, ctx)
        elif inspect.isawaitable(coro):
            ent.side.start(call, ent.name, coro)
        else:
            _finish(call, ent.name, coro)
    except BaseException as exc:  # noqa: B036
        _error(call, _exception_text(exc))


_blocking_cb = _lib.FN(_on_blocking)
_async_cb = _lib.FN(_on_async)

# A worker thread of the pool gets its Python thread state once, when it starts, and drops it
# when it ends, instead of ctypes making and deleting one around every call (most of what a
# no-op call would cost). Start: a second hold on the state ctypes made for this callback, so
# it outlives it; between calls the thread keeps its state without the GIL. Stop: give that
# hold back, and ctypes' own release at the end of this callback deletes the state.
_gil_ensure = _lib.ctypes.pythonapi.PyGILState_Ensure
_gil_ensure.restype = _lib.c_int
_gil_release = _lib.ctypes.pythonapi.PyGILState_Release
_gil_release.argtypes = [_lib.c_int]
_PYGILSTATE_LOCKED = 0


def _thread_start(_):
    _gil_ensure()


def _thread_stop(_):
    _gil_release(_PYGILSTATE_LOCKED)


_start_cb = _lib.HOOK(_thread_start)
_stop_cb = _lib.HOOK(_thread_stop)


@types.coroutine
def _resume(coro, yielded):
    """The rest of a coroutine whose first step already ran, as something a Task can drive:
    it hands the Task what the coroutine yielded and passes back whatever the Task sends or
    throws (a wake-up, a cancellation)."""
    while True:
        try:
            sent = yield yielded
        except BaseException as exc:  # noqa: B036 - cancellation goes on to the coroutine
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as stop:
                return stop.value


def _await_first(awaitable):
    if type(awaitable) is types.CoroutineType or inspect.iscoroutine(awaitable):
        return awaitable
    return awaitable.__await__()


class Side:
    """What a run's coroutine functions share: the loop, and the Tasks of those that suspended
    (strong references: asyncio keeps only weak ones), by handle and by call index."""

    def __init__(self):
        self.loop = None
        self.tasks = {}
        self.by_call = {}
        self.lock = threading.Lock()
        self.running = 0  # plain functions inside their callable, on worker threads

    def busy(self):
        with self.lock:
            return self.running > 0

    def start(self, call, name, awaitable):
        if self.loop is None:
            raise RuntimeError("a coroutine function needs the run driven by an event loop")
        coro = _await_first(awaitable)
        ctx = _copy_context()
        try:
            yielded = ctx.run(coro.send, None)
        except StopIteration as stop:
            _finish(call, name, stop.value)
            return
        self.suspended(call, name, coro, yielded, ctx)

    def suspended(self, call, name, coro, yielded, ctx):
        """A coroutine that suspended in its first step goes on as a Task."""
        task = self.loop.create_task(_resume(coro, yielded), context=ctx)
        index = api.fn_call_index(call)
        self.tasks[call] = (index, task)
        self.by_call.setdefault(index, []).append(call)
        task.add_done_callback(functools.partial(self._done, call, name))

    def _done(self, call, name, task):
        index, _ = self.tasks.pop(call, (None, None))
        handles = self.by_call.get(index)
        if handles is not None:
            handles.remove(call)
            if not handles:
                del self.by_call[index]
        if task.cancelled():
            _error(call, "cancelled")
            return
        exc = task.exception()
        if exc is not None:
            _error(call, _exception_text(exc))
        else:
            _finish(call, name, task.result())

    def call_finished(self, index):
        """The call has its result (it finished, timed out or was cancelled): any of its
        attempts still running is of no use."""
        for call in self.by_call.get(index, ()):
            self.tasks[call][1].cancel()

    def drop_abandoned(self):
        """Cancels the Tasks of attempts the run gave up on (a timeout that leads to a retry
        ends an attempt without ending the call)."""
        for call, (_, task) in list(self.tasks.items()):
            if api.fn_call_cancelled(call):
                task.cancel()

    def cancel_all(self):
        for _, task in list(self.tasks.values()):
            try:
                task.cancel()
            except RuntimeError:  # its loop is closed: the Task will never run again
                pass


class Registry:
    """A td_functions registry for one run; free() only after td_run_free()."""

    def __init__(self, functions, workers, side):
        self.ptr = None
        self.keys = []
        self.has_coroutines = False
        if not functions:
            return
        ptr = _lib.c_void_p()
        check(api.functions_new(_lib.ctypes.byref(ptr)), "td_functions_new")
        self.ptr = ptr.value
        try:
            if workers is not None:
                check(api.functions_set_workers(self.ptr, int(workers)), "workers")
            check(api.functions_set_thread_hooks(self.ptr, _start_cb, _stop_cb, None),
                  "thread hooks")
            for name, fn in functions.items():
                self._add(name, fn, side)
        except BaseException:
            self.free()
            raise

    def _add(self, name, fn, side):
        if not isinstance(name, str) or not callable(fn):
            raise TypeError("functions maps a function name (str) to a callable, got %r: %r"
                            % (name, fn))
        key = next(_keys)
        _entries[key] = _Entry(name, fn, side)
        self.keys.append(key)
        coro = is_coroutine_function(fn)
        self.has_coroutines |= coro
        check(api.functions_add(self.ptr, name.encode(), _lib.FN_ASYNC if coro else
                                _lib.FN_BLOCKING, _async_cb if coro else _blocking_cb, key),
              "function %r" % name)

    def free(self):
        for key in self.keys:
            _entries.pop(key, None)
        self.keys = []
        if self.ptr:
            api.functions_free(self.ptr)
            self.ptr = None


def cancelled():
    """Inside a plain (non-coroutine) function tool: True once its call timed out or was
    cancelled, so a long function can stop early (its result would be ignored). False
    elsewhere."""
    call = getattr(_tls, "call", None)
    return bool(call and api.fn_call_cancelled(call))

