# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Python file of the repository (modules, plugins, tests, tools, Python scripts) starts with the standard
header - copyright, licence, SPDX identifier - after its shebang line if any, and has no coding line (UTF-8 is the
default)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HEADER = ["# Copyright (c) backendops.stack maintainers",
          "# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)",
          "# SPDX-License-Identifier: GPL-3.0-or-later"]
CODING = re.compile(r"^#.*coding[:=]")


def python_files():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        path = REPO_ROOT / name
        if not name or path.is_symlink() or not path.is_file():
            continue
        if name.endswith(".py"):
            yield name, path.read_text(encoding="utf-8")
        elif "." not in path.name:
            with path.open("rb") as handle:
                if re.match(rb"#!.*python", handle.readline()):
                    yield name, path.read_text(encoding="utf-8")


def test_every_python_file_has_the_standard_header():
    files = dict(python_files())
    assert "plugins/module_utils/source_sync.py" in files and "scripts/gen-role-docs" in files
    wrong = []
    for name, text in sorted(files.items()):
        lines = text.splitlines()
        if lines and lines[0].startswith("#!"):
            lines = lines[1:]
        if not lines:  # an empty __init__.py needs no header
            continue
        if lines[:3] != HEADER or any(CODING.match(line) for line in lines[:2]):
            wrong.append(name)
    assert not wrong, "files without the standard header (%s) or with a coding line: %s" % (" / ".join(HEADER), wrong)
