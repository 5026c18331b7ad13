# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Railway package's floors, as its __init__ states them: each module imports only the floors below it, and
the generic module_utils beside it never import it."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from ansible_collections.backendops.stack.plugins.module_utils import railway

MODULE_UTILS = Path(railway.__file__).resolve().parents[1]
PACKAGE = "ansible_collections.backendops.stack.plugins.module_utils.railway"


def floors() -> dict:
    """{module: floor} from the package's docstring ("N. module  what" lines, and indented ones of the same floor)."""
    found, floor = {}, None
    for line in railway.__doc__.splitlines():
        numbered = re.match(r"^(\d)\. (\w+)", line)
        if numbered:
            floor = int(numbered.group(1))
            found[numbered.group(2)] = floor
        elif floor is not None and re.match(r"^   (\w+)\s", line):
            found[line.split()[0]] = floor
    return found


def imported(path: Path) -> set:
    """The package's modules that ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
            names.add(node.module[len(PACKAGE) + 1:])
    return names


def test_every_module_of_the_package_has_a_floor():
    modules = {path.stem for path in (MODULE_UTILS / "railway").glob("*.py") if path.stem != "__init__"}
    assert set(floors()) == modules


def test_the_package_imports_downward_only():
    level = floors()
    upward = [(module, name) for module in level for name in imported(MODULE_UTILS / "railway" / (module + ".py"))
              if level[name] >= level[module]]
    assert upward == []


def test_generic_module_utils_never_import_the_railway_package():
    generic = [path.name for path in MODULE_UTILS.glob("*.py") if "module_utils.railway" in path.read_text()]
    assert generic == []


def test_module_utils_never_import_modules_or_other_plugins():
    """Modules use module_utils, never the reverse (docs/architecture.md)."""
    upward = []
    for path in MODULE_UTILS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("ansible_collections.backendops.stack.plugins.") \
                    and not module.startswith("ansible_collections.backendops.stack.plugins.module_utils"):
                upward.append((path.name, module))
    assert upward == []
