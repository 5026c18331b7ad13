# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""env_contract and env_file run by ansible-playbook like a user runs them; env files read by real Docker Compose.

Every playbook runs with -vvv --diff, and no secret value may show up in any of that output.
The Compose tests need a Docker engine that answers `docker info` (support.require: a failure in CI, a skip elsewhere).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.backendops.stack.plugins.module_utils.app_profile import detect

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import parse, render
from support import REPO_ROOT, needs_engine, needs_root, require, write_play

SECRETS = {
    "DATABASE_URL": "postgresql://app:Db7$ecret-Kq2Zx@postgres:5432/app?schema=public",
    "REDIS_URL": "redis://:Rd5Wm-Hq8Pz@redis:6379",
    "SUPABASE_ANON_KEY": "anon-Sb3Yt 'Nx6Qa' #frag",
    "JWT_SECRET": "Jw4$Ecr3t-'single' \"double\" #hash \\back-Mz9Lk0Pq",
    "HEALTH_TOKEN": "Ht6Vn-Bx1Cq-Zr8Dw",
    "APP_WEBHOOK_SECRET": "Wh2Kx$9Lp-Vq7Nm",
}
PUBLIC = {
    "NODE_ENV": "production",
    "PORT": 3000,
    "SUPABASE_URL": "http://127.0.0.1:54321",
    "LOG_LEVEL": "info",
    "ALLOWED_ORIGINS": "http://localhost:5173,https://app.example.com",
    "APP_GREETING": "hello # world",
}
ENV = {**PUBLIC, **SECRETS}
EXTRA = [
    {"name": "APP_WEBHOOK_SECRET", "required": True, "secret": True, "min_length": 12},
    {"name": "APP_GREETING", "description": "Shown on the home page."},
]
HEADER = ["Managed by tests/integration/test_env_modules.py"]


def as_env_strings(values):
    return {name: str(value) for name, value in values.items()}


def secret_pieces(value):
    """The value itself and its distinctive runs (letters mixed with digits), none of which may leak."""
    pieces = [piece for piece in re.findall(r"[A-Za-z0-9]{4,}", value) if re.search(r"\d", piece) and re.search(r"[A-Za-z]", piece)]
    return [value] + pieces


def assert_no_secret(output, secrets):
    for value in secrets:
        for piece in secret_pieces(value):
            assert piece not in output, "secret (piece %r) leaked into the output" % piece


SAMPLE_CONTRACT = detect(str(REPO_ROOT / "examples" / "backend"))["contract"]


def write_playbook(tmp_path, tasks, name="play.yml"):
    # The sample backend's contract, as the roles pass it from its app profile.
    defaults = {"backendops.stack.env_contract": {"contract": SAMPLE_CONTRACT}, "backendops.stack.env_file": {"contract": SAMPLE_CONTRACT}}
    return write_play(tmp_path / name, tasks, defaults, name="Environment modules")


def env_tasks(env_path, variables=None, mode="0600", extra=None):
    variables = ENV if variables is None else variables
    extra = EXTRA if extra is None else extra
    return [
        {"name": "Validate the environment", "backendops.stack.env_contract": {"variables": variables, "extra": extra},
         "register": "contract"},
        {"name": "Write the env file", "backendops.stack.env_file": {
            "path": str(env_path), "variables": variables, "extra": extra, "mode": mode, "header": HEADER},
         "register": "written"},
        {"name": "Report", "ansible.builtin.debug": {
            "msg": "changed_names={{ written.changed_names | join(',') }} secret_names={{ contract.secret_names | join(',') }}"}},
    ]


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(name="env_path")
def env_path_fixture(tmp_path):
    directory = tmp_path / "stack"
    directory.mkdir()
    return directory / ".env"


