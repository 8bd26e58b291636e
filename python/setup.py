# SPDX-License-Identifier: MIT
"""The tooldag Python package: pure Python over libtooldag.so (ctypes), nothing to compile.

`pip install ./python` builds it offline with the installed setuptools (there is deliberately
no pyproject.toml: pip would then fetch setuptools into an isolated build environment). The
libdir of an installed libtooldag (pkg-config tooldag, or $TOOLDAG_LIBDIR) is recorded in the
package so it is found without LD_LIBRARY_PATH; $TOOLDAG_LIBRARY overrides it at run time.
"""
import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py


def _libdir():
    if os.environ.get("TOOLDAG_LIBDIR"):
        return os.environ["TOOLDAG_LIBDIR"]
    try:
        out = subprocess.run(["pkg-config", "--variable=libdir", "tooldag"], check=True,
                             capture_output=True, text=True)
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


class BuildPy(build_py):
    def run(self):
        super().run()
        path = os.path.join(self.build_lib, "tooldag", "_config.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write("# written at install time: where libtooldag.so was found\n")
            f.write("LIBDIR = %r\n" % (_libdir(),))


setup(
    name="tooldag",
    version="0.1.0",
    description="Run a model turn's tool calls as a dependency graph (binding to libtooldag)",
    license="MIT",
    packages=["tooldag"],
    python_requires=">=3.11",
    cmdclass={"build_py": BuildPy},
)
