# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Local-stack benchmark: prints P1-P4 from one run on this machine's real Docker engine.

P1  cold `playbooks/local.yml` vs raw `docker compose up -d --build --wait` on the same generated files
    (base images present, build cache and app image removed before each)            target <= 1.15x
P2  no-change re-run of local.yml (changed=0) vs a raw no-op `docker compose up -d --wait`  target <= 3x
    (also printed: the module calls of that re-run - tasks that ran a module, without set_fact, assert, debug,
    fail, meta, includes and role argument checks; a loop counts once per item - and the tasks it ran, by callback_plugins/module_calls.py)
P3  app image rebuild after a code-only change vs a cold build of it                  target <= 0.25x
P4  prod image size of the sample vs the 200 MB goal                                 target <= 1x
    (also printed: the sizes of the node build base, the node runtime base and the dev image, and of the build and
    runtime bases of every Node.js major on the host - base_images_node_majors)

Figures, not assertions. Uses its own stack (`bench`, port 3903) and a scratch copy of the sample backend,
and removes both at the end. Runs on what `make local` installed: .venv/bin/python benchmarks/local_stack.py [--quick]
With --quick it measures P2 and its module calls only: no cold builds, and the engine's build cache is left alone.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import REPO_ROOT, run_playbook  # noqa: E402  pylint: disable=wrong-import-position

