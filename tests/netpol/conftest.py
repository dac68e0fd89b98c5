"""Fixtures for engine tests."""

from __future__ import annotations

import pytest
from support.netpol_world import World


@pytest.fixture
def world() -> World:
    return World()
