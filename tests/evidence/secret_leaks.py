# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secret-leak scan: known canary secrets, looked for everywhere a deployment leaves traces.

Local stack: playbooks/local.yml runs with -vvv in normal, check and diff modes with canary values for
SUPABASE_ANON_KEY (one value, then a second one, so the diff has a secret change to mask); the generated secrets
(JWT_SECRET, HEALTH_TOKEN, POSTGRES_PASSWORD) are read back from the stack's .env. A `.env` and `.env.production`
with more canaries are planted in the app's source, as a developer's checkout would have them. Then the scan:
every line of output, every file written during the runs (except the stack's 0600 .env, which must hold the
secrets), every layer of the app image (scan_image.py beside this file), `docker inspect` and the logs of each
container.

Railway: playbooks/railway.yml against the emulator, same modes, with canary variable values and tokens (account,
workspace and project tokens); env files and private keys with canaries are planted in the uploaded source (no
ignore file covers most of them). Its output, the files it writes, and the uploaded archives (every member's name
and content, as the emulator received them) are scanned.
"""
from __future__ import annotations

import json
import os
import secrets as random_secrets
import stat
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence.fault_matrix import EMULATOR_OPTIONS
from evidence.railway_playbook import RailwayPlaybook
from evidence.rows import Row
from evidence.stack import LocalStack, copy_sample_backend
from ansible_collections.backendops.stack.plugins.module_utils.source_archive import withheld_pattern
from support import PlaybookRun, docker, real_home
from tools.railway_emulator.testing import EmulatorProcess

STACK = "evidence-leaks"
# The sample's secrets the backend reads from /run/secrets (PostgreSQL gets POSTGRES_PASSWORD).
CONTAINER_SECRETS = ("DATABASE_URL", "REDIS_URL", "SUPABASE_ANON_KEY", "JWT_SECRET", "HEALTH_TOKEN")
SCAN_IMAGE = Path(__file__).with_name("scan_image.py")
# Where a run may write files; only files modified during the scan are read. /var/lib/docker is left to
# `docker inspect`, which shows what the engine keeps about each container.
# The user's home as well as the session's (tests/conftest.py), whose other entries link to the user's; a file under two
# roots is scanned once.
WRITABLE_ROOTS = tuple(dict.fromkeys((real_home(), Path.home(), Path("/tmp"), Path("/var/tmp"), Path("/var/cache/backendops"))))
SKIPPED_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".npm"}
MAX_SCANNED_FILE = 64 * 1024 * 1024


def canary(label: str) -> str:
    """A value that exists nowhere else, so any hit is a leak of exactly this secret."""
    return f"canary-{label}-{random_secrets.token_hex(12)}"


@dataclass
class Leak:
    """Where a secret showed up; never the value itself."""

    target: str
    where: str
    secret: str

    def __str__(self) -> str:
        return f"{self.where}: {self.secret}"


@dataclass
class Scan:
    """Secrets by name, the leaks found, and how much was looked at per target."""

    secrets: dict[str, str]
    leaks: list[Leak] = field(default_factory=list)
    scanned: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def text(self, target: str, where: str, text: str | bytes) -> None:
        """Each secret found in ``text``, with the first line it is on (all secrets in it redacted)."""
        self.scanned.setdefault(target, []).append(where)
        data = text.encode(errors="replace") if isinstance(text, str) else text
        for name, value in self.secrets.items():
            position = data.find(value.encode()) if value else -1
            if position >= 0:
                line = data[:position].count(b"\n") + 1
                self.leaks.append(Leak(target, f"{where}, line {line}: {self.redacted_line(data, position)}", name))

    def redacted_line(self, data: bytes, position: int, width: int = 160) -> str:
        start = data.rfind(b"\n", 0, position) + 1
        end = data.find(b"\n", position)
        line = data[start:end if end >= 0 else len(data)].decode(errors="replace")
        for name, value in self.secrets.items():
            if value:
                line = line.replace(value, f"<{name}>")
        return line.strip()[:width]

    def json_document(self, target: str, where: str, document: Any, path: str = "") -> None:
        """Like text(), but names the JSON path of each hit (e.g. Config.Env[3])."""
        if path == "":
            self.scanned.setdefault(target, []).append(where)
        if isinstance(document, dict):
            for key, value in document.items():
                self.json_document(target, where, value, f"{path}.{key}" if path else key)
        elif isinstance(document, list):
            for index, value in enumerate(document):
                self.json_document(target, where, value, f"{path}[{index}]")
        elif isinstance(document, str):
            for name, value in self.secrets.items():
                if value and value in document:
                    self.leaks.append(Leak(target, f"{where} {path}", name))

    def leaks_in(self, target: str) -> list[Leak]:
        return [leak for leak in self.leaks if leak.target == target]


def files_written_since(started: float, excluded: set[Path]) -> list[Path]:
    """Regular files under WRITABLE_ROOTS modified after ``started``, except ``excluded`` (files or directories)."""
    found = set()
    for root in WRITABLE_ROOTS:
        for directory, subdirs, names in os.walk(root):
            here = Path(directory)
            subdirs[:] = [d for d in subdirs if d not in SKIPPED_DIRS and here / d not in excluded]
            for name in names:
                path = here / name
                try:
                    info = path.lstat()
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode) and info.st_mtime >= started and path not in excluded \
                        and info.st_size <= MAX_SCANNED_FILE:
                    found.add(path)
    return sorted(found)


def scan_files(scan: Scan, target: str, paths: list[Path]) -> None:
    for path in paths:
        try:
            scan.text(target, str(path), path.read_bytes())
        except OSError:
            continue


def scan_image_layers(scan: Scan, image: str, env_files: list[Path]) -> None:
    """scan_image.py over every layer: env files in layers and the secret values of ``env_files``."""
    proc = subprocess.run([sys.executable, str(SCAN_IMAGE), image, *map(str, env_files)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError(f"scan_image.py {image} failed: {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    scan.scanned.setdefault("image layers", []).append(f"{image}: {report['layers']} layers, {', '.join(report['secrets_checked'])}")
    for entry in report["env_files"]:
        scan.leaks.append(Leak("image layers", f"{image} {entry}", "env file in a layer"))
    for hit in report["secret_hits"]:
        name, _sep, where = hit.partition(" in ")
        scan.leaks.append(Leak("image layers", f"{image} {where}", name))


def scan_containers(scan: Scan, containers: list[str]) -> None:
    for container in containers:
        scan.json_document("docker inspect", f"docker inspect {container}", json.loads(docker("inspect", container).stdout))
        logs = docker("logs", container, check=False)
        scan.text("container logs", f"docker logs {container}", logs.stdout + logs.stderr)


def planted_files(source: Path) -> list[Path]:
    return [source / ".env", source / ".env.production"]


def plant_env_files(source: Path) -> dict[str, str]:
    """Env files a developer keeps in the app's source; the image build must leave them out."""
    planted = {"SUPABASE_ANON_KEY": canary("planted-anon"), "JWT_SECRET": canary("planted-jwt")}
    (source / ".env").write_text("".join(f"{k}={v}\n" for k, v in planted.items()), encoding="utf-8")
    (source / ".env.production").write_text(f"HEALTH_TOKEN={canary('planted-health')}\n", encoding="utf-8")
    return {f"planted .env {name}": value for name, value in planted.items()} | {
        "planted .env.production HEALTH_TOKEN": (source / ".env.production").read_text(encoding="utf-8").split("=", 1)[1].strip()}


