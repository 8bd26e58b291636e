# SPDX-License-Identifier: MIT
"""ctypes declarations of libtooldag's public API (include/tooldag.h), and the library itself.

The library is found, in order, at $TOOLDAG_LIBRARY (a path: nothing else is tried), in the
libdir recorded when the package was installed (pkg-config's), then by the dynamic loader
(LD_LIBRARY_PATH, ld.so.cache: libtooldag.so.0).

Two handles on the same library: `cdll` releases the GIL for the call (anything that may take
time, block or join threads: loading, decoding, planning, stepping, freeing), `pydll` keeps it
(accessors and completions that take a few hundred nanoseconds, called once per tool call;
releasing the GIL around them would only invite a convoy of pool threads). Nothing called
through `pydll` waits for another thread that could want the GIL.
"""
import ctypes
import os
from ctypes import (POINTER, CFUNCTYPE, Structure, c_char, c_char_p, c_int, c_int64, c_size_t,
                    c_uint, c_uint64, c_void_p)

ABI_VERSION = (0, 1)

TD_ENOMEM = -12
TD_EINVAL = -22
TD_ESYNTAX = -1001
TD_EGRAPH = -1002
TD_EBATCH = -1003
TD_ECYCLE = -1004
TD_ETOOBIG = -1005
TD_ENOURING = -1006
TD_ESTATE = -1007
TD_KILL_NOW = 0xFFFFFFFF
TD_ENOTFOUND = -1008
TD_ECANCELED = -1009

TD_LOAD_KEEP_ENV = 1

FN_INLINE, FN_BLOCKING, FN_ASYNC = 0, 1, 2

SCHEDULES = {"level": 0, "eager": 1, "critical": 2}
STATUSES = ("pending", "running", "ok", "error", "timeout", "skipped", "cancelled")

# Structures the library reads or fills get room to spare at their end: a newer library that
# grows td_run_opts reads zeros (its defaults) there, one that grows td_result writes there.
_SPARE = 256


class DiagItem(Structure):
    _fields_ = [("code", c_int), ("line", c_uint), ("column", c_uint), ("file", c_char_p),
                ("message", c_char_p)]


class Diag(Structure):
    _fields_ = [("code", c_int), ("count", c_size_t), ("dropped", c_size_t),
                ("limit", c_size_t), ("items", POINTER(DiagItem))]


class RunOpts(Structure):
    _fields_ = [("concurrency", c_uint), ("schedule", c_int), ("kill_grace_ms", c_uint),
                ("seed", c_uint64), ("functions", c_void_p), ("_spare", c_char * _SPARE)]


class Result(Structure):
    _fields_ = [("status", c_int), ("is_error", c_int), ("content", c_void_p),
                ("content_len", c_size_t), ("exit_code", c_int), ("signal", c_int),
                ("attempts", c_uint), ("truncated", c_int), ("start_us", c_int64),
                ("end_us", c_int64), ("queue_us", c_int64), ("_spare", c_char * _SPARE)]


FN = CFUNCTYPE(None, c_void_p, c_void_p)
HOOK = CFUNCTYPE(None, c_void_p)


def _candidates():
    path = os.environ.get("TOOLDAG_LIBRARY")
    if path:
        return [path]
    found = []
    try:
        from . import _config
        if _config.LIBDIR:
            found.append(os.path.join(_config.LIBDIR, "libtooldag.so.0"))
    except ImportError:
        pass
    return found + ["libtooldag.so.0", "libtooldag.so"]


def _open():
    errors = []
    for name in _candidates():
        try:
            return name, ctypes.CDLL(name), ctypes.PyDLL(name)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("tooldag: cannot load libtooldag.so (build and install the C library, "
                      "or set TOOLDAG_LIBRARY to its path): " + "; ".join(errors))


path, cdll, pydll = _open()
libc = ctypes.CDLL(None)
libc.free.argtypes = [c_void_p]
libc.free.restype = None

