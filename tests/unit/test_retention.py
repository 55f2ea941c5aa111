"""Object lock's rules (store/retention.py), one case a row: when a version
may be removed, and when its retention may change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sealbox.store.retention import (
    COMPLIANCE,
    GOVERNANCE,
    removal_protected,
    retention_change_allowed,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)
SOON, LATER, GONE = NOW + timedelta(days=1), NOW + timedelta(days=2), NOW - timedelta(seconds=1)


@pytest.mark.parametrize(("mode", "until", "hold", "bypass", "protected"), [
    (None, None, None, False, False),
    (None, None, False, False, False),
    (None, None, True, True, True),  # a legal hold knows no bypass
    (GOVERNANCE, LATER, None, False, True),
    (GOVERNANCE, LATER, None, True, False),
    (COMPLIANCE, LATER, None, True, True),  # nor does COMPLIANCE
    (COMPLIANCE, NOW, None, False, False),  # the instant it ends, it is over
    (COMPLIANCE, GONE, None, False, False),
    (COMPLIANCE, GONE, True, False, True),
])
def test_removal(mode, until, hold, bypass, protected) -> None:
    assert removal_protected(mode, until, hold, NOW, bypass_governance=bypass) is protected


@pytest.mark.parametrize(("old", "new", "bypass", "allowed"), [
    ((None, None), (COMPLIANCE, SOON), False, True),
    ((GOVERNANCE, SOON), (GOVERNANCE, LATER), False, True),
    ((GOVERNANCE, SOON), (GOVERNANCE, SOON), False, True),
    ((GOVERNANCE, LATER), (GOVERNANCE, SOON), False, False),
    ((GOVERNANCE, LATER), (GOVERNANCE, SOON), True, True),
    ((GOVERNANCE, LATER), (None, None), False, False),
    ((GOVERNANCE, LATER), (None, None), True, True),
    ((GOVERNANCE, SOON), (COMPLIANCE, LATER), False, False),  # s3-tests: mode change needs it
    ((GOVERNANCE, SOON), (COMPLIANCE, SOON), True, True),
    ((COMPLIANCE, SOON), (COMPLIANCE, LATER), False, True),
    ((COMPLIANCE, LATER), (COMPLIANCE, SOON), True, False),
    ((COMPLIANCE, SOON), (GOVERNANCE, LATER), True, False),
    ((COMPLIANCE, SOON), (None, None), True, False),
    ((COMPLIANCE, GONE), (None, None), False, True),  # expired: anything goes
])
def test_change(old, new, bypass, allowed) -> None:
    assert retention_change_allowed(*old, *new, NOW, bypass_governance=bypass) is allowed
