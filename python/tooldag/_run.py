# SPDX-License-Identifier: MIT
"""Run: one execution of a plan, driven from Python by a poll() loop or by an asyncio loop.

Either way the run is stepped only from the thread that drives it, never from inside one of its
functions, as the C API requires: cancel() from anywhere else is queued and applied by the
driver between steps. The asyncio driver uses no thread: the run's descriptor is registered
with loop.add_reader(), a loop timer covers td_run_timeout(), and each wake-up is one
non-blocking td_run_step().
"""
import asyncio
import ctypes
import json
import math
import os
import select
import threading
import time

from . import _lib
from ._errors import Error, check
from ._functions import Registry, Side

api = _lib.api


class CallResult:
    """One call's outcome. `start` and `end` are seconds from the run's start (None when the
    call never started); `exit_code` is None unless a process exited; `signal` is 0 unless a
    signal ended it; `queue` is the seconds of that time its attempts waited for a worker (a
    busy function pool, or the Redis queue of a `remote:` tool); `worker` names the Redis worker
    of a `remote:` tool's last attempt (None for a call that ran here)."""

    __slots__ = ("index", "id", "name", "status", "is_error", "content", "exit_code", "signal",
                 "attempts", "truncated", "start", "end", "queue", "worker")

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return "CallResult(%r, %r, %r, %r)" % (self.id, self.name, self.status, self.content)


def _opts(functions_ptr, concurrency, schedule, kill_grace, seed):
    o = _lib.RunOpts()
    if concurrency is not None:
        if int(concurrency) < 1:
            raise ValueError("concurrency must be at least 1, got %r" % (concurrency,))
        o.concurrency = int(concurrency)
    if schedule is not None:
        if schedule not in _lib.SCHEDULES:
            raise ValueError("schedule must be one of %s, got %r"
                             % (", ".join(_lib.SCHEDULES), schedule))
        o.schedule = _lib.SCHEDULES[schedule]
    if kill_grace is not None:
        if kill_grace < 0:
            raise ValueError("kill_grace must be seconds >= 0, got %r" % (kill_grace,))
        # 0: SIGKILL at once, no SIGTERM first
        o.kill_grace_ms = _lib.TD_KILL_NOW if kill_grace == 0 else \
            max(1, int(round(kill_grace * 1000)))
    o.seed = int(seed or 0)
    o.functions = functions_ptr
    return o


