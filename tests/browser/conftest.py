"""The fixtures every browser test may ask for (the helpers themselves are in tests/browser/live.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.live import chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for one test."""
    with chromium() as launched:
        yield launched