_vp, _ip, _sz = c_void_p, c_int, c_size_t
_PROTOS = {
    # name: (handle, restype, argtypes)
    "td_version": (pydll, c_char_p, []),
    "td_strerror": (pydll, c_char_p, [_ip]),
    "td_errname": (pydll, c_char_p, [_ip]),
    "td_diag_clear": (pydll, None, [POINTER(Diag)]),
    "td_graph_load_file_flags": (cdll, _ip, [c_char_p, c_uint, POINTER(_vp), POINTER(Diag)]),
    "td_graph_load_buffer": (cdll, _ip, [c_char_p, _sz, c_char_p, c_char_p, POINTER(_vp),
                                         POINTER(Diag)]),
    "td_graph_free": (cdll, None, [_vp]),
    "td_graph_tool_count": (pydll, _sz, [_vp]),
    "td_graph_tool_name": (pydll, c_char_p, [_vp, _sz]),
    "td_graph_has_calls": (pydll, _ip, [_vp]),
    "td_graph_concurrency": (pydll, c_uint, [_vp]),
    "td_graph_tools_json": (cdll, _ip, [_vp, _ip, _ip, POINTER(_vp)]),
    "td_graph_dot": (cdll, _ip, [_vp, POINTER(_vp)]),
    "td_dialect_parse": (pydll, _ip, [c_char_p, POINTER(c_int)]),
    "td_dialect_name": (pydll, c_char_p, [_ip]),
    "td_batch_decode": (cdll, _ip, [_vp, c_char_p, _sz, _ip, c_char_p, POINTER(_vp),
                                    POINTER(Diag)]),
    "td_batch_from_graph": (cdll, _ip, [_vp, POINTER(_vp), POINTER(Diag)]),
    "td_stream_detect": (pydll, _ip, [c_char_p, _sz]),
    "td_stream_new": (pydll, _ip, [_ip, c_char_p, POINTER(_vp)]),
    "td_stream_feed": (cdll, _ip, [_vp, c_char_p, _sz]),
    "td_stream_finish": (cdll, _ip, [_vp, _vp, POINTER(_vp), POINTER(Diag)]),
    "td_stream_free": (cdll, None, [_vp]),
    "td_batch_free": (cdll, None, [_vp]),
    "td_batch_dialect": (pydll, _ip, [_vp]),
    "td_batch_count": (pydll, _sz, [_vp]),
    "td_batch_call_id": (pydll, c_char_p, [_vp, _sz]),
    "td_batch_call_tool": (pydll, c_char_p, [_vp, _sz]),
    "td_plan_new": (cdll, _ip, [_vp, POINTER(_vp), POINTER(Diag)]),
    "td_plan_free": (cdll, None, [_vp]),
    "td_plan_json": (cdll, _ip, [_vp, _ip, POINTER(_vp)]),
    "td_plan_level_count": (pydll, _sz, [_vp]),
    "td_plan_level": (pydll, _ip, [_vp, _sz, POINTER(POINTER(ctypes.c_uint32))]),
    "td_plan_dot": (cdll, _ip, [_vp, POINTER(_vp)]),
    "td_plan_mermaid": (cdll, _ip, [_vp, POINTER(_vp)]),
    "td_run_new": (cdll, _ip, [_vp, POINTER(RunOpts), POINTER(_vp), POINTER(Diag)]),
    "td_run_fd": (pydll, _ip, [_vp]),
    "td_run_timeout": (pydll, _ip, [_vp]),
    "td_run_step": (cdll, _ip, [_vp]),
    "td_run_cancel": (cdll, None, [_vp]),
    "td_run_cancel_id": (cdll, _ip, [_vp, c_char_p]),
    "td_run_free": (cdll, None, [_vp]),
    "td_run_result": (pydll, _ip, [_vp, _sz, POINTER(Result)]),
    "td_run_makespan_us": (pydll, c_int64, [_vp]),
    "td_run_result_worker": (pydll, c_char_p, [_vp, _sz]),
    "td_run_results_json": (cdll, _ip, [_vp, _ip, _ip, POINTER(_vp)]),
    "td_run_report_json": (cdll, _ip, [_vp, _ip, POINTER(_vp)]),
    "td_run_next_finished": (pydll, _ip, [_vp]),
    "td_functions_new": (pydll, _ip, [POINTER(_vp)]),
    "td_functions_free": (pydll, None, [_vp]),
    "td_functions_add": (pydll, _ip, [_vp, c_char_p, _ip, FN, _vp]),
    "td_functions_set_workers": (pydll, _ip, [_vp, c_uint]),
    "td_functions_set_thread_hooks": (pydll, _ip, [_vp, HOOK, HOOK, _vp]),
    "td_fn_call_id": (pydll, c_char_p, [_vp]),
    "td_fn_call_tool": (pydll, c_char_p, [_vp]),
    "td_fn_call_input": (pydll, c_char_p, [_vp, _vp]),
    "td_fn_call_envelope": (pydll, c_char_p, [_vp, _vp]),
    "td_fn_call_index": (pydll, _sz, [_vp]),
    "td_fn_call_attempt": (pydll, c_uint, [_vp]),
    "td_fn_call_cancelled": (pydll, _ip, [_vp]),
    "td_fn_complete": (pydll, _ip, [_vp, _ip, c_char_p, _sz]),
}


class _Api:
    pass


api = _Api()
for _name, (_dll, _res, _args) in _PROTOS.items():
    _f = getattr(_dll, _name)
    _f.restype = _res
    _f.argtypes = _args
    setattr(api, _name[3:], _f)


def take_string(ptr):
    """A char * the caller owns, as str; freed."""
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        libc.free(ptr)


def library_version():
    return api.version().decode()


def _check_version():
    have = tuple(int(x) for x in library_version().split(".")[:2])
    if have != ABI_VERSION:
        raise ImportError("tooldag: libtooldag %s at %s, but this package speaks %d.%d"
                          % (library_version(), path, *ABI_VERSION))


_check_version()
