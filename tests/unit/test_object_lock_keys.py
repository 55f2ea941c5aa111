"""The ``s3:object-lock-*`` condition keys (access/context.object_lock_keys)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sealbox.access.context import object_lock_keys

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def test_every_key_from_a_full_lock() -> None:
    keys = object_lock_keys("GOVERNANCE", NOW + timedelta(days=30), "ON", now=NOW)
    assert keys == {
        "s3:object-lock-mode": ("GOVERNANCE",),
        "s3:object-lock-retain-until-date": ("2030-01-31T12:00:00.000Z",),
        "s3:object-lock-remaining-retention-days": ("30",),
        "s3:object-lock-legal-hold": ("ON",),
    }


def test_remaining_days_round_up_and_never_go_below_zero() -> None:
    def days(until: datetime) -> str:
        return object_lock_keys("COMPLIANCE", until, None, now=NOW)[
            "s3:object-lock-remaining-retention-days"][0]

    assert days(NOW + timedelta(days=29, hours=23)) == "30"
    assert days(NOW + timedelta(seconds=1)) == "1"
    assert days(NOW - timedelta(days=3)) == "0"


def test_what_the_request_leaves_out_is_absent() -> None:
    assert object_lock_keys(None, None, "OFF", now=NOW) == {"s3:object-lock-legal-hold": ("OFF",)}
    assert object_lock_keys(None, None, None, now=NOW) == {}
