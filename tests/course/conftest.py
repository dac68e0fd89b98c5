"""Fixtures for the course tests."""

from __future__ import annotations

import pytest
from support.lesson_helpers import load_build


@pytest.fixture(scope="session")
def build():
    return load_build()
