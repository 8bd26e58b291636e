# SPDX-License-Identifier: MIT
"""`pip install` of python/, offline, into a temporary prefix and into a venv, then used from
outside the source tree."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

CHECK = """\
import os, sys, tooldag
assert not tooldag.__file__.startswith(os.environ["TD_SRC"]), tooldag.__file__
g = tooldag.Graph.load(os.path.join(os.environ["TD_SRC"], "graphs", "travel.yaml"))
out = g.run()
print(tooldag.__file__)
print(len(out[0]["content"]), out[0]["content"][0]["content"].strip())
"""


@pytest.fixture
def package(tmp_path, src):
    """A copy of python/: pip builds in place, and the source tree stays untouched."""
    dst = tmp_path / "pkg"
    shutil.copytree(os.path.join(src, "python"), dst,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    return str(dst)


def pip(python, *args, env=None):
    out = subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-cache-dir",
                          "--disable-pip-version-check", *args], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def check(python, tmp_path, src, env):
    out = subprocess.run([python, "-c", CHECK], cwd=str(tmp_path), capture_output=True,
                         text=True, env=dict(env, TD_SRC=src), timeout=60)
    assert out.returncode == 0, out.stderr
    where, summary = out.stdout.splitlines()
    assert where.startswith(str(tmp_path))
    assert summary == "8 American SFO-JFK on 2026-12-20: $388"


def test_pip_install_into_a_prefix(tmp_path, src, package):
    prefix = tmp_path / "prefix"
    lib = os.environ["TOOLDAG_LIBRARY"]
    env = dict(os.environ, TOOLDAG_LIBDIR=os.path.dirname(lib))
    env.pop("PYTHONPATH", None)
    pip(sys.executable, "--no-build-isolation", "--prefix", str(prefix), package, env=env)
    init = glob.glob(str(prefix / "**" / "tooldag" / "__init__.py"), recursive=True)
    assert len(init) == 1, init
    config = os.path.join(os.path.dirname(init[0]), "_config.py")
    with open(config) as f:
        assert repr(os.path.dirname(lib)) in f.read()
    # found through the libdir recorded at install time, not TOOLDAG_LIBRARY
    env = {k: v for k, v in os.environ.items() if k != "TOOLDAG_LIBRARY"}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(init[0]))
    check(sys.executable, tmp_path, src, env)


def test_pip_install_into_a_venv(tmp_path, src, package):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip(python, package, env=env)
    check(python, tmp_path, src, env)


def test_a_missing_library_is_a_clear_import_error(tmp_path, src):
    env = dict(os.environ, TOOLDAG_LIBRARY=str(tmp_path / "libnothere.so"),
               PYTHONPATH=os.path.join(src, "python"))
    out = subprocess.run([sys.executable, "-c", "import tooldag"], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.returncode != 0
    assert "cannot load libtooldag.so" in out.stderr and "libnothere.so" in out.stderr
