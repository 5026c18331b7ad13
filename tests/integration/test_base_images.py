# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backendops.stack.base_images against a real Docker engine.

Builds the images (Node.js 24 from the npm registry's official packages, PostgreSQL and Redis from Debian) twice:
the second run, with the npm registry unreachable, must change nothing. Then proves with real containers that they
honour the official images' contracts. Containers and volumes made here are removed by name; the images stay, since
later tests and the stack reuse them.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from support import ENGINE, PlaybookRun, docker, engine_answers, require, run_playbook, wait_until
from ansible_collections.backendops.stack.plugins.module_utils import build_context

ROLE_PLAYBOOK = """\
- name: Base images
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  roles:
    - role: backendops.stack.base_images
  post_tasks:
    - name: Hand the role's facts to the test
      ansible.builtin.copy:
        dest: "{{ facts_file }}"
        mode: "0644"
        content: >-
          {{ {'node': base_images_node, 'node_runtime': base_images_node_runtime, 'postgres': base_images_postgres,
              'redis': base_images_redis, 'source': base_images_used_source,
              'node_by_major': base_images_node_by_major, 'node_runtime_by_major': base_images_node_runtime_by_major} | to_json }}
      when: facts_file is defined
      # Test harness, not the role: keeps the recap about the role alone, also in check mode.
      changed_when: false
      check_mode: false
"""


def published_port(container: str, port: str) -> int:
    return int(docker("port", container, port).stdout.splitlines()[0].rsplit(":", 1)[1])


def pid1_uid(container: str) -> int:
    status = docker("exec", container, "cat", "/proc/1/status").stdout
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))


def user_uid(image_or_container: str, user: str, running: bool = True) -> int:
    if running:
        return int(docker("exec", image_or_container, "id", "-u", user).stdout)
    return int(docker("run", "--rm", "--entrypoint", "id", image_or_container, "-u", user).stdout)


@pytest.fixture(scope="module", name="engine")
def engine_fixture():
    require(engine_answers(), ENGINE)
    return docker("info", "--format", "{{.ServerVersion}}").stdout.strip()


@pytest.fixture(scope="module", name="role_playbook")
def role_playbook_fixture(tmp_path_factory):
    path = tmp_path_factory.mktemp("base-images") / "base_images.yml"
    path.write_text(ROLE_PLAYBOOK)
    return path


def run_role(role_playbook: Path, *args: str, **extra_vars) -> tuple[PlaybookRun, dict | None]:
    facts_file = role_playbook.parent / f"facts-{uuid.uuid4().hex[:8]}.json"
    run = run_playbook(role_playbook, "-i", "localhost,", "-e", json.dumps({**extra_vars, "facts_file": str(facts_file)}), *args)
    facts = json.loads(facts_file.read_text()) if facts_file.exists() else None
    return run, facts


# Nothing listens on the discard port: any request to this "registry" fails at once.
UNREACHABLE_NPM = "http://127.0.0.1:9"


@pytest.fixture(scope="module", name="images")
def images_fixture(engine, role_playbook):
    """The role with base_images_source=debian, run twice; returns the image names it gave back.

    The second run has no npm registry: the versions recorded by the first and its tarballs must do.
    """
    first, first_facts = run_role(role_playbook, base_images_source="debian")
    assert first.rc == 0, first.output[-6000:]
    second, second_facts = run_role(role_playbook, base_images_source="debian", base_images_npm_registry=UNREACHABLE_NPM)
    assert second.rc == 0, second.output[-6000:]
    assert second.recap()["changed"] == 0, second.output[-6000:]
    assert second_facts == first_facts
    assert first_facts["source"] == "debian"
    # The default majors: the active LTS alone, published by major too (JSON keys are strings).
    assert first_facts["node_by_major"] == {"24": first_facts["node"]}
    assert first_facts["node_runtime_by_major"] == {"24": first_facts["node_runtime"]}
    return first_facts


@pytest.fixture(name="names")
def names_fixture():
    """Unique container and volume names, removed by name afterwards."""
    suffix = uuid.uuid4().hex[:8]
    made = {"containers": [], "volumes": []}

    def name(kind: str, role: str) -> str:
        value = f"bo-base-images-test-{role}-{suffix}"
        made[kind].append(value)
        return value

    yield name
    for container in made["containers"]:
        docker("rm", "-f", "-v", container, check=False)
    for volume in made["volumes"]:
        docker("volume", "rm", "-f", volume, check=False)


IMAGE_KINDS = ("node", "node_runtime", "postgres", "redis")


