#!/usr/bin/env python3
"""on_tty.py OUT CMD ARGS... - test helper: runs CMD with stdin, stdout and stderr on a
pseudo-terminal (so that isatty() is true for all three) and writes every byte it printed to
OUT; exits with CMD's status. The environment passes through (TERM, NO_COLOR)."""
import os, pty, sys

out, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:          # EIO: the child closed the terminal
        break
    if not chunk:
        break
    data += chunk
_, status = os.waitpid(pid, 0)
open(out, "wb").write(data)
sys.exit(os.waitstatus_to_exitcode(status))
