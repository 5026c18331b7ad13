# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Durability (docs/evidence.md): reports and their triage jobs survive what a local stack goes through.

The engine restart stops the Docker engine for every container on the host, so it carries the marker
engine_restart and runs in its own stage, before the tests that need the engine.
"""
from __future__ import annotations

import pytest

from evidence.durability import run_engine_restart, run_steps
from support import PIDFILE_ENGINE, engine_has_pidfile, needs, needs_root


def test_rows_and_jobs_survive_rerun_rebuild_restart_and_down(tmp_path):
    results = run_steps(tmp_path)
    assert len(results) == 4
    failures = [result.as_row().describe() for result in results if not result.ok]
    assert not failures, "\n".join(failures)


@pytest.mark.engine_restart
@needs_root
@needs(engine_has_pidfile, PIDFILE_ENGINE)
def test_rows_and_jobs_survive_an_engine_restart(tmp_path):
    result = run_engine_restart(tmp_path)
    assert result.ok, result.as_row().describe()