def test_images_are_tagged_with_their_build_context_digest(images):
    for kind in IMAGE_KINDS:
        repository, tag = images[kind].rsplit(":", 1)
        assert repository == f"backendops/{kind.replace('_', '-')}"
        # Node.js images carry their major before the digest.
        assert re.fullmatch(r"24-[0-9a-f]{12}" if kind.startswith("node") else r"[0-9a-f]{12}", tag), tag
        assert docker("image", "inspect", images[kind]).returncode == 0


def test_check_mode_after_a_build_reports_nothing_to_do(images, role_playbook):
    run, facts = run_role(role_playbook, "--check", base_images_source="debian", base_images_npm_registry=UNREACHABLE_NPM)
    assert run.rc == 0, run.output[-6000:]
    assert run.recap()["changed"] == 0, run.output[-6000:]
    assert {key: facts[key] for key in images} == images


def test_check_mode_on_a_fresh_host_builds_nothing(engine, role_playbook, tmp_path):
    prefix = f"bo-checkmode-{uuid.uuid4().hex[:8]}/"
    work_dir = tmp_path / "work"
    run = run_role(role_playbook, "--check", "--diff", base_images_source="debian", base_images_name_prefix=prefix,
                   base_images_work_dir=str(work_dir))[0]
    assert run.rc == 0, run.output[-6000:]
    # The one images call plans the Debian base's import and the 4 builds on it (its diff names each).
    assert run.recap()["changed"] == 1, run.output[-6000:]
    assert all(re.search(rf"\+{re.escape(prefix + kind)}:[0-9a-f]{{12}} \(build\)", run.stdout)
               for kind in ("postgres", "redis")), run.output[-6000:]
    # Node.js's packages are not downloaded in check mode, so the digest of their contexts is not known yet.
    assert all(f"+{prefix}{kind}:24-pending (build)" in run.stdout for kind in ("node", "node-runtime")), run.output[-6000:]
    assert re.search(r"\+node-linux-(x64|arm64)@24\.\d+\.\d+ \S+/contexts/node-24/node\.tgz \(fetch\)", run.stdout), run.output[-6000:]
    assert f"+import {prefix}debian:bookworm (debootstrap Debian bookworm from http://deb.debian.org/debian)" in run.stdout, run.output[-6000:]
    assert docker("images", "-q", "--filter", f"reference={prefix}*").stdout.strip() == ""
    assert not work_dir.exists()


def test_auto_uses_registry_images_that_are_present(images, role_playbook):
    # Images already on the host count as pulled: nothing contacts a registry.
    run, facts = run_role(
        role_playbook,
        base_images_source="auto",
        base_images_registry_node=images["node"],
        base_images_registry_node_runtime=images["node_runtime"],
        base_images_registry_postgres=images["postgres"],
        base_images_registry_redis=images["redis"],
    )
    assert run.rc == 0, run.output[-6000:]
    assert run.recap()["changed"] == 0
    assert facts["source"] == "registry"


def test_auto_falls_back_to_debian_and_registry_mode_fails_clearly(images, role_playbook):
    unreachable = {  # .invalid never resolves, so the pull fails at once on any machine
        "base_images_registry_node": "registry.invalid/node:{major}-bookworm-slim",
        "base_images_registry_node_runtime": "registry.invalid/node-runtime:{major}",
        "base_images_registry_postgres": "registry.invalid/postgres:15-alpine",
        "base_images_registry_redis": "registry.invalid/redis:7-alpine",
    }
    auto, facts = run_role(role_playbook, base_images_source="auto", **unreachable)
    assert auto.rc == 0, auto.output[-6000:]
    assert auto.recap()["changed"] == 0
    assert facts == {**images, "source": "debian"}

    strict = run_role(role_playbook, base_images_source="registry", **unreachable)[0]
    assert strict.rc != 0
    assert "base_images_source is 'registry' but the images cannot be pulled" in strict.stdout
    assert "registry.invalid/node:24-bookworm-slim" in strict.stdout
    assert "Traceback" not in strict.output


def test_refresh_without_an_npm_registry_fails_in_one_line(images, role_playbook):
    """Re-resolving needs the registry: unreachable, the run stops before any build, naming it."""
    run = run_role(role_playbook, base_images_source="debian", base_images_node_refresh=True,
                   base_images_npm_registry=UNREACHABLE_NPM)[0]
    assert run.rc != 0
    assert re.search(rf"backendops/node: cannot read npm package node-linux-\w+ from {UNREACHABLE_NPM}/node-linux-\w+: ", run.stdout), run.stdout[-3000:]
    assert "Traceback" not in run.output


