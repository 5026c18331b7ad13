# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Railway-workflow benchmark: prints P5 and P6 from runs of playbooks/railway.yml against the Railway emulator.

P5  API requests (GraphQL, the upload and the subscription's WebSocket) of a full run (variables, settings and an
    upload that deploys) whose deployment takes 3 minutes of emulator time: 6 phases of 30 s (queued, initializing,
    building, pre-deploy migration, deploying, health check), the emulator's clock at 60x so that it takes 3 s of
    real time; the wait goes over the subscription                                      goal <= 8 requests
    requests per operation of that run (each operation once, unless there is a reason)
    and of a no-change re-run                                             target <= 6 requests and 0 mutations
P6  seconds from the deployment reaching its final status (the emulator's statusUpdatedAt) to the release task's
    end (railway_release action=apply, which then checks /api/health once), median over forced deployments
                                                                                        goal <= 0.5 s median
P7  the same with the deployment FAILED and every read of its events and logs answered HTTP 503 (diagnostics down;
    rollback_on_failure on), or not answered for 30 s (diagnostics hanging), worst of the runs, and the diagnostic
    requests per operation                                                                  goal <= 10 s, <= 2 each

Figures, not assertions. For comparison, the status polls that the polling fallback would send for a real
3-minute deployment are simulated with the module's own waiter (waiter.Waiter) on that phase plan.
Run after `scripts/bootstrap`: .venv/bin/python benchmarks/railway_workflow.py [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import exit_without_the_test_toolchain, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.backendops.stack.plugins.module_utils.waiter import Waiter  # noqa: E402  pylint: disable=wrong-import-position,import-error
from tools.railway_emulator.testing import EmulatorProcess  # noqa: E402  pylint: disable=wrong-import-position

PHASE_SECONDS = 30.0
CLOCK_SCALE = 60.0
# QUEUED, INITIALIZING, BUILDING, then pre-deploy, container start and health check, all reported as DEPLOYING.
PHASES = ["QUEUED", "INITIALIZING", "BUILDING", "DEPLOYING", "DEPLOYING", "DEPLOYING"]
DEPLOY_TASK = "Release to Railway"
TOKENS = ("account", "workspace", "project")
FULL_GOAL, AGAIN_TARGET, P6_GOAL = 8, 6, 0.5
P7_GOAL, P7_READS = 10.0, 2
DIAGNOSTICS = ("DeploymentEvents", "BuildLogs", "DeploymentLogs")
# How the diagnostics fail in P7: answered with an error, or not answered within any request timeout.
DIAGNOSTIC_FAULTS = {"down (HTTP 503)": {"kind": "http_503"}, "hanging (no answer for 30 s)": {"kind": "slow", "seconds": 30}}
VARIABLES = {"SUPABASE_URL": "https://bench-ref.supabase.co", "SUPABASE_ANON_KEY": "bench-anon-key",
             "JWT_SECRET": "bench-jwt-secret-0123456789abcdef0123", "HEALTH_TOKEN": "bench-health-token-0123"}


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Bench:
    """railway.yml against one emulator, with the counters of each run."""

    def __init__(self, emulator: EmulatorProcess, scratch: Path) -> None:
        self.emulator = emulator
        self.inventory = scratch / "inventory.yml"
        host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "railway_project": "backendops-demo", "railway_variables": VARIABLES,
                # The seeded service is connected to acme/backend: the benchmark uploads the sample over it.
                "railway_deploy_source": "upload",
                "railway_health_base_url": emulator.admin_url + "/apps/{domain}"}
        self.inventory.write_text(yaml.safe_dump({"all": {"children": {"railway": {"hosts": {"localhost": host}}}}}))
        self.extra = scratch / "extra.json"

    def run(self, token: str = "account", fails: bool = False, **variables) -> tuple[dict, dict]:
        """One run (that must fail when ``fails``); returns (counters, JSON callback document)."""
        env = {"RAILWAY_API_URL": self.emulator.url, "RAILWAY_API_TOKEN": "", "RAILWAY_TOKEN": "",
               "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
        env["RAILWAY_TOKEN" if token == "project" else "RAILWAY_API_TOKEN"] = getattr(self.emulator, token + "_token")
        if token == "project":
            variables.setdefault("railway_project", None)
        self.extra.write_text(json.dumps(variables))
        self.emulator.reset_counters()
        outcome = run_playbook("playbooks/railway.yml", "-i", str(self.inventory), "-e", f"@{self.extra}", env=env)
        if (outcome.rc != 0) != fails:
            raise SystemExit(f"benchmark: railway.yml {'succeeded' if fails else 'failed'}:\n{outcome.output[-3000:]}")
        return self.emulator.counters(), json.loads(outcome.stdout)

    def final_status_to_return(self, document: dict) -> tuple[float, int]:
        """(seconds from the deployment's final status to the end of the deploy task, status changes seen)."""
        task = next(t for play in document["plays"] for t in play["tasks"] if t["task"]["name"].endswith(DEPLOY_TASK))
        result = task["hosts"]["localhost"]["deployment"]
        returned = parse_time(task["task"]["duration"]["end"])
        clock = self.emulator.admin("GET", "clock")
        real_now, emulated_now = time.time(), parse_time(clock["now"])
        deployment = next(d for d in self.emulator.state()["deployments"] if d["id"] == result["deployment_id"])
        final = real_now - (emulated_now - parse_time(deployment["statusUpdatedAt"])) / clock["scale"]
        return returned - final, len(result["transitions"])


def simulated_polls(poll_interval: float = 2.0) -> tuple[int, float]:
    """Status polls and detection delay of railway_deploy's waiter for this phase plan in real time (scale 1)."""
    now = [0.0]
    total = PHASE_SECONDS * len(PHASES)

    def status():
        return "SUCCESS" if now[0] >= total else PHASES[int(now[0] // PHASE_SECONDS)]

    def sleep(seconds):
        now[0] += seconds

    outcome = Waiter(3600, interval=poll_interval, sleep=sleep, clock=lambda: now[0]).wait(status, lambda s: s == "SUCCESS")
    return outcome.polls, outcome.elapsed - total


def diagnostics_down(bench: Bench, emulator: EmulatorProcess, runs: int, fault: dict) -> list[tuple[float, dict]]:
    """(seconds from FAILED to the release task's end, diagnostic requests per operation) of forced deployments
    that fail while Railway answers none of their events and logs (each read meets ``fault``)."""
    figures = []
    for dummy in range(runs):
        emulator.clear_faults()
        emulator.inject("deploy_fail")
        for name in DIAGNOSTICS:
            emulator.inject(operation=name, count=10, **fault)
        counters, document = bench.run(fails=True, railway_force_deploy=True, railway_rollback_on_failure=True)
        figures.append((bench.final_status_to_return(document)[0],
                        {name: counters["by_operation"].get(name, 0) for name in DIAGNOSTICS}))
    emulator.clear_faults()
    return figures


def p7_summary(figures: list[tuple[float, dict]]) -> tuple[list[float], int, bool]:
    """(seconds of each run, most requests of one diagnostic operation in a run, whether both are within the goals)."""
    seconds = [figure[0] for figure in figures]
    reads = max(max(figure[1].values()) for figure in figures)
    return seconds, reads, max(seconds) <= P7_GOAL and reads <= P7_READS


def measure(runs: int = 5) -> dict:
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="backendops-railway-bench.") as scratch, \
            EmulatorProcess(phase_seconds=PHASE_SECONDS, clock_scale=CLOCK_SCALE) as emulator:
        bench = Bench(emulator, Path(scratch))
        for token in TOKENS:
            emulator.reset()
            full, document = bench.run(token)
            again = bench.run(token)[0]
            figures[token] = {"full": full, "again": again,
                              "polls": bench.final_status_to_return(document)[1]}
        emulator.reset()
        bench.run()  # the deployment that the forced ones replace
        latencies = []
        while len(latencies) < runs:
            latencies.append(bench.final_status_to_return(bench.run(railway_force_deploy=True)[1])[0])
        figures["P6"] = latencies
        figures["P7"] = {label: diagnostics_down(bench, emulator, runs, fault) for label, fault in DIAGNOSTIC_FAULTS.items()}
    figures["simulated"] = simulated_polls()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5, help="forced deployments for P6 (default 5)")
    args = parser.parse_args()
    exit_without_the_test_toolchain("benchmarks/railway_workflow.py")
    print(f"emulator: {len(PHASES)} phases x {PHASE_SECONDS:.0f} s = {len(PHASES) * PHASE_SECONDS / 60:.0f} min per "
          f"deployment, clock x{CLOCK_SCALE:.0f}; {args.runs} forced deployments for P6 ...", flush=True)
    figures = measure(args.runs)
    print(f"\n{'':4} {'run':40} {'requests':>8} {'GraphQL':>7} {'uploads':>7} {'sockets':>7} {'mutations':>9} {'goal':>18}")
    for token in TOKENS:
        for key, label, goal in (("full", "full run", f"<= {FULL_GOAL} requests"),
                                 ("again", "no-change re-run", f"<= {AGAIN_TARGET}, 0 mutations")):
            counters = figures[token][key]
            within = counters["requests"] <= FULL_GOAL if key == "full" else \
                counters["requests"] <= AGAIN_TARGET and counters["mutations"] == 0
            print(f"{'P5':4} {label + ' (' + token + ' token)':40} {counters['requests']:8d} {counters['graphql_requests']:7d} "
                  f"{counters['uploads']:7d} {counters['websockets']:7d} {counters['mutations']:9d} {goal:>18} "
                  f"{'ok' if within else 'over'}")
    for token in TOKENS:
        operations = dict(figures[token]["full"]["by_operation"])
        repeated = sorted(name for name, count in operations.items() if count > 1)
        print(f"{'':4} full run by operation ({token} token): {operations}"
              f"{'; repeated: ' + ', '.join(repeated) if repeated else '; no operation repeated'}")
    polls, late = figures["simulated"]
    print(f"{'':4} the wait: 1 subscription ({figures['account']['polls']} status changes seen); polling instead would send "
          f"{polls} status polls for a real 3-minute deployment (SUCCESS seen {late:.1f} s late)")
    latencies = figures["P6"]
    median = statistics.median(latencies)
    print(f"{'P6':4} final status -> module returned: median {median:.2f} s (runs: {', '.join(f'{x:.2f}' for x in latencies)})"
          f"   goal <= {P6_GOAL} s {'ok' if median <= P6_GOAL else 'over'}")
    for label, runs in figures["P7"].items():
        seconds, reads, within = p7_summary(runs)
        print(f"{'P7':4} FAILED -> module returned, events and logs {label}: worst {max(seconds):.2f} s (runs: "
              f"{', '.join(f'{x:.2f}' for x in seconds)}); diagnostic requests {runs[0][1]}, at most {reads} each"
              f"   goal <= {P7_GOAL:.0f} s, <= {P7_READS} each {'ok' if within else 'over'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
