# SPDX-License-Identifier: MIT
"""tooldag.Error: a failed library call with every diagnostic the library reported."""
import ctypes
import errno

from ._lib import Diag, api


class Diagnostic:
    """One problem: where it is (file, line, column; None when unknown) and what it is."""

    __slots__ = ("file", "line", "column", "message", "code")

    def __init__(self, file, line, column, message, code):
        self.file, self.line, self.column = file, line, column
        self.message, self.code = message, code

    def __str__(self):
        where = [str(x) for x in (self.file, self.line, self.column) if x is not None]
        return ":".join(where) + ": " + self.message if where else self.message

    def __repr__(self):
        return "Diagnostic(%r, %r, %r, %r)" % (self.file, self.line, self.column, self.message)


class Error(Exception):
    """A library call failed. `code` is the TD_E* code or -errno, `name` its name ("TD_EGRAPH",
    "ENOENT"), `diagnostics` every problem found (file, line, column, message)."""

    def __init__(self, code, what, diagnostics=()):
        self.code = code
        self.name = api.errname(code).decode()
        if self.name == "unknown" and -code in errno.errorcode:
            self.name = errno.errorcode[-code]
        self.diagnostics = list(diagnostics)
        self.what = what
        lines = [str(d) for d in self.diagnostics] or [api.strerror(code).decode()]
        super().__init__("%s: %s" % (what, "\n".join(lines)))


def _text(b):
    return b.decode("utf-8", "replace") if b is not None else None


def diagnostics(diag):
    """The items of a struct td_diag as Diagnostic objects (the struct is not cleared)."""
    out = []
    for i in range(diag.count):
        it = diag.items[i]
        out.append(Diagnostic(_text(it.file), it.line or None, it.column or None,
                              _text(it.message) or "", it.code))
    if diag.dropped:
        out.append(Diagnostic(None, None, None, "%d more problems not listed" % diag.dropped,
                              diag.code))
    return out


def check(rc, what, diag=None):
    """Raises Error for a negative return, with diag's items; clears diag either way."""
    try:
        if rc < 0:
            raise Error(rc, what, diagnostics(diag) if diag is not None else ())
    finally:
        if diag is not None and diag.count:
            api.diag_clear(ctypes.byref(diag))
    return rc


def new_diag():
    return Diag()