def scan_local_stack(workdir: Path) -> Scan:
    """Run local.yml in every mode with canaries and scan everything; removes the stack again."""
    anon_first, anon_second = canary("anon-first"), canary("anon-second")
    stack = LocalStack(STACK, workdir, env={"SUPABASE_ANON_KEY": anon_first})
    stack.copy_source()
    # The copy keeps the files' times, so only what the runs write (and the planted files, left out) is newer.
    started = time.time()
    planted = plant_env_files(stack.source)
    runs: list[tuple[str, PlaybookRun]] = []
    try:
        runs.append(("local.yml -vvv (first run)", stack.local_yml("-vvv")))
        generated = stack.secrets()
        stack.env["SUPABASE_ANON_KEY"] = anon_second
        runs.append(("local.yml -vvv --check (key rotated)", stack.local_yml("-vvv", "--check")))
        runs.append(("local.yml -vvv --diff (key rotated)", stack.local_yml("-vvv", "--diff")))
        runs.append(("local.yml -vvv --check --diff (no change)", stack.local_yml("-vvv", "--check", "--diff")))
        after = stack.secrets()
        secrets = {"SUPABASE_ANON_KEY (first)": anon_first, "SUPABASE_ANON_KEY (second)": anon_second, **planted}
        for name in ("JWT_SECRET", "HEALTH_TOKEN", "POSTGRES_PASSWORD"):
            secrets[name] = generated[name]
        scan = Scan(secrets)
        # Controls: the secrets were really used, and the scanner finds them where they belong.
        if after.get("SUPABASE_ANON_KEY") != anon_second or any(after[n] != generated[n] for n in ("JWT_SECRET", "HEALTH_TOKEN")):
            scan.notes.append("the secrets file does not hold the canaries: the scan proves nothing")
        if stack.secret_in_container("backend", "SUPABASE_ANON_KEY") != anon_second:
            scan.notes.append("the backend container does not have the rotated key in /run/secrets")
        # Each secret reaches its container as a file in /run/secrets, the .env's value (Env is scanned below).
        in_containers = [("backend", name) for name in CONTAINER_SECRETS] + [("postgres", "POSTGRES_PASSWORD")]
        unlike = [f"{service}:{name}" for service, name in in_containers if stack.secret_in_container(service, name) != after[name]]
        if unlike:
            scan.notes.append(f"/run/secrets differs from the stack's .env for {', '.join(unlike)}")
        control = Scan(secrets)
        scan_files(control, "control", [stack.secrets_file])
        if {"SUPABASE_ANON_KEY (second)", "JWT_SECRET", "HEALTH_TOKEN", "POSTGRES_PASSWORD"} - {leak.secret for leak in control.leaks}:
            scan.notes.append("the scanner did not find the secrets in the secrets file (control)")
        mode = stat.S_IMODE(stack.secrets_file.stat().st_mode)
        if mode != 0o600:
            scan.leaks.append(Leak("generated files", f"{stack.secrets_file} has mode {mode:o}", "secrets file not 0600"))

        for label, run in runs:
            scan.text("playbook output", label, run.output)
        excluded = {stack.secrets_file} | set(planted_files(stack.source))
        scan_files(scan, "generated files", files_written_since(started, excluded))
        image = stack.app_images()[0]
        scan_image_layers(scan, image, [stack.secrets_file])
        scan_image_layers(scan, image, [stack.source / ".env", stack.source / ".env.production"])
        scan_containers(scan, stack.containers())
        return scan
    finally:
        stack.destroy()


