# SPDX-License-Identifier: MIT
"""CTest entry for the Python binding: Debian's pytest on this interpreter, against the library
of this build (TOOLDAG_LIBRARY). A missing pytest is a failure that says how to install it.

    /usr/bin/python3 tests/python/run.py [PYTEST ARGS]     (default: every test here)"""
import os
import sys

try:
    import pytest
except ImportError:
    sys.stderr.write("python binding tests: pytest is not installed for %s; install Debian's "
                     "python3-pytest (apt-get install python3-pytest)\n" % sys.executable)
    sys.exit(1)

if not os.environ.get("TOOLDAG_LIBRARY"):
    sys.stderr.write("python binding tests: TOOLDAG_LIBRARY must name the built libtooldag.so "
                     "(CTest sets it)\n")
    sys.exit(1)

here = os.path.dirname(os.path.abspath(__file__))
sys.exit(pytest.main(["-p", "no:cacheprovider", "-q", "-rs", "--rootdir", here] +
                     (sys.argv[1:] or [here])))
