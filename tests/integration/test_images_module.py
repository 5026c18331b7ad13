# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""backendops.stack.images against the real Docker engine, on a two-line image (seconds, not minutes).

Builds once, then proves the re-run changes nothing, check mode builds nothing, a failing step and a missing
base fail in one line, and check mode plans an image on a base it plans to build. The images made here are removed by repository name.
"""
from __future__ import annotations

import json
import uuid

import pytest

from support import ENGINE, docker, engine_answers, require, run_playbook

BASE = "backendops/debian:bookworm"  # imported by test_base_images / the base_images role
PLAYBOOK = """\
- name: Images
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Build what is missing
      backendops.stack.images:
        images: "{{ test_images }}"
      register: result

    - name: Hand the result to the test
      ansible.builtin.copy:
        dest: "{{ out_file }}"
        content: "{{ result | to_json }}"
        mode: "0644"
      changed_when: false
      check_mode: false
"""


@pytest.fixture(name="setup")
def setup_fixture(tmp_path):
    require(engine_answers(), ENGINE)
    require(docker("image", "inspect", BASE, check=False).returncode == 0, f"the image {BASE} (run backendops.stack.base_images)")
    repository = f"bo-images-test-{uuid.uuid4().hex[:8]}/app"
    playbook = tmp_path / "images.yml"
    playbook.write_text(PLAYBOOK)
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx/hello").write_text("hello\n")
    yield repository, playbook, tmp_path
    ids = docker("image", "ls", "--quiet", "--filter", f"reference={repository}", check=False).stdout.split()
    if ids:
        docker("image", "rm", "--force", *sorted(set(ids)), check=False)


def run(playbook, tmp_path, repository, dockerfile, *args, base=BASE):
    out_file = tmp_path / f"out-{uuid.uuid4().hex[:6]}.json"
    image = {"name": repository, "context": str(tmp_path / "ctx"), "dockerfile": str(tmp_path / "render/Dockerfile"),
             "files": [{"dest": str(tmp_path / "render/Dockerfile"), "content": dockerfile}],
             "targets": [{"tag": "prod", "stage": "prod"}], "base_images": [base], "base_key": "base"}
    result = run_playbook(playbook, "-i", "localhost,", "-e", json.dumps({"test_images": [image], "out_file": str(out_file)}), *args)
    return result, (json.loads(out_file.read_text()) if out_file.exists() else None)


def test_builds_once_then_changes_nothing_and_check_mode_builds_nothing(setup):
    repository, playbook, tmp_path = setup
    dockerfile = f"FROM {BASE} AS prod\nCOPY hello /hello\n"
    first, built = run(playbook, tmp_path, repository, dockerfile)
    assert first.rc == 0, first.output[-4000:]
    assert first.recap()["changed"] == 1
    ref = built["images"][0]["ref"]
    assert ref.startswith(repository + ":prod-") and built["images"][0]["built"] == [ref]
    assert built["images"][0]["id"].startswith("sha256:") and built["images"][0]["config"]["Cmd"] == ["bash"]
    label = docker("image", "inspect", "--format", '{{index .Config.Labels "io.backendops.context-digest"}}', ref).stdout.strip()
    assert label == built["images"][0]["digest"]

    second, again = run(playbook, tmp_path, repository, dockerfile)
    assert second.rc == 0 and second.recap()["changed"] == 0, second.output[-4000:]
    assert again["images"][0]["ref"] == ref and again["images"][0]["built"] == []

    # A changed Dockerfile in check mode: the planned tag is exact, nothing is written or built.
    changed = dockerfile + "ENV PLANNED=1\n"
    planned_run, planned = run(playbook, tmp_path, repository, changed, "--check", "--diff")
    assert planned_run.rc == 0 and planned_run.recap()["changed"] == 1, planned_run.output[-4000:]
    planned_ref = planned["images"][0]["ref"]
    assert planned_ref != ref and f"+{planned_ref} (build)" in planned_run.stdout
    assert docker("image", "inspect", planned_ref, check=False).returncode != 0
    assert (tmp_path / "render/Dockerfile").read_text() == dockerfile
    real_run, real = run(playbook, tmp_path, repository, changed)
    assert real_run.rc == 0 and real["images"][0]["ref"] == planned_ref


def test_a_failing_step_and_a_missing_base_fail_in_one_line(setup):
    repository, playbook, tmp_path = setup
    failing = run(playbook, tmp_path, repository, f"FROM {BASE} AS prod\nRUN echo broken-step-output >&2; exit 3\n")[0]
    assert failing.rc != 0
    assert f"Building {repository} (target prod) failed at step [2/2] RUN echo broken-step-output >&2; exit 3 (exit code 3)" \
        in failing.stdout, failing.output[-4000:]
    assert "broken-step-output" in failing.stdout and "Traceback" not in failing.output

    missing = run(playbook, tmp_path, repository, "FROM bo-absent/base:1 AS prod\n", base="bo-absent/base:1")[0]
    assert missing.rc != 0
    assert "Base image bo-absent/base:1 is not on the Docker host. Pull or build it first" in missing.stdout, missing.output[-4000:]
    assert docker("image", "ls", "--quiet", "--filter", f"reference={repository}").stdout.strip() == ""

    # Check mode on a fresh host: the base is one the same run plans to build (base_images' pending tag), so the
    # image would be built after it - a plan, not the missing-base failure.
    planned_base = "bo-absent/base:22-pending"
    planned_run, planned = run(playbook, tmp_path, repository, f"FROM {planned_base} AS prod\n", "--check", base=planned_base)
    assert planned_run.rc == 0 and planned_run.recap()["changed"] == 1, planned_run.output[-4000:]
    assert planned["images"][0]["ref"] == f"{repository}:prod-pending" and planned["missing_bases"] == []
    # A real run is no plan: the same base is missing.
    assert run(playbook, tmp_path, repository, f"FROM {planned_base} AS prod\n", base=planned_base)[0].rc != 0