STACK = "bench"
PORT = 3903
IMAGE = "backendops/backend-bench"
PROJECT_DIR = Path.home() / ".local/share/backendops/stacks" / STACK
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def sh(*cmd: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark: {' '.join(cmd)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc


def timed(func, *args, **kwargs):
    start = time.monotonic()
    result = func(*args, **kwargs)
    return time.monotonic() - start, result


def remove_app_images() -> None:
    ids = sh("docker", "image", "ls", "--quiet", "--filter", f"reference={IMAGE}").stdout.split()
    if ids:
        sh("docker", "image", "rm", "--force", *sorted(set(ids)))


def cold_state(prune: bool = True) -> None:
    """Stack and volumes gone, app image gone, build cache empty (unless prune=False); base images stay."""
    if (PROJECT_DIR / "compose.yaml").exists():
        sh("docker", "compose", "--project-directory", str(PROJECT_DIR), "down", "--volumes")
    remove_app_images()
    if prune:
        sh("docker", "builder", "prune", "--all", "--force")


def local_yml(source: Path, *extra: str, env: dict[str, str] | None = None):
    run = run_playbook("playbooks/local.yml", "-e", json.dumps({
        "compose_stack_name": STACK, "compose_stack_backend_port": PORT,
        "app_image_name": IMAGE, "app_image_source_dir": str(source),
    }), *extra, env=env)
    if run.rc != 0:
        raise SystemExit(f"benchmark: local.yml failed:\n{run.output[-3000:]}")
    return run


CALLBACKS = Path(__file__).resolve().parent / "callback_plugins"


def counting_env(counts: Path) -> dict[str, str]:
    """Environment that makes callback_plugins/module_calls.py write the run's module calls to ``counts``."""
    return {"ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS), "ANSIBLE_CALLBACKS_ENABLED": "module_calls",
            "BACKENDOPS_MODULE_CALLS_FILE": str(counts)}


def module_calls(counts: Path) -> dict:
    """What the callback counted: {"module_calls": N, "tasks": M, "by_action": {action: calls}}."""
    try:
        return json.loads(counts.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"benchmark: the module_calls callback wrote no counts to {counts}: {exc}") from exc


def rendered_dockerfile() -> Path:
    return Path.home() / ".cache/backendops/app-image" / IMAGE.replace("/", "_") / "Dockerfile"


PROD_GOAL_MB = 200.0  # issue 11: the seed's figure for its Alpine image


def stage_images(dockerfile: Path) -> dict[str, str]:
    """{stage: the image it starts from} of a multi-stage Dockerfile, following stages built FROM other stages.

    The first stage is also named "first". Global ARG defaults are substituted (FROM ${BASE_IMAGE}).
    """
    args: dict[str, str] = {}
    froms: dict[str, str] = {}
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        arg = re.match(r"\s*ARG\s+(\w+)=(\S+)", line, re.I)
        if arg and not froms:
            args[arg[1]] = arg[2].strip("\"'")
        match = re.match(r"\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if match:
            image = re.sub(r"\$\{?(\w+)\}?", lambda ref: args.get(ref[1], ref[0]), match[1])
            froms.setdefault("first", image)
            froms[(match[2] or f"#{len(froms)}").lower()] = image
    resolved = {}
    for stage, image in froms.items():
        seen = {stage}
        while image.lower() in froms and image.lower() not in seen:
            seen.add(image.lower())
            image = froms[image.lower()]
        resolved[stage] = image
    return resolved


NODE_BASES = ("backendops/node", "backendops/node-runtime")


def node_bases(listing: str) -> dict[str, str]:
    """{"node <major> build base" | "node <major> runtime base": ref} of each major's newest <major>-<digest> tag.

    listing: `docker image ls --format '{{.Repository}}:{{.Tag}}'`, newest first as Docker lists it.
    """
    found: dict[tuple[int, str], str] = {}
    for ref in listing.split():
        repository, _sep, tag = ref.rpartition(":")
        match = re.fullmatch(r"(\d+)-[0-9a-f]{12}", tag)
        if repository in NODE_BASES and match:
            found.setdefault((int(match[1]), "build" if repository == NODE_BASES[0] else "runtime"), ref)
    return {f"node {major} {kind} base": ref for (major, kind), ref in sorted(found.items())}


def image_mb(image: str) -> float | None:
    proc = subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", image], capture_output=True, text=True, check=False)
    return int(proc.stdout) / 1e6 if proc.returncode == 0 else None


def buildx(source: Path, target: str, tag: str) -> None:
    cmd = ["docker", "buildx", "build", "--load", "--file", str(rendered_dockerfile()), "--target", target, "--tag", tag]
    if CA_BUNDLE.exists():
        cmd += ["--secret", f"id=ca_bundle,src={CA_BUNDLE}"]
    sh(*cmd, str(source))


Figures = dict[str, tuple[float, float, float]]
Labels = dict[str, tuple[str, str]]
Sizes = dict[str, tuple[str, float | None]]


def cold_start(source: Path) -> tuple[float, float, float]:
    """P1: cold local.yml, then raw compose up --build on the same generated files, each from cold_state()."""
    cold_state()
    t_ansible = timed(local_yml, source)[0]
    # The same generated files, with a build section so that raw compose builds the image itself.
    override = PROJECT_DIR / "compose.bench-build.yaml"
    app_ref = json.loads(sh("docker", "compose", "--project-directory", str(PROJECT_DIR), "config", "--format", "json").stdout)
    compose = {"services": {}}
    # The backend runs the prod stage; the one-shot migrate service runs the build stage.
    for service, target in (("backend", "prod"), ("migrate", "build")):
        if service not in app_ref["services"]:
            continue
        build = {"context": str(source), "dockerfile": str(rendered_dockerfile()), "target": target}
        if CA_BUNDLE.exists():  # the same CA secret as buildx() and the role, or npm fails behind a TLS proxy
            build["secrets"] = ["ca_bundle"]
            compose["secrets"] = {"ca_bundle": {"file": str(CA_BUNDLE)}}
        compose["services"][service] = {"build": build, "image": app_ref["services"][service]["image"]}
    override.write_text(json.dumps(compose))
    cold_state()
    t_raw = timed(sh, "docker", "compose", "--project-directory", str(PROJECT_DIR), "-f", str(PROJECT_DIR / "compose.yaml"),
                  "-f", str(override), "up", "-d", "--build", "--wait")[0]
    return (t_ansible, t_raw, 1.15)


def measure(quick: bool = False) -> tuple[Figures, Labels, Sizes, dict]:
    """One run of P1-P4 (P2 alone with quick=True: no cold builds, the engine's build cache is left alone).

    Returns ({key: (measured, baseline, target ratio)}, {key: (measured label, baseline label)},
    {"node build base" | "node runtime base" | "dev image" | "prod image" | "node <major> build base" |
    "node <major> runtime base": (image, MB or None when missing)},
    the module calls of P2's no-change run as module_calls() reads them).
    """
    scratch = Path(tempfile.mkdtemp(prefix="backendops-bench."))
    source = scratch / "backend"
    shutil.copytree(REPO_ROOT / "examples/backend", source, ignore=shutil.ignore_patterns("node_modules", ".env*"))
    figures = {}
    sizes = {}
    try:
        print("warming up: base images and generated files ...", flush=True)
        local_yml(source)
        if not quick:
            figures["P1"] = cold_start(source)

        local_yml(source)  # back to the role-built state
        # The same timed run counts its module calls (an aggregate callback: the default output stays).
        counts_file = scratch / "module-calls.json"
        t_rerun, rerun = timed(local_yml, source, env=counting_env(counts_file))
        counts = module_calls(counts_file)
        t_noop = timed(sh, "docker", "compose", "--project-directory", str(PROJECT_DIR), "up", "-d", "--wait")[0]
        figures["P2"] = (t_rerun, t_noop, 3.0)
        rerun_changed = rerun.recap()["changed"]

        if quick:
            return figures, labels_of(figures, rerun_changed, counts), sizes, counts
        sh("docker", "builder", "prune", "--all", "--force")
        t_cold_build = timed(buildx, source, "prod", f"{IMAGE}:bench-cold")[0]
        with open(source / "src/greeting.js", "a", encoding="utf-8") as handle:
            handle.write("// benchmark edit\n")
        t_code_build = timed(buildx, source, "prod", f"{IMAGE}:bench-code")[0]
        figures["P3"] = (t_code_build, t_cold_build, 0.25)

        buildx(source, "dev", f"{IMAGE}:bench-dev")
        # The bases as the rendered Dockerfile names them: the first stage's (npm ci) and the prod stage's.
        bases = stage_images(rendered_dockerfile())
        images = {"node build base": bases["first"], "node runtime base": bases.get("prod", "?"),
                  "dev image": f"{IMAGE}:bench-dev", "prod image": f"{IMAGE}:bench-code"}
        listing = sh("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                     *(f"--filter=reference={name}:*" for name in NODE_BASES)).stdout
        images.update(node_bases(listing))
        sizes = {name: (image, image_mb(image)) for name, image in images.items()}
        figures["P4"] = (sizes["prod image"][1], PROD_GOAL_MB, 1.0)
    finally:
        cold_state(prune=not quick)
        shutil.rmtree(PROJECT_DIR, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)

    return figures, labels_of(figures, rerun_changed, counts), sizes, counts


def labels_of(figures: Figures, rerun_changed: int, counts: dict) -> Labels:
    labels = {
        "P1": ("cold local.yml s", "raw compose up --build s"),
        "P2": (f"re-run s (changed={rerun_changed}, {counts['module_calls']} module calls in {counts['tasks']} tasks)",
               "raw no-op up s"),
        "P3": ("code-change rebuild s", "cold build s"),
        "P4": ("prod image MB", "goal MB"),
    }
    return {key: labels[key] for key in figures}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="P2 and its module calls only: no cold builds, the build cache kept")
    figures, labels, sizes, counts = measure(parser.parse_args().quick)
    print(f"\n{'':4} {'measured':>30} {'baseline':>26} {'ratio':>7} {'target':>7}")
    for key, (value, base, target) in figures.items():
        ratio = value / base if base else float("inf")
        flag = "ok" if ratio <= target else "over"
        print(f"{key:4} {labels[key][0]:>22} {value:7.1f} {labels[key][1]:>18} {base:7.1f} {ratio:6.2f}x {target:5.2f}x {flag}")
    print(f"\nP2's no-change run: {counts['module_calls']} module calls in {counts['tasks']} tasks that ran:")
    print("  " + ", ".join(f"{action} {calls}" for action, calls in counts["by_action"].items()))
    if not sizes:
        return 0
    print("\nimage sizes (MB):")
    for name, (image, megabytes) in sizes.items():
        print(f"  {name:22} {'missing' if megabytes is None else f'{megabytes:7.1f}':>7}  {image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
