"""Shared pytest set-up; the helpers live in support.py so that test modules can import them."""
from __future__ import annotations

import pytest

from support import run_playbook


@pytest.fixture(name="playbook")
def playbook_fixture():
    return run_playbook
