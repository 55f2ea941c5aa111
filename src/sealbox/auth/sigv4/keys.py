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
import threading
from collections import OrderedDict

TERMINATOR = "aws4_request"
_CACHE_SIZE = 4096


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _derive(secret: str, date: str, region: str, service: str) -> bytes:
    k_date = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, TERMINATOR)


_cache: OrderedDict[tuple[bytes, str, str, str], bytes] = OrderedDict()
_lock = threading.Lock()


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    """The derived key for ``date`` (``YYYYMMDD``), ``region`` and ``service``.

    Least-recently-used entries beyond ``_CACHE_SIZE`` are dropped.
    """
    cache_key = (hashlib.sha256(secret.encode("utf-8")).digest(), date, region, service)
    with _lock:
        found = _cache.get(cache_key)
        if found is not None:
            _cache.move_to_end(cache_key)
            return found
    derived = _derive(secret, date, region, service)
    with _lock:
        _cache[cache_key] = derived
        _cache.move_to_end(cache_key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return derived


def clear_cache() -> None:
    """Forget every derived key (tests; a secret change needs no call, the key differs)."""
    with _lock:
        _cache.clear()


def sign(key: bytes, string_to_sign: str) -> str:
    """The hex signature of ``string_to_sign`` under a derived key."""
    data = string_to_sign.encode("utf-8", "surrogateescape")
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def signatures_match(expected: str, provided: str) -> bool:
    """Constant-time comparison of two signatures given as text."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogateescape"), provided.encode("utf-8", "surrogateescape")
    )
