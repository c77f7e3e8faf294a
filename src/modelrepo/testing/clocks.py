"""The contract every `Clock` passes (subclass with a `clock`): stores compare and store its
readings as UTC instants, so it must never give a naive time or go back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ..ports import Clock


class ClockContract:
    @pytest.fixture
    def clock(self, *args: Any) -> Clock:
        raise NotImplementedError

    def test_readings_are_utc_and_never_go_back(self, clock: Clock) -> None:
        readings = [clock.now() for _ in range(50)]
        assert all(r.utcoffset() == timedelta(0) for r in readings)
        assert readings == sorted(readings)
