# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secret values: how they show (masked), how a module keeps them out of its output, and how new ones are made."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterable, Mapping

MASK = "********"
CHANGED = " (changed)"
# Letters and digits only: a generated secret needs no quoting in an env file, a URL or a shell.
ALPHABET = string.ascii_letters + string.digits


def generate_secret(length: int = 32) -> str:
    """A new random secret of length letters and digits, from the system's cryptographic source."""
    return "".join(secrets.choice(ALPHABET) for _position in range(length))


def masked(names: Iterable[str], changed: Iterable[str] = ()) -> dict[str, str]:
    """{name: MASK} for a diff; a name in changed gets ' (changed)', so a diff shows a line for a value that changes."""
    changed = set(changed)
    return {name: MASK + (CHANGED if name in changed else "") for name in names}


def masked_lines(values: Mapping[str, object], secret: Callable[[str], bool] = lambda _name: True,
                 changed: Iterable[str] = (), show: Callable[[str, object], str] = lambda _name, value: str(value)) -> str:
    """NAME=value lines sorted by name, the values of secret names masked (marked ' (changed)' when in changed)."""
    marks = masked((name for name in values if secret(name)), changed)
    return "".join("%s=%s\n" % (name, marks[name] if name in marks else show(name, values[name])) for name in sorted(values))


def hide_values(module, values: Iterable[str], shown: Iterable[str] = ()) -> None:
    """Keep values out of everything the module prints (Ansible masks its no_log_values), except those in shown.

    shown: values of non-secret variables that no secret shares, which would otherwise be masked wherever they
    appear (a no_log option masks all of its values, the PORT "3000" in a path too).
    """
    module.no_log_values.update(value for value in values if value)
    module.no_log_values.difference_update(shown)
