"""Object lock's two rules, pure (the time is an argument): when a version
may be removed, and when its retention may be changed.

They are S3's ("Object Lock" in the S3 User Guide; ceph/s3-tests'
``test_object_lock_*``):

- a version under a legal hold, or whose retain-until date is still to
  come, cannot be removed; in GOVERNANCE mode a request that sets
  ``x-amz-bypass-governance-retention: true``, made by a principal allowed
  ``s3:BypassGovernanceRetention``, may; in COMPLIANCE mode nobody may,
  the account's root included;
- a retention in force may be lengthened in its own mode; shortening,
  removing it or changing its mode needs the governance bypass, and is
  never allowed in COMPLIANCE mode. A retention whose date has passed
  protects nothing and may be replaced by anything.

The store applies both inside the transaction that removes or changes the
version (``sql/versions.py``), so every path that removes bytes obeys them:
DeleteObject and DeleteObjects by version, an overwrite of a null version,
and whatever calls ``MetaStore.delete_version`` (a lifecycle worker, an
admin command).
"""

from __future__ import annotations

from datetime import datetime

GOVERNANCE, COMPLIANCE = "GOVERNANCE", "COMPLIANCE"
MODES = (GOVERNANCE, COMPLIANCE)


def removal_protected(mode: str | None, until: datetime | None, legal_hold: bool | None,
                      now: datetime, *, bypass_governance: bool = False) -> bool:
    """Whether a version with this lock may not be removed at ``now``."""
    if legal_hold:
        return True
    if mode is None or until is None or until <= now:
        return False
    return not (mode == GOVERNANCE and bypass_governance)


def retention_change_allowed(old_mode: str | None, old_until: datetime | None,
                             new_mode: str | None, new_until: datetime | None,
                             now: datetime, *, bypass_governance: bool = False) -> bool:
    """Whether a version's retention may go from the old (mode, until) to the
    new one (None, None: no retention) at ``now``."""
    if old_mode is None or old_until is None or old_until <= now:
        return True
    if old_mode == GOVERNANCE and bypass_governance:
        return True
    return new_mode == old_mode and new_until is not None and new_until >= old_until
