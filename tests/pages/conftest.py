"""Fixtures of the content-page tests: the demo case delivered under a warrant or a PRTT order."""

from __future__ import annotations

import pytest

from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.pages.world import World, deliver_demo


@pytest.fixture
def world(setup: Setup) -> World:  # noqa: F811
    return deliver_demo(setup, "eavesdropping")


@pytest.fixture
def prtt_world(setup: Setup) -> World:  # noqa: F811
    return deliver_demo(setup, "prtt")
