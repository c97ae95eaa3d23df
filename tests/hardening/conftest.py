"""The fake vendors of the soaks, started for one test and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hardening.soak import Fakes, started_fakes


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with started_fakes() as started:
        yield started
