# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The evidence report: every fault, leak, durability, bad-input and benchmark figure in one table.

Runs the same checks as tests/integration/test_{fault_matrix,secret_leaks,durability,bad_input}.py (their rows come
from tests/evidence/) and the benchmarks P1-P4 (benchmarks/local_stack.py) and P5-P7
(benchmarks/railway_workflow.py), then prints one table; progress goes to stderr. Exit code 1 when a row fails.

    .venv/bin/python benchmarks/report.py            # everything, about 20 minutes on 2 cores
    .venv/bin/python benchmarks/report.py --quick    # without the benchmarks P1-P7, about 12 minutes

It needs what `make test` needs: the virtualenv, a Docker engine (root and /var/run/docker.pid for the engine
restart), the base images. It uses stacks of its own (free ports; P1-P4: 3903) and removes them; P1-P4 empty the
Docker build cache (cold builds).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS.parent / "tests"))
# pylint: disable=wrong-import-position
# Importing support puts the repository and .collections on sys.path.
import support  # noqa: E402
from evidence import bad_input, durability, fault_matrix, secret_leaks  # noqa: E402
from evidence.rows import Row, render_table  # noqa: E402
from tools.railway_emulator.testing import EmulatorProcess  # noqa: E402


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def section(name: str, produce: Callable[[], list[Row]]) -> list[Row]:
    """The rows of one section; an error becomes a failed row instead of ending the report."""
    progress(f"{name} ...")
    started = time.monotonic()
    try:
        # Benchmarks and playbook helpers print progress of their own: keep stdout for the table.
        with contextlib.redirect_stdout(sys.stderr):
            rows = produce()
    except (Exception, SystemExit) as exc:  # pylint: disable=broad-exception-caught
        traceback.print_exc(file=sys.stderr)
        return [Row(name, "(section)", f"error: {exc}".splitlines()[0][:150], "runs", False)]
    progress(f"{name}: {len(rows)} rows in {time.monotonic() - started:.0f} s")
    return rows


def fault_section(workdir: Path) -> list[Row]:
    with EmulatorProcess(**fault_matrix.EMULATOR_OPTIONS) as emulator:
        return fault_matrix.fault_rows(emulator, workdir)


def bad_input_section(workdir: Path) -> list[Row]:
    with EmulatorProcess(**fault_matrix.EMULATOR_OPTIONS) as emulator:
        return bad_input.bad_input_rows(emulator, workdir)


def leak_section(workdir: Path) -> list[Row]:
    (workdir / "local").mkdir()
    (workdir / "railway").mkdir()
    local = secret_leaks.scan_local_stack(workdir / "local")
    rows = secret_leaks.leak_rows(local, "local.yml")
    leaks = len(local.leaks)
    railway = secret_leaks.scan_railway(workdir / "railway")
    rows += secret_leaks.leak_rows(railway, "railway.yml", secret_leaks.RAILWAY_TARGETS)
    leaks += len(railway.leaks)
    total = f"{leaks} leak(s) in local.yml and railway.yml"
    return rows + [Row("secret leaks", "total (goal 0)", total, "0 leaks", leaks == 0)]


def durability_section(workdir: Path, engine_restart: bool) -> list[Row]:
    results = durability.run_steps(workdir / "steps")
    rows = []
    name = "Docker engine restart (restart policy)"
    if not engine_restart:
        rows.append(Row("durability", name, "skipped (--no-engine-restart)", "all found", None))
    elif not durability.DOCKER_PIDFILE.exists():
        rows.append(Row("durability", name, f"skipped: no {durability.DOCKER_PIDFILE} (engine not run by pidfile)", "all found", None))
    else:
        results.append(durability.run_engine_restart(workdir / "engine"))
    lost = sum(r.rows_written - r.rows_found + r.jobs_written - r.jobs_found for r in results)
    checked = sum(r.rows_written + r.jobs_written for r in results)
    return [r.as_row() for r in results] + rows + [
        Row("durability", "rows and jobs lost over all steps (goal 0)", f"{lost} of {checked} checked", "0", lost == 0)]


