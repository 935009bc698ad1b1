#!/usr/bin/env python3
"""Drives `llmr chat` through a pseudo-terminal as a person would: a reply interrupted by
Ctrl-C (the program goes on), /stats, history recall with the up arrow, /reset, Ctrl-D."""
import os, pty, select, sys, time

bin_, model, hist = sys.argv[1], sys.argv[2], sys.argv[3]
pid, fd = pty.fork()
if pid == 0:
    os.execv(bin_, [bin_, "chat", "-m", model, "--temp", "0", "-n", "100000", "-c", "8192",
                    "--history", hist])

buf = b""
def read_until(needle, timeout=30):
    global buf
    end = time.time() + timeout
    while needle.encode() not in buf:
        left = end - time.time()
        if left <= 0:
            raise SystemExit(f"FAIL: timed out waiting for {needle!r}; screen: {buf[:600]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            buf += data
    if needle.encode() not in buf:
        raise SystemExit(f"FAIL: {needle!r} never appeared; screen: {buf[:600]!r}")
    at = buf.index(needle.encode()) + len(needle)
    seen, buf = buf[:at], buf[at:]
    return seen

def send(s):
    os.write(fd, s.encode())

read_until("/help lists commands")
read_until(">>> ")
# A long reply (-n 5000, context 512), interrupted as soon as text flows.
send("Once upon a time\r")
read_until("Once upon a time\r\n")       # the echo of the input line
time.sleep(0.2)                          # prompt processing, or the reply, under way
send("\x03")
read_until("(reply stopped)", timeout=60)
read_until(">>> ")
send("/stats\r")
out = read_until(">>> ")
if b"finish: cancelled" not in out:
    raise SystemExit(f"FAIL: /stats after Ctrl-C does not say cancelled: {out!r}")
# /reset, then the up arrow recalls it and Enter runs it again.
send("/reset\r")
read_until("conversation cleared")
read_until(">>> ")
send("\x1b[A")
read_until("/reset")
send("\r")
read_until("conversation cleared")
read_until(">>> ")
send("\x04")                             # Ctrl-D at an empty prompt exits
_, status = os.waitpid(pid, 0)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    raise SystemExit(f"FAIL: exit status {status}")
# libedit's history format escapes spaces as \\040.
lines = open(hist, encoding="utf-8", errors="replace").read().replace("\\040", " ")
if "Once upon a time" not in lines or "/reset" not in lines:
    raise SystemExit(f"FAIL: history file lacks the lines typed: {lines!r}")
print("pty: ok")
