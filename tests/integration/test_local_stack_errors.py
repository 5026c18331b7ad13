# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/local.yml refuses bad situations with one clear message and changes nothing."""
from __future__ import annotations

import json
import shutil
import socket

from support import docker, engine_answers, free_port, in_ci, needs_engine, stack_containers, stacks_dir

PLAYBOOK = "playbooks/local.yml"


def extra_vars(**values) -> list[str]:
    return ["-e", json.dumps(values)]


def test_bad_contract_values_fail_first_naming_each_variable(playbook):
    stack = "pytest-badinput"
    run = playbook(PLAYBOOK, *extra_vars(
        compose_stack_name=stack,
        compose_stack_env={"SUPABASE_URL": "not a url", "SUPABASE_ANON_KEY": "", "LOG_LEVEL": "loud"},
    ))
    assert run.rc != 0
    assert "SUPABASE_URL" in run.stdout and "SUPABASE_ANON_KEY" in run.stdout and "LOG_LEVEL" in run.stdout
    assert "Traceback" not in run.output
    # The contract play runs before the engine, images and stack plays.
    assert "Make sure a Docker engine" not in run.stdout
    assert not (stacks_dir() / stack).exists()
    if engine_answers() or in_ci():  # in CI a missing engine fails here rather than dropping the check
        assert stack_containers(stack) == []


@needs_engine
def test_port_in_use_fails_naming_the_port(playbook):
    stack = "pytest-port"
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        run = playbook(PLAYBOOK, *extra_vars(compose_stack_name=stack, compose_stack_backend_port=port))
    try:
        assert run.rc != 0
        assert f"Port {port} on 127.0.0.1 is already in use" in run.stdout
        assert stack_containers(stack) == []
    finally:
        shutil.rmtree(stacks_dir() / stack, ignore_errors=True)


def test_no_engine_fails_saying_so(playbook, tmp_path):
    play = tmp_path / "stack.yml"
    play.write_text(
        "- hosts: docker_hosts\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: backendops.stack.app_image, tasks_from: profile}\n"
        "    - ansible.builtin.include_role: {name: backendops.stack.compose_stack}\n"
        "      vars: {compose_stack_name: pytest-noengine, compose_stack_profile: '{{ app_image_profile }}'}\n"
    )
    run = playbook(str(play), env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert run.rc != 0
    assert "No Docker engine answers" in run.stdout
    assert "Traceback" not in run.output
    assert not (stacks_dir() / "pytest-noengine").exists()


@needs_engine
def test_database_volume_without_its_password_fails_naming_both(playbook):
    """A stack whose .env was deleted but whose database volume is kept must not get a new database password."""
    stack = "pytest-lostenv"
    volume = f"backendops-{stack}_pgdata"
    docker("volume", "create", volume)
    try:
        run = playbook(PLAYBOOK, *extra_vars(compose_stack_name=stack, compose_stack_backend_port=free_port()))
        assert run.rc != 0
        # The yaml callback wraps long messages, so the words are compared, not the lines.
        message = " ".join(run.stdout.split())
        assert f"has a database volume ({volume}) but" in message and "/.env with its password is gone" in message
        assert f"docker volume rm {volume}" in message
        assert "Traceback" not in run.output
        assert not (stacks_dir() / stack).exists()
        assert stack_containers(stack) == []
    finally:
        docker("volume", "rm", volume, check=False)
        shutil.rmtree(stacks_dir() / stack, ignore_errors=True)