class Run:
    """A run of a batch (Graph.start()). Drive it once: wait() or iterate it on one thread, or
    `await wait_async()` / `async for` on an event loop. close() it (or use `with`)."""

    def __init__(self, graph, batch, plan, *, functions=None, concurrency=None, schedule=None,
                 kill_grace=None, seed=None, workers=None, timeout=None, dialect=0):
        self._ptr = None
        self._keep = (graph, batch, plan)  # the C run borrows them
        self._batch = batch
        self._side = Side()
        self._fns = Registry(functions, workers, self._side)
        try:
            opts = _opts(self._fns.ptr, concurrency, schedule, kill_grace, seed)
            ptr, diag = ctypes.c_void_p(), _lib.Diag()
            check(api.run_new(plan.ptr, ctypes.byref(opts), ctypes.byref(ptr),
                              ctypes.byref(diag)), "cannot start the run", diag)
        except BaseException:
            self._fns.free()
            raise
        self._ptr = ptr.value
        if timeout is not None and timeout < 0:
            timeout = 0
        self._timeout = timeout
        self._dialect = dialect
        self._order = []  # call indices in the order they finished
        self._done = False
        self._mode = None
        self._driver = None
        self._in_step = False
        self._requests = []  # queued cancel() requests: None for all, else a call id
        self._lock = threading.Lock()
        self._wake = -1
        self._loop = self._timer = self._limit = self._waiter = self._change = None

    # ---- what the run holds ----

    @property
    def done(self):
        """True once every call has its result."""
        return self._done

    @property
    def makespan(self):
        """Seconds from the run's start to now, or to its end."""
        return api.run_makespan_us(self._live()) / 1e6

    def result(self, index):
        """The CallResult of the call at `index` (batch order); status "pending" or "running"
        until it has finished."""
        res = _lib.Result()
        rc = api.run_result(self._live(), index, ctypes.byref(res))
        if rc < 0 and rc != _lib.TD_ESTATE:  # TD_ESTATE: no result yet, res says why
            raise IndexError("no call %r in this run" % (index,))
        r = CallResult()
        r.index = index
        r.id = api.batch_call_id(self._batch.ptr, index).decode("utf-8", "replace")
        r.name = api.batch_call_tool(self._batch.ptr, index).decode("utf-8", "replace")
        r.status = _lib.STATUSES[res.status]
        r.is_error = bool(res.is_error)
        r.content = ctypes.string_at(res.content, res.content_len).decode("utf-8", "replace") \
            if res.content else ""
        r.exit_code = res.exit_code if res.exit_code >= 0 else None
        r.signal = res.signal
        r.attempts = res.attempts
        r.truncated = bool(res.truncated)
        r.start = res.start_us / 1e6 if res.start_us >= 0 else None
        r.end = res.end_us / 1e6 if res.end_us >= 0 else None
        r.queue = res.queue_us / 1e6
        worker = api.run_result_worker(self._live(), index)
        r.worker = worker.decode("utf-8", "replace") if worker is not None else None
        return r

    @property
    def results(self):
        """Every call's CallResult, in call order."""
        return [self.result(i) for i in range(self._batch.count)]

    @property
    def finished(self):
        """Indices of the calls that have finished, in the order they finished."""
        return list(self._order)

    def messages(self, dialect=None):
        """The results as a list to extend the conversation with, in the calls' dialect (or
        `dialect`): one user message of tool_result blocks (Anthropic), role "tool" messages
        (OpenAI Chat), function_call_output items (Responses)."""
        code = self._dialect if dialect is None else _dialect_code(dialect)
        out = ctypes.c_void_p()
        check(api.run_results_json(self._live(), code, 0, ctypes.byref(out)), "results")
        doc = json.loads(_lib.take_string(out.value))
        return [doc] if isinstance(doc, dict) else doc

    def report(self):
        """The run report (tooldag run --report) as a dict."""
        out = ctypes.c_void_p()
        check(api.run_report_json(self._live(), 0, ctypes.byref(out)), "report")
        return json.loads(_lib.take_string(out.value))

    # ---- cancelling ----

    def cancel(self, call_id=None):
        """Cancels every unfinished call, or the one with this id (KeyError if there is none).
        Any thread, and from inside a function tool: the driver applies it between steps."""
        if call_id is not None and call_id not in self._batch.ids():
            raise KeyError(call_id)
        with self._lock:
            self._requests.append(call_id)
        if self._ptr is None or self._done:
            return
        here = self._driver is None or self._driver == threading.get_ident()
        if here and not self._in_step:
            self._apply_requests()
            if self._mode == "async":
                self._loop.call_soon(self._step_async)
        elif self._mode == "async":
            self._loop.call_soon_threadsafe(self._step_async)
        elif self._wake >= 0:
            os.eventfd_write(self._wake, 1)

    def _apply_requests(self):
        with self._lock:
            todo, self._requests = self._requests, []
        for call_id in todo:
            if call_id is None:
                api.run_cancel(self._ptr)
            else:
                api.run_cancel_id(self._ptr, call_id.encode())

    # ---- stepping ----

    def _live(self):
        if self._ptr is None:
            raise ValueError("the run is closed")
        return self._ptr

    def _begin(self, mode):
        self._live()
        if self._mode is not None:
            raise RuntimeError("this run is already driven (%s)" % self._mode)
        self._mode = mode
        self._driver = threading.get_ident()

    def _step(self):
        if self._requests:
            self._apply_requests()
        self._in_step = True
        try:
            rc = api.run_step(self._ptr)
        finally:
            self._in_step = False
        if rc < 0:
            raise Error(rc, "the run failed")
        ptr, order, side = self._ptr, self._order, self._side
        watch = bool(side.by_call)
        c = api.run_next_finished(ptr)
        while c >= 0:
            order.append(c)
            if watch:
                side.call_finished(c)
            c = api.run_next_finished(ptr)
        return rc

    # ---- driven by this thread ----

    def wait(self):
        """Runs to the end on this thread (the GIL is released while it waits). With coroutine
        functions it runs a private event loop (asyncio.run): not from inside a running loop,
        where `await wait_async()` is the way. Ctrl-C (KeyboardInterrupt) cancels the run,
        waits for every call's result, and is raised."""
        if self._done:
            return
        if self._fns.has_coroutines:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(self.wait_async())
                return
            raise RuntimeError("coroutine functions inside a running event loop: await "
                               "run_async() or wait_async() instead of run() or wait()")
        for _ in self._drive():
            pass

    def __iter__(self):
        """Yields each CallResult as its call finishes (sync callables only). Leaving the loop
        early cancels the calls still running."""
        if self._fns.has_coroutines:
            raise TypeError("a run with coroutine functions is iterated with `async for`")
        return self._drive()

    def _drive(self):
        self._begin("sync")
        ptr, pos = self._ptr, 0
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        poller = select.poll()
        poller.register(api.run_fd(ptr), select.POLLIN)
        self._wake = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        poller.register(self._wake, select.POLLIN)
        try:
            while True:
                more = self._step()
                while pos < len(self._order):
                    pos += 1
                    yield self.result(self._order[pos - 1])
                if not more:
                    break
                wait = 0 if self._requests else api.run_timeout(ptr)
                if deadline is not None:
                    left = math.ceil((deadline - time.monotonic()) * 1000)
                    if left <= 0:
                        deadline, left = None, 0
                        self.cancel()
                    wait = left if wait < 0 else min(wait, left)
                for fd, _ in poller.poll(wait):
                    if fd == self._wake:
                        os.eventfd_read(self._wake)
            self._done = True
        except BaseException:
            self._end_after_interrupt()
            raise
        finally:
            os.close(self._wake)
            self._wake = -1

    def _end_after_interrupt(self):
        """KeyboardInterrupt, an abandoned iteration: cancel, then let every call get its
        result (a second interrupt leaves the rest to close())."""
        try:
            api.run_cancel(self._ptr)
            while self._step() == 1:
                t = api.run_timeout(self._ptr)
                select.select([api.run_fd(self._ptr)], [], [], None if t < 0 else t / 1000)
            self._done = True
        except BaseException:  # noqa: B036 - close() kills and reaps what is left
            pass

    # ---- driven by an asyncio loop ----

    async def wait_async(self):
        """Runs to the end on the running loop, without a thread. Cancelling the awaiting
        task cancels the run: every call still gets its result (`cancelled`), processes are
        reaped, then CancelledError is raised."""
        self._begin_async()
        try:
            await asyncio.shield(self._waiter)
        except asyncio.CancelledError:
            await self._cancel_and_settle()
            raise

    def __aiter__(self):
        """`async for result in run`: each CallResult as its call finishes. Leaving the loop
        early lets the run go on (await wait_async() or cancel() it); cancelling the consuming
        task cancels the run."""
        return self._aiter()

    async def _aiter(self):
        self._begin_async()
        pos = 0
        while True:
            while pos < len(self._order):
                pos += 1
                yield self.result(self._order[pos - 1])
            if self._waiter.done():
                self._waiter.result()
                if pos >= len(self._order):
                    return
                continue
            if self._change is None:
                self._change = self._loop.create_future()
            try:
                await asyncio.shield(self._change)
            except asyncio.CancelledError:
                await self._cancel_and_settle()
                raise

    async def _cancel_and_settle(self):
        if self._waiter.done():
            return
        self.cancel()
        while not self._waiter.done():
            try:
                await asyncio.shield(self._waiter)
            except asyncio.CancelledError:
                pass  # already cancelling: wait for every result all the same
            except Exception:  # noqa: BLE001 - the first cancellation is what we raise
                break

    def _begin_async(self):
        loop = asyncio.get_running_loop()
        if self._mode == "async":
            if loop is not self._loop:
                raise RuntimeError("this run is driven by another event loop")
            return
        self._begin("async")
        self._loop = self._side.loop = loop
        self._waiter = loop.create_future()
        if self._done:
            self._waiter.set_result(None)
            return
        loop.add_reader(api.run_fd(self._ptr), self._step_async)
        if self._timeout is not None:
            self._limit = loop.call_later(self._timeout, self.cancel)
        loop.call_soon(self._step_async)

    def _on_deadline(self):
        self._timer = None
        self._step_async(True)

    def _step_async(self, deadline=False):
        if self._done or self._ptr is None:
            return
        try:
            more = self._step()
            if deadline and self._side.tasks:
                self._side.drop_abandoned()
        except BaseException as exc:  # noqa: B036 - it goes to whoever awaits the run
            self._end_async(exc)
            return
        self._notify()
        if more:
            self._arm_timer()
        else:
            self._end_async(None)

    def _arm_timer(self):
        t = 0 if self._requests else api.run_timeout(self._ptr)
        if t < 0:
            return  # a timer already armed fires early, which is harmless: a step drains
        when = self._loop.time() + t / 1000
        if self._timer is not None:
            if self._timer.when() <= when:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._on_deadline)

    def _notify(self):
        if self._change is not None:
            self._change.set_result(None)
            self._change = None

    def _end_async(self, exc):
        self._loop.remove_reader(api.run_fd(self._ptr))
        for h in (self._timer, self._limit):
            if h is not None:
                h.cancel()
        self._timer = self._limit = None
        self._done = exc is None
        self._side.cancel_all()
        if exc is None:
            self._waiter.set_result(None)
        else:
            self._waiter.set_exception(exc)
        self._notify()

    # ---- the end ----

    def close(self):
        """Frees the run: kills and reaps whatever is still running. If a plain function is
        still running on a worker thread (its call timed out or was cancelled, and Python
        cannot stop a thread), the memory is released in the background once it returns."""
        if self._ptr is None:
            return
        try:
            if self._mode == "async" and not self._done and not self._waiter.done():
                self._end_async(Error(_lib.TD_ECANCELED, "the run was closed"))
        except RuntimeError:  # its loop is closed: nothing there to undo
            pass
        self._side.cancel_all()
        ptr, self._ptr = self._ptr, None
        fns, keep = self._fns, self._keep
        if self._side.busy():
            threading.Thread(target=_free, args=(ptr, fns, keep), daemon=True,
                             name="tooldag-free").start()
        else:
            _free(ptr, fns, keep)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - nothing to tell at interpreter exit
            pass


def _free(ptr, fns, keep):
    api.run_free(ptr)  # joins the worker threads, GIL released
    fns.free()
    del keep


def _dialect_code(name):
    if name is None:
        return 0
    code = ctypes.c_int()
    if api.dialect_parse(name.encode(), ctypes.byref(code)) < 0:
        raise ValueError("dialect must be anthropic, openai, responses or auto, got %r"
                         % (name,))
    return code.value
