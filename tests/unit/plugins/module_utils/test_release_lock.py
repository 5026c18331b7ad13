# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One release per stack: the lock file, its holder's line, the wait and the takeover of a dead holder's lock."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.release_lock import LOCK_FILE, LockError, ReleaseLock


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self):
        return self.now


def test_the_holder_writes_its_host_user_pid_and_start_and_clears_them_on_release(tmp_path):
    lock = ReleaseLock(str(tmp_path), timeout=5)
    lock.acquire()
    line = (tmp_path / LOCK_FILE).read_text()
    assert "PID %d" % os.getpid() in line and "user " in line and "host " in line and "started 20" in line
    assert (os.stat(tmp_path / LOCK_FILE).st_mode & 0o777) == 0o600
    lock.release()
    assert (tmp_path / LOCK_FILE).read_text() == ""
    assert lock.stale == ""


def test_a_second_run_waits_up_to_its_timeout_then_fails_naming_the_holder(tmp_path):
    holder = ReleaseLock(str(tmp_path), timeout=5)
    holder.acquire()
    clock = Clock()
    second = ReleaseLock(str(tmp_path), timeout=3, sleep=clock.sleep, clock=clock)
    with pytest.raises(LockError) as error:
        second.acquire("stack dev")
    message = str(error.value)
    assert "Another release of stack dev is running (host " in message and "PID %d" % os.getpid() in message
    assert "\n" not in message and "lock_timeout" in message
    assert sum(clock.sleeps) >= 3  # it waited its timeout
    holder.release()
    second.acquire()  # free again
    second.release()


def test_the_lock_of_a_process_that_died_holding_it_is_taken_over_and_named(tmp_path):
    # A child takes the lock and dies without releasing it: the kernel drops the flock, the holder's line stays.
    code = ("import sys; sys.path[:0] = %r; from ansible_collections.backendops.stack.plugins.module_utils.release_lock "
            "import ReleaseLock; ReleaseLock(%r, 1).acquire(); import os; os._exit(0)") % (sys.path, str(tmp_path))
    subprocess.run([sys.executable, "-c", code], check=True)
    left = (tmp_path / LOCK_FILE).read_text().strip()
    assert left.startswith("host ")
    lock = ReleaseLock(str(tmp_path), timeout=0)
    lock.acquire()
    assert lock.stale == left
    lock.release()