def test_check_run_recheck_rerun(playbook, tmp_path, env_path):
    book = write_playbook(tmp_path, env_tasks(env_path))
    runs = [("--check",), (), ("--check",), ()]
    outputs = []
    for args, expected_changed in zip(runs, [1, 1, 0, 0]):
        result = playbook(book, *args, "-vvv", "--diff")
        assert result.rc == 0, result.output[-3000:]
        assert result.recap()["changed"] == expected_changed, (args, result.output[-3000:])
        assert_no_secret(result.output, SECRETS.values())
        outputs.append(result.output)
        assert env_path.exists() == (len(outputs) > 1), "only the real run writes the file"

    first_check = outputs[0]
    assert "+++ after: %s" % env_path in first_check
    for name in SECRETS:
        assert "+%s=********\n" % name in first_check
    # Non-secret values read normally despite no_log on variables.
    assert "+PORT=3000\n" in first_check and "+NODE_ENV=production\n" in first_check
    assert "+APP_GREETING='hello # world'\n" in first_check
    assert "changed_names=ALLOWED_ORIGINS,APP_GREETING,APP_WEBHOOK_SECRET,DATABASE_URL" in first_check
    assert ("secret_names=APP_WEBHOOK_SECRET,DATABASE_URL,HEALTH_TOKEN,JWT_SECRET,REDIS_URL,SUPABASE_ANON_KEY"
            in first_check)
    assert "changed_names= " in outputs[3]

    assert file_mode(env_path) == 0o600
    text = env_path.read_text(encoding="utf-8")
    assert text.startswith("# " + HEADER[0] + "\n")
    assert parse(text) == as_env_strings(ENV)
    assert [line.split("=")[0] for line in text.splitlines()[1:]] == sorted(ENV)
    assert not [path.name for path in env_path.parent.iterdir() if path != env_path], "temporary files left behind"


def test_changed_secret_shows_as_changed_without_its_value(playbook, tmp_path, env_path):
    assert playbook(write_playbook(tmp_path, env_tasks(env_path))).rc == 0
    new_secret = "Nw8Jwt-Secret-Rt5Yu-Ii3Oo-Pp1Aa-Ss2"
    changed = dict(ENV, JWT_SECRET=new_secret, PORT=8080)
    del changed["LOG_LEVEL"]
    result = playbook(write_playbook(tmp_path, env_tasks(env_path, changed), "changed.yml"), "-vvv", "--diff")
    assert result.rc == 0, result.output[-3000:]
    assert result.recap()["changed"] == 1
    assert_no_secret(result.output, list(SECRETS.values()) + [new_secret])
    for line in ("-JWT_SECRET=********", "+JWT_SECRET=******** (changed)", "-LOG_LEVEL=info", "-PORT=3000", "+PORT=8080",
                 " DATABASE_URL=********"):
        assert "\n%s\n" % line in result.output, line
    assert "changed_names=JWT_SECRET,LOG_LEVEL,PORT " in result.output
    assert parse(env_path.read_text(encoding="utf-8"))["JWT_SECRET"] == new_secret


def test_mode_is_restored_and_can_be_chosen(playbook, tmp_path, env_path):
    book = write_playbook(tmp_path, env_tasks(env_path))
    assert playbook(book).rc == 0
    content = env_path.read_bytes()
    env_path.chmod(0o644)

    check = playbook(book, "--check", "--diff")
    assert check.recap()["changed"] == 1 and file_mode(env_path) == 0o644
    assert "+++ after: %s (attributes)" % env_path in check.output
    assert re.search(r"^-\s*\"?mode\"?: [\"']0644", check.output, re.M) and re.search(r"^\+\s*\"?mode\"?: [\"']0600", check.output, re.M)
    assert playbook(book).recap()["changed"] == 1
    assert file_mode(env_path) == 0o600 and env_path.read_bytes() == content
    assert playbook(book).recap()["changed"] == 0

    group_readable = write_playbook(tmp_path, env_tasks(env_path, mode="0640"), "mode.yml")
    assert playbook(group_readable).recap()["changed"] == 1
    assert file_mode(env_path) == 0o640
    assert playbook(group_readable).recap()["changed"] == 0


BAD_SECRETS = {"JWT_SECRET": "Sh0rt-Jw9", "DATABASE_URL": "mysql://app:My5qlPw-Zz3@db/app"}
BAD = dict(ENV, PORT=70000, NODE_ENV="prod", **BAD_SECRETS)


def failure_messages(output):
    """The msg of every failed task, from the JSON result format (one JSON string each)."""
    return [json.loads(match) for match in re.findall(r'"msg": ("(?:[^"\\]|\\.)*")', output)]


