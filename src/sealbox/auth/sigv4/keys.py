"""The SigV4 signing key and the signature made with it.

``kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
"aws4_request")`` — four HMACs that only change once a day per key, so they
are cached. The cache holds immutable values only (see ARCHITECTURE,
"Scale-out"), is bounded, and is keyed by a digest of the secret so a
rotated-away secret is not kept in memory verbatim.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sealbox.auth.principal import Credential

TERMINATOR = "aws4_request"
_CACHE_SIZE = 4096
_HELD_PER_CREDENTIAL = 8  # days × regions × services one secret signs for at once


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _derive(secret: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, TERMINATOR)


# FIFO-bounded; plain dict operations are atomic under the GIL, so threads
# of the pool share it without a lock (a race costs one extra derivation).
_cache: dict[tuple[bytes, str, str, str], bytes] = {}


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The derived key for ``date`` (``YYYYMMDD``), ``region`` and ``service``.

    The oldest entries beyond ``_CACHE_SIZE`` are dropped.
    """
    cache_key = (hashlib.sha256(secret.encode("utf-8")).digest(), date, region, service)
    found = _cache.get(cache_key)
    if found is not None:
        return found
    derived = _derive(secret, date, region, service)
    while len(_cache) >= _CACHE_SIZE:
        try:
            _cache.pop(next(iter(_cache)), None)
        except (RuntimeError, StopIteration):  # another thread changed it meanwhile
            break
    _cache[cache_key] = derived
    return derived


def credential_signing_key(credential: Credential, date: str, region: str,
                           service: str = "s3") -> bytes:
    """``signing_key`` of ``credential``'s secret, held on the credential
    itself: the verifier's path for every new signature. Found by the
    credential, not by a digest of the secret (a SHA-256 per request), and
    no secret is kept beyond the credential that holds it anyway."""
    held = credential.signing_keys
    scope = (date, region, service)
    found = held.get(scope)
    if found is None:
        found = signing_key(credential.secret_key, date, region, service)
        if len(held) >= _HELD_PER_CREDENTIAL:
            held.clear()  # another thread may hold it too: a race costs a derivation
        held[scope] = found
    return found


def clear_cache() -> None:
    """Forget every derived key (tests; a secret change needs no call, the key differs)."""
    _cache.clear()
    _PADS.clear()


def sign(key: bytes, string_to_sign: str) -> str:
    """The hex signature of ``string_to_sign`` under a derived key."""
    data = string_to_sign.encode("utf-8", "surrogateescape")
    # HMAC from the key's padded SHA-256 states, copied: no key schedule per
    # call, and, unlike hmac.digest (which always lets go of the GIL), no
    # GIL hand-off for a short message, which under load costs the event
    # loop a wait behind every busy thread of the pool.
    inner, outer = _pads(key)
    inner = inner.copy()
    inner.update(data)
    outer = outer.copy()
    outer.update(inner.digest())
    return outer.hexdigest()


_PADS: dict[bytes, tuple[Any, Any]] = {}


def _pads(key: bytes) -> tuple[Any, Any]:
    """SHA-256 states after ``key XOR ipad`` and ``key XOR opad`` (RFC 2104)."""
    found = _PADS.get(key)
    if found is None:
        block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
        found = (hashlib.sha256(bytes(b ^ 0x36 for b in block)),
                 hashlib.sha256(bytes(b ^ 0x5C for b in block)))
        if len(_PADS) >= _CACHE_SIZE:
            _PADS.clear()
        _PADS[key] = found
    return found


def signatures_match(expected: str, provided: str) -> bool:
    """Constant-time comparison of two signatures given as text."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogateescape"), provided.encode("utf-8", "surrogateescape")
    )
