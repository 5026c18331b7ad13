# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/variables.md is generated from the roles' argument specs by scripts/gen-role-docs and must stay in sync."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "gen-role-docs"
REFERENCE = REPO_ROOT / "docs" / "variables.md"


def load_generator():
    loader = SourceFileLoader("gen_role_docs", str(SCRIPT))
    module = module_from_spec(spec_from_loader("gen_role_docs", loader))
    loader.exec_module(module)
    return module


gen_role_docs = load_generator()


def test_variables_reference_is_up_to_date():
    assert REFERENCE.read_text(encoding="utf-8") == gen_role_docs.render(REPO_ROOT / "roles"), (
        "docs/variables.md is out of date: run .venv/bin/python scripts/gen-role-docs")


def test_every_variable_of_every_role_is_in_the_reference():
    reference = REFERENCE.read_text(encoding="utf-8")
    for path in sorted((REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")):
        role = path.parent.parent.name
        assert f"## backendops.stack.{role}\n" in reference
        for entry_point in yaml.safe_load(path.read_text(encoding="utf-8"))["argument_specs"].values():
            for option in entry_point.get("options") or {}:
                assert f"| `{option}` |" in reference, f"{role}: {option}"


@pytest.fixture(name="roles_dir")
def roles_dir_fixture(tmp_path) -> Path:
    """One role with the cases the generator must handle: markup, pipes, choices, required, suboptions, an entry
    point sharing main's options through a YAML anchor, and one without options."""
    meta = tmp_path / "roles" / "demo" / "meta"
    meta.mkdir(parents=True)
    (meta / "argument_specs.yml").write_text(textwrap.dedent("""\
        argument_specs:
          main:
            short_description: Demo I(role)
            description:
              - Uses O(demo_mode=fast), see L(the docs, https://example.com/docs) and U(https://example.com).
              - Second paragraph with B(bold) and M(backendops.stack.env_file).
            options: &options
              demo_mode:
                type: str
                choices: [fast, safe]
                default: safe
                description: How to run; V(fast) skips checks.
              demo_command:
                type: str
                required: true
                description: A shell pipeline such as C(a | b).
              demo_flags:
                type: list
                elements: str
                default: []
                description: Extra flags.
              demo_target:
                type: dict
                description: Where to go.
                options:
                  host:
                    type: str
                    default: localhost
                    description: Host name.
          stop:
            short_description: Stop it
            options: *options
          ping:
            short_description: Ping
        """), encoding="utf-8")
    return tmp_path / "roles"


def test_generator_renders_markup_tables_and_shared_options(roles_dir):
    text = gen_role_docs.render(roles_dir)
    assert "### `main`: Demo *role*" in text
    assert "Uses `demo_mode=fast`, see [the docs](https://example.com/docs) and <https://example.com>." in text
    assert "Second paragraph with **bold** and `backendops.stack.env_file`." in text
    assert "| `demo_command` | str | **required** | A shell pipeline such as `a \\| b`. |" in text
    assert "| `demo_flags` | list of str | `[]` | Extra flags. |" in text
    assert "| `demo_mode` | str | `safe` | How to run; `fast` skips checks. Choices: `fast`, `safe`. |" in text
    assert "| `demo_target.host` | str | `localhost` | Host name. |" in text
    # Rows sorted by name, suboptions right after their parent.
    rows = [line.split("`")[1] for line in text.splitlines() if line.startswith("| `")]
    assert rows == ["demo_command", "demo_flags", "demo_mode", "demo_target", "demo_target.host"]
    # main first, then the other entry points by name; shared options are not repeated.
    assert text.index("### `main`") < text.index("### `ping`") < text.index("### `stop`")
    include = "Run with `ansible.builtin.include_role` (`name: backendops.stack.demo`, `tasks_from: {}`)."
    assert f"### `stop`: Stop it\n\n{include.format('stop')}\n\nSame variables as `main`." in text
    assert f"### `ping`: Ping\n\n{include.format('ping')}\n\nNo variables." in text
    assert "- [backendops.stack.demo](#backendopsstackdemo)" in text


def test_check_fails_on_a_stale_reference_and_writing_fixes_it(roles_dir, tmp_path):
    output = tmp_path / "variables.md"
    output.write_text("stale\n", encoding="utf-8")
    command = [sys.executable, str(SCRIPT), "--roles-dir", str(roles_dir), "--output", str(output)]

    stale = subprocess.run([*command, "--check"], capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "is out of date; run scripts/gen-role-docs" in stale.stderr
    assert output.read_text(encoding="utf-8") == "stale\n", "--check must not write"

    assert subprocess.run(command, capture_output=True, text=True, check=False).returncode == 0
    assert output.read_text(encoding="utf-8") == gen_role_docs.render(roles_dir)
    fresh = subprocess.run([*command, "--check"], capture_output=True, text=True, check=False)
    assert fresh.returncode == 0, fresh.stderr


class _TagTolerantLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """Reads defaults files that hold !unsafe values."""


_TagTolerantLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_every_role_default_is_a_documented_input():
    """A default outside the argument spec is an input that is neither checked nor in docs/variables.md."""
    for spec in sorted((REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")):
        role = spec.parent.parent
        options = set()
        for entry_point in yaml.safe_load(spec.read_text(encoding="utf-8"))["argument_specs"].values():
            options |= set(entry_point.get("options") or {})
        defaults_file = role / "defaults" / "main.yml"
        defaults = yaml.load(defaults_file.read_text(encoding="utf-8"), Loader=_TagTolerantLoader) or {}  # nosec B506
        public = {name for name in defaults if not name.startswith("__")}
        assert sorted(public - options) == [], f"{role.name}: defaults without an argument spec entry"
