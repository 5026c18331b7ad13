# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secret values: masked in diffs, kept out of a module's output, generated from the cryptographic source."""
from __future__ import annotations

from ansible_collections.backendops.stack.plugins.module_utils.secret_values import (
    ALPHABET, MASK, generate_secret, hide_values, masked, masked_lines)


def test_a_generated_secret_has_its_length_in_letters_and_digits_and_is_new_each_time():
    first, second = generate_secret(48), generate_secret(48)
    assert len(first) == 48 and set(first) <= set(ALPHABET) and first != second
    assert len(generate_secret()) == 32


def test_masked_names_mark_the_changed_ones():
    assert masked(["A", "B"], changed=["B"]) == {"A": MASK, "B": MASK + " (changed)"}


def test_masked_lines_show_only_non_secret_values_sorted_by_name():
    lines = masked_lines({"TOKEN": "s3cret-value", "PORT": 3000}, secret=lambda name: name == "TOKEN", changed=["TOKEN"])
    assert lines == "PORT=3000\nTOKEN=******** (changed)\n"
    assert masked_lines({"A": "x"}) == "A=********\n"


class Module:
    def __init__(self):
        self.no_log_values = {"3000", "kept"}


def test_hidden_values_join_the_modules_mask_and_the_shown_ones_leave_it():
    module = Module()
    hide_values(module, ["s3cret", ""], shown=["3000"])
    assert module.no_log_values == {"kept", "s3cret"}