def local_benchmark_section() -> list[Row]:
    local_stack = importlib.import_module("local_stack")
    # P2's label carries the module calls of its no-change run.
    figures, labels, sizes, _counts = local_stack.measure()
    rows = []
    for key, (value, base, target) in figures.items():
        ratio = value / base if base else float("inf")
        measured, baseline = labels[key]
        unit = "MB" if " MB" in measured else "s"
        # The labels carry their unit ("re-run s (changed=0)"); the figure shows it once.
        name = f"{key} {measured.replace(' ' + unit, '')} vs {baseline.replace(' ' + unit, '')}"
        rows.append(Row("benchmark", name, f"{value:.1f} {unit} / {base:.1f} {unit} = {ratio:.2f}x", f"<= {target:.2f}x",
                        ratio <= target))
    # Figures without a goal of their own: what the prod image is made of, next to the dev image.
    rows.append(Row("benchmark", "P4 image sizes", ", ".join(
        f"{name} {'missing' if megabytes is None else f'{megabytes:.1f} MB'}" for name, (_image, megabytes) in sizes.items()),
        "figures", True, "; ".join(f"{name}: {image}" for name, (image, _mb) in sizes.items())))
    return rows


def railway_benchmark_section() -> list[Row]:
    railway_workflow = importlib.import_module("railway_workflow")
    figures = railway_workflow.measure()
    full, again = figures["account"]["full"], figures["account"]["again"]
    project = figures["project"]
    median = statistics.median(figures["P6"])
    goal, p6_goal = railway_workflow.FULL_GOAL, railway_workflow.P6_GOAL
    workspace = figures["workspace"]
    p7_seconds, p7_reads, p7_within = railway_workflow.p7_summary([run for runs in figures["P7"].values() for run in runs])
    return [
        Row("benchmark", "P5 full run (variables, settings, upload, deploy by subscription)",
            f"{full['requests']} requests = {full['requests'] / goal:.2f}x of {goal} ({full['graphql_requests']} GraphQL, "
            f"{full['uploads']} upload, {full['websockets']} socket, {full['mutations']} mutations; workspace token: "
            f"{workspace['full']['requests']}, project token: {project['full']['requests']})", f"<= {goal} requests",
            full["requests"] <= goal),
        Row("benchmark", "P5 no-change re-run", f"{again['requests']} requests = {again['requests'] / 6:.2f}x of 6, "
            f"{again['mutations']} mutations (project token: {project['again']['requests']})", "<= 6 requests, 0 mutations",
            again["requests"] <= 6 and again["mutations"] == 0),
        Row("benchmark", "P6 final status -> railway_deploy returned", f"median {median:.2f} s = {median / p6_goal:.2f}x of "
            f"{p6_goal} s ({len(figures['P6'])} runs)", f"<= {p6_goal} s", median <= p6_goal),
        Row("benchmark", "P7 FAILED -> railway_release returned, events and logs failing or hanging",
            f"worst {max(p7_seconds):.2f} s of {len(p7_seconds)} runs, at most {p7_reads} requests per diagnostic read",
            f"<= {railway_workflow.P7_GOAL:.0f} s, <= {railway_workflow.P7_READS} each", p7_within),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow benchmarks P1-P7")
    parser.add_argument("--no-engine-restart", action="store_true",
                        help="do not stop and restart the Docker engine (it stops every container on the host for a while)")
    args = parser.parse_args()
    support.exit_without_the_test_toolchain("benchmarks/report.py")
    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="backendops-evidence.") as scratch:
        for name, produce in (
            ("fault matrix", fault_section),
            ("bad input", bad_input_section),
            ("secret leaks", leak_section),
            ("durability", lambda workdir: durability_section(workdir, not args.no_engine_restart)),
        ):
            workdir = Path(scratch) / name.replace(" ", "-")
            workdir.mkdir()
            rows += section(name, lambda produce=produce, workdir=workdir: produce(workdir))
        if args.quick:
            rows += [Row("benchmark", key, "skipped (--quick)", "see docs/evidence.md", None) for key in ("P1-P4", "P5-P7")]
        else:
            rows += section("benchmark", local_benchmark_section)
            rows += section("benchmark", railway_benchmark_section)
    failed = sum(row.ok is False for row in rows)
    print(render_table(rows))
    print(f"\n{len(rows)} rows: {sum(row.ok is True for row in rows)} ok, {failed} failed, "
          f"{sum(row.ok is None for row in rows)} without a figure; {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