# The emulator's fixed secrets, replaced by canaries in a seed of their own.
EMULATOR_SECRETS = ("emu-account-token", "emu-workspace-token", "emu-project-token", "emu-health-token",
                    "emu-postgres-password", "emu-redis-password")


def canary_seed(path: Path) -> dict[str, str]:
    """The emulator's default state with every token and password replaced by a canary; returns name -> canary."""
    with EmulatorProcess(**EMULATOR_OPTIONS) as emulator:
        text = json.dumps(emulator.state())
    replaced = {}
    for secret in EMULATOR_SECRETS:
        replaced[f"Railway {secret.replace('emu-', '')}"] = value = canary(secret.replace("emu-", ""))
        text = text.replace(secret, value)
    path.write_text(text, encoding="utf-8")
    return replaced


def plant_upload_secrets(source: Path) -> dict[str, str]:
    """Env files and private keys beyond the sample's ignore file (.env, .env.*): none of them may be uploaded."""
    planted = {}
    for relative in ("production.env", "config/staging.env", "sub/.env", ".env.local", "certs/server.pem", "certs/server.key",
                     "deploy/id_rsa", "deploy/id_ed25519"):
        planted[f"planted {relative}"] = value = canary("planted-" + relative.replace("/", "-"))
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"SECRET={value}\n", encoding="utf-8")
    return planted


def scan_uploads(scan: Scan, upload_dir: Path) -> None:
    """Every member of every uploaded archive: names that must never go up, and the canaries in the contents."""
    for archive_path in sorted(upload_dir.glob("*.tar.gz")):
        where = f"upload of deployment {archive_path.name.split('.')[0]}"
        scan.scanned.setdefault("uploaded source", []).append(where)
        with tarfile.open(archive_path, mode="r:gz") as archive:
            for member in archive.getmembers():
                name = Path(member.name).name
                if withheld_pattern(name) or any(withheld_pattern(part) for part in Path(member.name).parts):
                    scan.leaks.append(Leak("uploaded source", where, f"withheld file {member.name}"))
                if member.isfile():
                    scan.text("uploaded source", f"{where}: {member.name}", archive.extractfile(member).read())


