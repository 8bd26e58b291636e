# int_default.sh - sourced by the scripts that interrupt a run they started in the background.
# A script's background job starts with SIGINT ignored (POSIX), and tooldag leaves an ignored
# signal alone, as make does. `int_default CMD...` (in a background job only: it execs) starts
# CMD as a terminal's job is started, with SIGINT at its default.
int_default() {
	exec python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