def test_auto_remembers_a_registry_that_did_not_answer_until_retry_after(images, role_playbook, tmp_path):
    state = tmp_path / "registry-state.json"
    unreachable = {"base_images_registry_node": "registry.invalid/node:20-alpine", "base_images_registry_state_file": str(state)}
    first, facts = run_role(role_playbook, base_images_source="auto", **unreachable)
    assert first.rc == 0 and facts["source"] == "debian", first.output[-6000:]
    remembered = json.loads(state.read_text())["registries"]["registry.invalid"]
    assert "registry.invalid/node:20-alpine" in remembered["error"] and remembered["failed_at"] <= time.time()

    # Within the retry interval the registry is not asked; the output says why, once.
    second, facts = run_role(role_playbook, base_images_source="auto", **unreachable)
    assert second.rc == 0 and facts == {**images, "source": "debian"}, second.output[-6000:]
    assert second.stdout.count("registry registry.invalid not asked: its pull failed at") == 1, second.output[-6000:]
    assert json.loads(state.read_text())["registries"]["registry.invalid"] == remembered

    # 0 asks again: a new failure, a new time.
    state.write_text(json.dumps({"registries": {"registry.invalid": {**remembered, "failed_at": 1}}}))
    third = run_role(role_playbook, base_images_source="auto", base_images_registry_retry_after=0, **unreachable)[0]
    assert third.rc == 0 and "not asked" not in third.stdout and "no registry images (registry.invalid/node" in third.stdout
    assert json.loads(state.read_text())["registries"]["registry.invalid"]["failed_at"] > 1


def test_debootstrap_failure_shows_the_end_of_its_log(engine, role_playbook, tmp_path):
    run = run_role(
        role_playbook,
        base_images_source="debian",
        base_images_name_prefix=f"bo-failing-{uuid.uuid4().hex[:8]}/",
        base_images_work_dir=str(tmp_path / "work"),
        base_images_debian_mirror="http://127.0.0.1:9/debian",  # nothing listens on the discard port
    )[0]
    assert run.rc != 0
    assert "debootstrap of Debian bookworm from http://127.0.0.1:9/debian failed" in run.stdout
    assert "debootstrap.log (end)" in run.stdout
    assert "Failed getting release file" in run.stdout
    assert "Traceback" not in run.output


def pg_ready(container: str) -> bool:
    # Over TCP: during initialisation the server listens on its socket only, so this is true
    # only once the real server runs.
    return docker("exec", container, "pg_isready", "-h", "127.0.0.1", "-U", "app", "-d", "appdb", check=False).returncode == 0


def psql(container: str, password: str, sql: str) -> subprocess.CompletedProcess:
    url = f"postgresql://app:{password}@127.0.0.1:5432/appdb"
    return docker("exec", container, "psql", url, "-v", "ON_ERROR_STOP=1", "-Atc", sql, check=False)


def test_postgres_honours_the_official_contract(images, names, tmp_path):
    image = images["postgres"]
    volume = names("volumes", "pgdata")
    docker("volume", "create", volume)
    initdb = tmp_path / "initdb"
    initdb.mkdir()
    initdb.chmod(0o755)
    (initdb / "01-schema.sql").write_text("CREATE TABLE seeded (note text);\nINSERT INTO seeded VALUES ('from sql');\n")
    script = initdb / "02-seed.sh"
    script.write_text(textwrap.dedent("""\
        #!/bin/bash
        set -e
        psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "INSERT INTO seeded VALUES ('from sh')"
        """))
    script.chmod(0o755)

    def start(password: str) -> str:
        container = names("containers", "pg")
        docker(
            "run", "-d", "--name", container,
            "-e", "POSTGRES_USER=app", "-e", f"POSTGRES_PASSWORD={password}", "-e", "POSTGRES_DB=appdb",
            "-v", f"{volume}:/var/lib/postgresql/data", "-v", f"{initdb}:/docker-entrypoint-initdb.d:ro",
            "-p", "127.0.0.1::5432", image,
        )
        wait_until(lambda: pg_ready(container), f"pg_isready in {container}")
        return container

    first = start("first secret")
    login = psql(first, "first%20secret", "SELECT current_user || '@' || current_database()")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == "app@appdb"
    wrong = psql(first, "wrong", "SELECT 1")
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr

    # Reachable through the published port, i.e. not only on the container's loopback.
    with socket.create_connection(("127.0.0.1", published_port(first, "5432/tcp")), timeout=10) as conn:
        conn.sendall((8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))  # SSLRequest
        assert conn.recv(1) in (b"N", b"S")

    assert pid1_uid(first) == user_uid(first, "postgres") != 0
    assert psql(first, "first%20secret", "SELECT note FROM seeded ORDER BY note").stdout.split() == ["from", "sh", "from", "sql"]
    assert psql(first, "first%20secret", "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')").returncode == 0

    docker("stop", first)
    # 0 means the server itself got the stop signal (exec, STOPSIGNAL) and shut down cleanly.
    assert docker("inspect", "-f", "{{.State.ExitCode}}", first).stdout.strip() == "0"
    docker("rm", first)

    # A new container on the same volume keeps the data; the environment only matters on first init.
    second = start("ignored on restart")
    assert psql(second, "first%20secret", "SELECT v FROM kept").stdout.strip() == "survives"
    assert psql(second, "first%20secret", "SELECT count(*) FROM seeded").stdout.strip() == "2"


