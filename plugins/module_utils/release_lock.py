# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One release per stack at a time: an flock on a file in the stack's directory, naming its holder.

The kernel drops an flock when its holder's process ends, so a dead holder's lock is free by nature; the holder's
line left in the file (cleared by a holder that ends normally) tells that it was taken over.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from datetime import datetime, timezone

from ansible_collections.backendops.stack.plugins.module_utils.release_record import controller_user

LOCK_FILE = ".release.lock"
# Between two tries while another run holds the lock.
POLL_SECONDS = 1.0


class LockError(Exception):
    """The lock stayed held by another run; the message is one line naming that run."""


def holder_line(now: datetime | None = None) -> str:
    """Who holds the lock: host, user, PID and start time (UTC)."""
    user = controller_user()
    started = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "host %s, user %s, PID %d, started %s" % (socket.gethostname(), user, os.getpid(), started)


class ReleaseLock:
    """Held from acquire() to release() (or the process's end); `stale` names a dead holder it took over."""

    def __init__(self, directory: str, timeout: float, sleep=time.sleep, clock=time.monotonic):
        self.path = os.path.join(directory, LOCK_FILE)
        self.timeout = timeout
        self.sleep, self.clock = sleep, clock
        self.handle = None
        self.stale = ""

    def acquire(self, what: str = "the stack") -> None:
        # Not truncated on open: the holder's line is read while it holds the lock.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+")
        deadline = self.clock() + max(self.timeout, 0)
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self.clock() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "a run that has not written its name yet"
                    handle.close()
                    raise LockError("Another release of %s is running (%s) and held its lock %s for %s s: wait for it "
                                    "to end, or raise lock_timeout" % (what, holder, self.path, self.timeout)) from None
                self.sleep(POLL_SECONDS)
        handle.seek(0)
        self.stale = handle.read().strip()
        handle.seek(0)
        handle.truncate()
        handle.write(holder_line() + "\n")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is None:
            return
        # Cleared first: a line left behind means its holder died holding the lock.
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.flush()
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        self.handle.close()
        self.handle = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
