#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""skips.py CONSOLE_LOG BUILD_DIR - fails when a test was skipped without saying why.

CONSOLE_LOG is what `ctest` (or `cmake --workflow`) printed: its closing list names the
skipped tests ("  12 - cli_test_x (Skipped)"). BUILD_DIR/Testing/Temporary/LastTest.log holds
each test's output; a skipped test must have printed a line that starts with "skip:" (any
case) giving the reason. A help text that changed, or a guard nobody meant to hit, turns a
whole suite into SKIP with ctest still green: this makes CI red instead.
"""
import re
import sys


def skipped_tests(console):
    return re.findall(r"^\s*\d+ - (\S+) \(Skipped\)\s*$", console, re.M)


def outputs(log):
    out, name, lines, inside = {}, None, [], False
    for line in log.splitlines():
        m = re.match(r"^\d+/\d+ Test: (\S+)$", line)
        if m:
            name, lines, inside = m.group(1), [], False
        elif name and line == "Output:":
            inside = True
        elif name and line == "<end of output>":
            out[name] = lines
            inside = False
        elif inside and not line.startswith("-----"):
            lines.append(line)
    return out


def main():
    if len(sys.argv) != 3:
        print("usage: skips.py CONSOLE_LOG BUILD_DIR", file=sys.stderr)
        return 2
    console = open(sys.argv[1], encoding="utf-8", errors="replace").read()
    log = open(sys.argv[2] + "/Testing/Temporary/LastTest.log", encoding="utf-8",
               errors="replace").read()
    out = outputs(log)
    bad = []
    for name in skipped_tests(console):
        reasons = [l for l in out.get(name, []) if re.match(r"^\s*skip:", l, re.I)]
        if reasons:
            print(f"ci: {name} skipped: {reasons[-1].strip()}")
        else:
            bad.append(name)
    for name in bad:
        print(f"ci: {name} was skipped without printing a reason (a line 'skip: ...')")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