def redis_cli(container: str, *args: str) -> str:
    return docker("exec", container, "redis-cli", *args, check=False).stdout.strip()


def test_redis_honours_the_official_contract(images, names):
    image = images["redis"]
    volume = names("volumes", "redisdata")
    docker("volume", "create", volume)

    def start() -> str:
        container = names("containers", "redis")
        docker("run", "-d", "--name", container, "-v", f"{volume}:/data", "-p", "127.0.0.1::6379", image, "redis-server", "--appendonly", "yes")
        wait_until(lambda: redis_cli(container, "ping") == "PONG", f"redis-cli ping in {container}")
        return container

    first = start()
    assert redis_cli(first, "config", "get", "appendonly").split() == ["appendonly", "yes"]
    assert redis_cli(first, "config", "get", "dir").split() == ["dir", "/data"]
    assert pid1_uid(first) == user_uid(first, "redis") != 0
    # Clients from outside the container are served (the official image turns protected mode off).
    with socket.create_connection(("127.0.0.1", published_port(first, "6379/tcp")), timeout=10) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(64) == b"+PONG\r\n"

    assert redis_cli(first, "set", "greeting", "kept") == "OK"
    # SIGKILL: no shutdown save, so only the append-only file on the volume can keep the key.
    docker("kill", first)
    docker("rm", first)
    second = start()
    assert redis_cli(second, "get", "greeting") == "kept"


def test_node_image_runs_node_24_with_npm_corepack_and_yarn_as_uid_1000(images):
    image = images["node"]
    out = docker("run", "--rm", "--user", "node", image, "sh", "-c",
                 "id -u; node --version; npm --version; npx --version; corepack --version; yarn --version; pwd").stdout.split()
    assert out[0] == "1000"
    assert out[1].startswith("v24.")
    assert re.fullmatch(r"11\.\d+\.\d+", out[2]) and out[3] == out[2]  # npm 11 goes with Node.js 24
    assert re.fullmatch(r"0\.\d+\.\d+", out[4]) and re.fullmatch(r"1\.22\.\d+", out[5])
    assert out[6] == "/app"
    assert user_uid(image, "node", running=False) == 1000
    # Prisma's CLI probes it; and of node's package only the binary came in (no headers, no docs).
    assert docker("run", "--rm", image, "sh", "-c", "openssl version && ! test -e /usr/local/include/node "
                  "&& ! test -e /usr/local/share/doc/node").returncode == 0


