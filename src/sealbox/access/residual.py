"""Policies with what a client's steady facts settle already taken out.

Most condition keys are the same on every request of one client: its
address, its user, its Referer and User-Agent, whether it came over TLS,
the signature version. A few change on every request: the clock
(aws:CurrentTime, aws:EpochTime) and the signature's age (s3:signatureAge).
For one set of policies and one set of steady values, every condition on a
steady key has one outcome; ``ResidualPolicies`` works them out once and
keeps, for those values, *residual* policies: the same statements, in the
same order and with the same labels, less those a steady condition rules
out, each keeping only its conditions on changing keys (and those whose
values hold policy variables, which read the context themselves).

``evaluate`` on the residual policies decides exactly as on the originals:
a dropped statement could not apply to this request, and a kept one has
already passed every condition it no longer carries. Principal and
Resource are left in place for ``evaluate`` to check, so the residual does
not depend on who asks for what. Pure, like the rest of ``access``: the
memo is keyed by the steady values themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sealbox.access.conditions import Condition
from sealbox.access.context import CHANGING_KEYS
from sealbox.access.model import Policy, Statement

# Bounds on what is remembered, each started afresh when full: steady-value
# sets per policy set, and (action, resource) pairs per steady-value set, so
# at most 256 x 128 narrowed pairs per (principal, bucket) whatever clients send.
_RESIDUALS_KEPT = 256
_NARROWED_KEPT = 128

Narrowed = tuple[tuple[Policy, ...], Policy | None]


def _settled_here(condition: Condition) -> bool:
    """Whether the steady values alone decide this condition."""
    return condition.key not in CHANGING_KEYS and not any("${" in v for v in condition.values)


def residual_policy(policy: Policy, context: Mapping[str, Sequence[str]]) -> Policy:
    """``policy`` less the statements a settled condition rules out, the
    others without their settled conditions (see the module docstring); a
    statement that lost conditions keeps the original as ``written``."""
    statements: list[Statement] = []
    for st in policy.statements:
        left: list[Condition] = []
        for condition in st.conditions:
            if not _settled_here(condition):
                left.append(condition)
            elif not condition.holds(context):
                break
        else:
            if len(left) == len(st.conditions):
                statements.append(st)
                continue
            statements.append(replace(st, conditions=tuple(left), written=st.as_written))
    return _with_statements(policy, statements)


def _with_statements(policy: Policy, statements: Sequence[Statement]) -> Policy:
    # A new Policy, not replace(): its memo dicts must be its own.
    return Policy(policy.kind, policy.name, policy.version, policy.id, tuple(statements),
                  policy.size, policy.condition_keys, policy.public)


class Residual:
    """Residual policies for one set of steady values, and for each
    (action, resource) asked, the same narrowed to the statements whose
    Action and Resource may admit it: ``evaluate`` then reads only those."""

    __slots__ = ("_narrowed", "bucket_policy", "identity")

    def __init__(self, identity: tuple[Policy, ...], bucket_policy: Policy | None) -> None:
        self.identity = identity
        self.bucket_policy = bucket_policy
        self._narrowed: dict[tuple[str, str], Narrowed] = {}

    def narrowed(self, action: str, resource: str) -> Narrowed:
        """(identity policies, bucket policy) for ``action`` on ``resource``.
        An identity policy left with no statement is left out; the bucket
        policy stays (Block Public Access reads whether it is public)."""
        key = (action, resource)
        hit = self._narrowed.get(key)
        if hit is None:
            lower = action.lower()
            identity = tuple(
                _with_statements(p, [st for st, _ in p.candidates(lower, resource)])
                for p in self.identity if p.candidates(lower, resource))
            bucket = self.bucket_policy
            if bucket is not None:
                bucket = _with_statements(bucket, [st for st, _ in bucket.candidates(lower, resource)])
            hit = (identity, bucket)
            if len(self._narrowed) >= _NARROWED_KEPT:
                self._narrowed.clear()
            self._narrowed[key] = hit
        return hit


class ResidualPolicies:
    """One identity's policies and a bucket policy, residual per set of
    steady values (see the module docstring)."""

    def __init__(self, identity: tuple[Policy, ...], bucket_policy: Policy | None) -> None:
        self.identity = identity
        self.bucket_policy = bucket_policy
        every = identity + ((bucket_policy,) if bucket_policy is not None else ())
        keys: set[str] = set()
        for policy in every:
            keys.update(policy.condition_keys)
        self._keys = tuple(sorted(keys - CHANGING_KEYS))
        # The changing keys some policy reads (none: the clock is not read).
        self.changing = frozenset(keys & CHANGING_KEYS)
        self._memo: dict[tuple[Sequence[str] | None, ...], Residual] = {}
        # Whether the server must read the object's tags for the context.
        self.reads_existing_tags = any(p.reads_existing_tags for p in every)

    def for_context(self, context: Mapping[str, Sequence[str]]) -> Residual:
        """The residual (identity policies, bucket policy) for this request."""
        key = tuple([context.get(k) for k in self._keys])
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) >= _RESIDUALS_KEPT:
                self._memo.clear()
            hit = Residual(tuple(residual_policy(p, context) for p in self.identity),
                           None if self.bucket_policy is None
                           else residual_policy(self.bucket_policy, context))
            self._memo[key] = hit
        return hit