def scan_railway(workdir: Path) -> Scan:
    """railway.yml -vvv in plan, deploy, rotate, project-token and drift runs, with canary tokens and variables."""
    seed = workdir / "canary-seed.json"
    secrets = canary_seed(seed)
    variables = {"SUPABASE_URL": "https://evidence-ref.supabase.co", "SUPABASE_ANON_KEY": canary("railway-anon"),
                 "JWT_SECRET": canary("railway-jwt-first"), "HEALTH_TOKEN": canary("railway-health"),
                 "APP_WEBHOOK_SECRET": canary("railway-webhook")}
    rotated = canary("railway-jwt-second")
    secrets.update({f"variable {name}": value for name, value in variables.items() if name != "SUPABASE_URL"})
    secrets["variable JWT_SECRET (rotated)"] = rotated
    source = copy_sample_backend(workdir / "railway-source")
    started = time.time()
    secrets.update(plant_env_files(source))
    upload_secrets = plant_upload_secrets(source)
    secrets.update(upload_secrets)
    upload_dir = workdir / "uploads"
    upload_dir.mkdir()
    with EmulatorProcess(seed=seed, upload_dir=upload_dir, **EMULATOR_OPTIONS) as emulator:
        playbook = RailwayPlaybook(emulator, workdir, variables, railway_source_path=str(source))
        runs = [("railway.yml -vvv --check --diff (plan)", playbook.run("-vvv", "--check", "--diff")),
                # railway.json is written into the source: a generated file to scan.
                ("railway.yml -vvv (deploy, railway.json)", playbook.run("-vvv", railway_config_file=True))]
        runs.append(("railway.yml -vvv --check --diff (JWT_SECRET rotated)",
                     playbook.run("-vvv", "--check", "--diff", railway_variables={**variables, "JWT_SECRET": rotated})))
        runs.append(("railway.yml -vvv --diff (JWT_SECRET rotated)",
                     playbook.run("-vvv", "--diff", railway_variables={**variables, "JWT_SECRET": rotated})))
        runs.append(("railway.yml -vvv (project token, no change)",
                     playbook.run("-vvv", token="project", railway_project=None,
                                  railway_variables={**variables, "JWT_SECRET": rotated})))
        runs.append(("railway.yml -vvv (workspace token, forced deploy)",
                     playbook.run("-vvv", token="workspace", railway_force_deploy=True,
                                  railway_variables={**variables, "JWT_SECRET": rotated})))
        runs.append(("railway.yml -vvv railway_mode=drift", playbook.run("-vvv", railway_mode="drift")))
        uploads = [d for d in emulator.state()["deployments"] if d.get("upload")]
    scan = Scan(secrets)
    failed = [label for label, run in runs if run.rc != 0]
    if failed:
        scan.notes.append(f"railway.yml failed in: {', '.join(failed)}")
    if not uploads:
        scan.notes.append("railway.yml uploaded nothing: the scan proves nothing")
    for label, run in runs:
        scan.text("playbook output", label, run.output)
    # The inputs that hold the canaries on purpose (the uploads are scanned below, as what went to Railway).
    excluded = {seed, playbook.inventory, playbook.extra, upload_dir, *planted_files(source),
                *(source / name.removeprefix("planted ") for name in upload_secrets)}
    scan_files(scan, "generated files", files_written_since(started, excluded))
    scan_uploads(scan, upload_dir)
    # Control: the scanner finds the planted canaries where they are, so finding none in the uploads means something.
    control = Scan(upload_secrets)
    scan_files(control, "control", [source / name.removeprefix("planted ") for name in upload_secrets])
    if {leak.secret for leak in control.leaks} != set(upload_secrets):
        scan.notes.append("the scanner did not find the planted upload canaries in the source (control)")
    if len(list(upload_dir.glob("*.tar.gz"))) != len(uploads):
        scan.notes.append("the emulator kept %d archives for %d uploads" % (len(list(upload_dir.glob("*.tar.gz"))), len(uploads)))
    return scan


TARGETS = ("playbook output", "generated files", "image layers", "docker inspect", "container logs")
RAILWAY_TARGETS = ("playbook output", "generated files", "uploaded source")
UNITS = {"playbook output": "runs' output", "generated files": "files written", "image layers": "image scans",
         "docker inspect": "containers", "container logs": "containers' logs", "uploaded source": "uploads"}


def assert_no_leak(scan: Scan, target: str) -> None:
    """The test of one target: something was scanned there and no secret was found."""
    assert not scan.notes, scan.notes
    assert scan.scanned.get(target), f"nothing was scanned for {target}"
    leaks = scan.leaks_in(target)
    assert not leaks, f"{len(leaks)} secret(s) in {target}:\n" + "\n".join(map(str, leaks))


def leak_rows(scan: Scan, prefix: str, targets: tuple[str, ...] = TARGETS) -> list[Row]:
    rows = []
    for target in targets:
        leaks = scan.leaks_in(target)
        looked_at = len(scan.scanned.get(target, []))
        figure = f"{len(leaks)} leak(s) in {looked_at} {UNITS[target]}"
        problems = list(map(str, leaks)) + scan.notes + ([] if looked_at else ["nothing was scanned"])
        rows.append(Row("secret leaks", f"{prefix}: {target}", figure, "0 leaks", not problems, "; ".join(problems)))
    return rows