def test_node_runtime_image_is_node_24_alone(images):
    image = images["node_runtime"]
    assert docker("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip() == "node"
    out = docker("run", "--rm", image, "sh", "-c", "id -u; id -g; node --version; pwd; stat -c %u:%g /app").stdout.split()
    assert out[:2] == ["1000", "1000"]  # the default user, without --user
    assert out[2].startswith("v24.")
    # The same Node.js as the build image, so that what npm ci built there runs here.
    assert out[2] == docker("run", "--rm", images["node"], "node", "--version").stdout.strip()
    assert out[3:] == ["/app", "1000:1000"]
    # No package manager of any kind, and none of their leftovers.
    found = docker("run", "--rm", image, "sh", "-c", "for c in npm npx corepack yarn pnpm apt apt-get dpkg; do command -v $c; done; "
                   "ls -d /usr/share/doc /usr/share/man /usr/share/locale /var/lib/apt /var/cache/apt /usr/lib/node_modules "
                   "/usr/local/lib /usr/local/include /usr/local/share /root/.npm 2>/dev/null; find / -xdev -perm -4000; "
                   "true").stdout.split()
    assert found == []  # ... and no setuid program
    # The Debian packages of the libraries, listed for scanners; the CA bundle is valid PEM (node warns about a
    # bundle it cannot load).
    status = docker("run", "--rm", image, "cat", "/var/lib/dpkg/status").stdout
    assert {"libc6", "libstdc++6", "libgcc-s1", "busybox", "ca-certificates"} <= set(re.findall(r"^Package: (\S+)$", status, re.M))
    assert "Package: nodejs\n" not in status and "Package: npm\n" not in status
    extra_ca = docker("run", "--rm", "-e", "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt", image,
                      "node", "-e", "console.log(require('tls').rootCertificates.length)")
    assert extra_ca.stderr == "" and int(extra_ca.stdout) > 100
    # The official binary's OpenSSL directory is /etc/ssl (node --use-openssl-ca looks there): the same bundle.
    assert docker("run", "--rm", image, "sh", "-c", "test -s /etc/ssl/cert.pem && test -d /etc/ssl/certs/", check=False).returncode == 0
    # The node binary and little else: libraries, BusyBox and the CA bundle under 20 MB.
    binary = int(docker("run", "--rm", image, "stat", "-c", "%s", "/usr/local/bin/node").stdout)
    size = int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
    assert size - binary < 20e6, (size, binary)


def test_node_runtime_image_serves_an_app_as_the_node_user(images, names, tmp_path):
    """As a prod image uses it: app files copied into /app, a secret read by `sh -c`, read-only, no capabilities."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "GREETING").write_text("hello from a secret")
    (secrets / "GREETING").chmod(0o444)
    app = tmp_path / "app"
    app.mkdir()
    (app / "server.js").write_text(textwrap.dedent("""\
        const fs = require('node:fs');
        let writable = true;
        try { fs.writeFileSync('/usr/lib/probe', 'x'); } catch { writable = false; }
        require('node:http').createServer((req, res) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ uid: process.getuid(), greeting: process.env.GREETING, writable, cwd: process.cwd() }));
        }).listen(8080);
        """))
    app.chmod(0o755)
    container = names("containers", "node-runtime")
    loader = 'export GREETING="$(cat /run/secrets/GREETING)" && exec node server.js'
    docker("run", "-d", "--name", container, "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
           "-v", f"{app}:/app:ro", "-v", f"{secrets}:/run/secrets:ro", "-p", "127.0.0.1::8080",
           images["node_runtime"], "sh", "-c", loader)
    port = published_port(container, "8080/tcp")

    def answer():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                return json.loads(response.read())
        except OSError:
            return None

    body = wait_until(answer, f"the app in {container}")
    assert body == {"uid": 1000, "greeting": "hello from a secret", "writable": False, "cwd": "/app"}
    assert pid1_uid(container) == 1000  # exec: node itself is PID 1, as the node user


DOCKERIGNORE_CASES = """\
# comment
node_modules
!node_modules/keep.txt
*.log
!important.log
**/*.tmp
/build
docs/
secret?.txt
**/cache
"""
CONTEXT_FILES = [
    "a.log", "important.log", "sub/b.log", "sub/c.tmp", "d.tmp", "node_modules/x.js", "node_modules/keep.txt",
    "build/out.js", "sub/build/out.js", "docs/readme", "secret1.txt", "secret12.txt", "a/b/cache/x", "cache/y",
    "src/app.js", ".git/HEAD",
]


def test_digest_counts_exactly_what_buildkit_sends(engine, tmp_path):
    """The image tag rule must see the context as BuildKit does, or a change would not rebuild."""
    context = tmp_path / "ctx"
    for rel_path in CONTEXT_FILES:
        (context / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (context / rel_path).write_text(rel_path)
    (context / "empty_dir").mkdir()
    (context / ".dockerignore").write_text(DOCKERIGNORE_CASES)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    exported = tmp_path / "exported"
    docker("buildx", "build", "--output", f"type=local,dest={exported}", str(context), timeout=300)
    sent = {path.relative_to(exported).as_posix() for path in exported.rglob("*")}

    ignore = build_context.DockerIgnore.from_file(str(context / ".dockerignore"))
    entries = build_context.walk_context(str(context), ignore)[0]
    counted = {rel_path for rel_path, _full_path in entries}
    # COPY creates the parent directories of files brought back by a negation.
    counted |= {"/".join(rel_path.split("/")[:depth]) for rel_path in counted for depth in range(1, rel_path.count("/") + 1)}
    assert counted == sent
    assert "node_modules/keep.txt" in sent and "sub/b.log" in sent and "docs/readme" not in sent