def test_bad_input_fails_with_one_line_and_writes_nothing(playbook, tmp_path, env_path):
    assert playbook(write_playbook(tmp_path, env_tasks(env_path))).rc == 0
    before = (env_path.read_bytes(), os.stat(env_path).st_mtime_ns)
    absent = env_path.parent / "new.env"

    tasks = env_tasks(env_path, BAD)
    tasks[0]["ignore_errors"] = True
    tasks.insert(1, {"name": "Write a new env file", "backendops.stack.env_file": {"path": str(absent), "variables": BAD},
                     "ignore_errors": True})
    result = playbook(write_playbook(tmp_path, tasks, "bad.yml"), "-vvv", "--diff", env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    assert result.rc != 0
    assert result.recap()["failed"] == 1 and result.recap()["changed"] == 0
    assert "Traceback" not in result.output
    assert_no_secret(result.output, list(SECRETS.values()) + list(BAD_SECRETS.values()))

    messages = [message for message in failure_messages(result.output) if message.startswith("Environment contract")]
    assert len(messages) == 3, result.output[-3000:]
    for message in messages:
        assert "\n" not in message
        assert message.startswith("Environment contract: 4 bad variable(s): ")
        assert "NODE_ENV must be one of development, production, test, got 'prod'" in message
        assert "PORT must be an integer from 1 to 65535, got '70000' (out of range)" in message
        assert "DATABASE_URL must be a URL with a host that starts with postgres:// or postgresql://" in message
        assert "JWT_SECRET must be at least 32 characters, got a hidden secret value (9 characters)" in message

    assert (env_path.read_bytes(), os.stat(env_path).st_mtime_ns) == before
    assert not absent.exists()


def test_bad_extra_definition_fails_before_anything_is_written(playbook, tmp_path, env_path):
    extra = EXTRA + [{"name": "QUEUE_MODE", "format": "choice"}]
    result = playbook(write_playbook(tmp_path, env_tasks(env_path, extra=extra)[1:2]), env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    assert result.rc != 0
    assert failure_messages(result.output) == [
        "Environment contract: 1 bad variable(s): extra[2] (QUEUE_MODE): format choice needs a non-empty choices list"]
    assert not env_path.exists()


def test_secrets_are_kept_across_runs_with_the_dotenv_filter(playbook, tmp_path, env_path):
    """The role pattern: read the file of the last run, reuse its JWT_SECRET, generate one only the first time."""
    variables = dict(ENV, JWT_SECRET="{{ jwt_secret }}")
    tasks = [
        {"name": "Read the env file of the last run", "ansible.builtin.slurp": {"path": str(env_path)},
         "register": "last_env_file", "failed_when": False},
        {"name": "Reuse or generate the JWT secret", "no_log": True, "ansible.builtin.set_fact": {
            "jwt_secret": "{{ (last_env_file.content | default('') | b64decode | backendops.stack.dotenv).JWT_SECRET"
                          " | default(lookup('ansible.builtin.password', '/dev/null', length=48)) }}"}},
    ] + env_tasks(env_path, variables)
    book = write_playbook(tmp_path, tasks)
    first = playbook(book, "--diff")
    assert first.rc == 0 and first.recap()["changed"] == 1, first.output[-3000:]
    generated = parse(env_path.read_text(encoding="utf-8"))["JWT_SECRET"]
    assert len(generated) == 48

    second = playbook(book, "-vvv", "--diff")
    assert second.rc == 0 and second.recap()["changed"] == 0, second.output[-3000:]
    assert parse(env_path.read_text(encoding="utf-8"))["JWT_SECRET"] == generated
    assert_no_secret(second.output, [generated])


def test_dotenv_filter_reads_back_every_awkward_value(playbook, tmp_path):
    values = {"V%02d" % index: value for index, value in enumerate(unit_dotenv_tests().AWKWARD_VALUES)}
    env_path = tmp_path / "awkward.env"
    env_path.write_text(render(values), encoding="utf-8")
    (tmp_path / "expected.json").write_text(json.dumps(values), encoding="utf-8")
    tasks = [
        {"name": "Read the file", "ansible.builtin.slurp": {"path": str(env_path)}, "register": "env_file"},
        {"name": "Compare", "ansible.builtin.assert": {"that": [
            "(env_file.content | b64decode | backendops.stack.dotenv) == (lookup('ansible.builtin.file', expected) | from_json)"],
            "quiet": True}, "vars": {"expected": str(tmp_path / "expected.json")}},
    ]
    result = playbook(write_playbook(tmp_path, tasks))
    assert result.rc == 0, result.output[-3000:]


def test_dotenv_filter_errors_name_the_line_without_the_value(playbook, tmp_path):
    tasks = [{"name": "Parse", "ansible.builtin.debug": {"msg": "{{ text | backendops.stack.dotenv }}"},
              "vars": {"text": "A=1\nB='Unt3rminated-Qx9"}}]
    result = playbook(write_playbook(tmp_path, tasks))
    assert result.rc != 0
    assert "dotenv: line 2 (B): the quoted value has no closing '" in result.output
    assert "Unt3rminated" not in result.output and "Traceback" not in result.output


# ---- Docker Compose reads the files exactly ----

def unit_dotenv_tests():
    """The awkward values of the unit tests, so both suites check the same cases."""
    path = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils" / "test_dotenv.py"
    spec = importlib.util.spec_from_file_location("dotenv_unit_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compose_env():
    """A clean environment: nothing in it that Compose could interpolate into the env file."""
    keep = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT", "XDG_RUNTIME_DIR")
    return {name: os.environ[name] for name in keep if name in os.environ}


def compose_config_environment(project_dir, env_file):
    (project_dir / "compose.yaml").write_text(yaml.safe_dump(
        {"services": {"app": {"image": "scratch", "env_file": [str(env_file)]}}}), encoding="utf-8")
    proc = subprocess.run(["docker", "compose", "--project-name", "envcheck", "config", "--format", "json"],
                          cwd=project_dir, env=compose_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["services"]["app"]["environment"]


def assert_compose_sees(project_dir, env_file, values):
    seen = compose_config_environment(project_dir, env_file)
    # `compose config` prints its model re-escaped for interpolation: each literal $ as $$.
    expected = {name: value.replace("$", "$$") for name, value in values.items()}
    mismatches = {name: (expected[name], seen.get(name)) for name in expected if seen.get(name) != expected[name]}
    assert not mismatches
    assert set(seen) == set(expected)


@needs_engine
def test_compose_config_sees_exactly_the_rendered_values(tmp_path):
    cases = unit_dotenv_tests()
    values = {"AWKWARD_%02d" % index: value for index, value in enumerate(cases.AWKWARD_VALUES)}
    values.update(cases.random_values(2024, 300))
    values.update(as_env_strings(ENV))
    env_file = tmp_path / "app.env"
    env_file.write_text(render(values), encoding="utf-8")
    assert_compose_sees(tmp_path, env_file, values)


@needs_engine
def test_compose_config_sees_exactly_what_env_file_wrote(playbook, tmp_path, env_path):
    assert playbook(write_playbook(tmp_path, env_tasks(env_path))).rc == 0
    assert_compose_sees(env_path.parent, env_path, as_env_strings(ENV))


def local_image_with_env():
    """A local image that can run `env` (pulling is impossible here), or None."""
    proc = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True,
                          timeout=60, check=False)
    for image in proc.stdout.split():
        if image.endswith(":<none>"):
            continue
        probe = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "env", image, "-0"],
                               capture_output=True, timeout=120, check=False)
        if probe.returncode == 0:
            return image
    return None


@needs_engine
def test_container_environment_holds_exactly_the_rendered_values(tmp_path):
    image = local_image_with_env()
    require(image is not None, "a local image that can run `env` (the base images of playbooks/local.yml; nothing is pulled)")
    values = {"AWKWARD_%02d" % index: value for index, value in enumerate(unit_dotenv_tests().AWKWARD_VALUES)}
    values.update(as_env_strings(ENV))
    (tmp_path / "app.env").write_text(render(values), encoding="utf-8")
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump({"services": {"app": {
        "image": image, "pull_policy": "never", "network_mode": "none", "env_file": ["app.env"],
        "entrypoint": ["env", "-0"]}}}), encoding="utf-8")
    command = ["docker", "compose", "--project-name", "envcheck-%d" % os.getpid(), "run", "--rm", "--no-deps", "app"]
    proc = subprocess.run(command, cwd=tmp_path, env=compose_env(), capture_output=True, timeout=300, check=False)
    subprocess.run(["docker", "compose", "--project-name", "envcheck-%d" % os.getpid(), "down"], cwd=tmp_path,
                   env=compose_env(), capture_output=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    environment = dict(entry.split("=", 1) for entry in proc.stdout.decode("utf-8").split("\0") if "=" in entry)
    assert {name: environment.get(name) for name in values} == values


def test_file_handling_edge_cases(playbook, tmp_path, env_path):
    """Expected failures are one clear line; odd existing files are handled without leaking their content."""
    env_path.write_text("JWT_SECRET='Old5ecret-Gh7Jk\nBROKEN\n", encoding="utf-8")
    real = tmp_path / "real.env"
    link = tmp_path / "link.env"
    link.symlink_to(real)
    subset = {"NODE_ENV": "production", "WORKER_CONCURRENCY": 4}
    base = {"variables": ENV, "extra": EXTRA}
    tasks = [
        {"name": "Missing directory", "backendops.stack.env_file": dict(base, path=str(tmp_path / "nowhere" / ".env")),
         "ignore_errors": True},
        {"name": "Unknown owner", "backendops.stack.env_file": dict(base, path=str(real), owner="no-such-user-x"),
         "ignore_errors": True},
        {"name": "Symbolic mode", "backendops.stack.env_file": dict(base, path=str(real), mode="u=rw"), "ignore_errors": True},
        {"name": "Replace an unreadable file", "backendops.stack.env_file": dict(base, path=str(env_path)), "register": "replaced"},
        {"name": "Write through a symbolic link", "backendops.stack.env_file": dict(base, path=str(link))},
        {"name": "Subset for a worker", "backendops.stack.env_file": {
            "path": str(tmp_path / "worker.env"), "variables": subset, "validate_contract": False}},
        {"name": "Report", "ansible.builtin.debug": {"msg": "replaced_names={{ replaced.changed_names | join(',') }}"}},
    ]
    result = playbook(write_playbook(tmp_path, tasks), "--diff", env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    assert result.rc == 0, result.output[-3000:]
    assert "Traceback" not in result.output
    assert_no_secret(result.output, list(SECRETS.values()) + ["Old5ecret-Gh7Jk"])
    assert [message for message in failure_messages(result.output) if not message.startswith("replaced_names=")] == [
        "directory %s of %s does not exist: create it first (ansible.builtin.file with state=directory)"
        % (tmp_path / "nowhere", tmp_path / "nowhere" / ".env"),
        "owner 'no-such-user-x' does not exist on the target host: create the user first or fix the name",
        "mode 'u=rw' is not an octal file mode: give it as a quoted string like '0600'",
    ]
    assert "could not be read as an env file (line 1 (JWT_SECRET): the quoted value has no closing ')" in result.output
    assert "replaced_names=%s" % ",".join(sorted(ENV)) in result.output
    assert parse(env_path.read_text(encoding="utf-8")) == as_env_strings(ENV)
    assert link.is_symlink() and parse(real.read_text(encoding="utf-8")) == as_env_strings(ENV)
    assert file_mode(real) == 0o600
    assert parse((tmp_path / "worker.env").read_text(encoding="utf-8")) == {"NODE_ENV": "production", "WORKER_CONCURRENCY": "4"}


@needs_root
def test_owner_and_group(playbook, tmp_path, env_path):
    book = write_playbook(tmp_path, [{"name": "Owned by nobody", "backendops.stack.env_file": {
        "path": str(env_path), "variables": ENV, "extra": EXTRA, "owner": "nobody", "group": "0"}}])
    assert playbook(book, "--check").recap()["changed"] == 1 and not env_path.exists()
    assert playbook(book).recap()["changed"] == 1
    st = os.stat(env_path)
    assert (st.st_uid, st.st_gid, file_mode(env_path)) == (pwd_uid("nobody"), 0, 0o600)
    assert playbook(book).recap()["changed"] == 0
    os.chown(env_path, 0, 0)
    assert playbook(book).recap()["changed"] == 1 and os.stat(env_path).st_uid == pwd_uid("nobody")


def pwd_uid(name):
    import pwd  # pylint: disable=import-outside-toplevel
    return pwd.getpwnam(name).pw_uid
