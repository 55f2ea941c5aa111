"""A presigned link verified once is not HMAC'd again, yet stays judged:
expiry, the key's state and every byte of the link are checked each time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from sealbox.auth.principal import Credential
from sealbox.auth.sigv4 import verify
from sealbox.errors import S3Error

from .test_sigv4_verify import AK, CRED, PRESIGNED, REGION, SIGNED_AT, lookup


@pytest.fixture(autouse=True)
def _fresh() -> None:
    verify._VERIFIED.clear()


def test_a_second_fetch_of_a_link_is_answered_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    first = verify.verify_presigned(PRESIGNED, lookup, SIGNED_AT, REGION)
    monkeypatch.setattr(verify.keys, "sign", lambda *_: pytest.fail("signed again"))
    assert verify.verify_presigned(PRESIGNED, lookup, SIGNED_AT, REGION) is first


def test_a_remembered_link_still_expires() -> None:
    verify.verify_presigned(PRESIGNED, lookup, SIGNED_AT, REGION)
    with pytest.raises(S3Error) as refused:
        verify.verify_presigned(PRESIGNED, lookup, SIGNED_AT + timedelta(days=8), REGION)
    assert refused.value.code == "AccessDenied"


def test_a_remembered_link_stops_when_its_key_is_disabled_or_replaced() -> None:
    verify.verify_presigned(PRESIGNED, lookup, SIGNED_AT, REGION)
    disabled = replace(CRED, active=False)
    with pytest.raises(S3Error) as refused:
        verify.verify_presigned(PRESIGNED, lambda _: disabled, SIGNED_AT, REGION)
    assert refused.value.code == "InvalidAccessKeyId"
    rotated = Credential(AK, "another secret", CRED.principal)
    with pytest.raises(S3Error) as refused:
        verify.verify_presigned(PRESIGNED, lambda _: rotated, SIGNED_AT, REGION)
    assert refused.value.code == "SignatureDoesNotMatch"


def test_a_link_altered_after_a_good_one_is_checked_in_full() -> None:
    verify.verify_presigned(PRESIGNED, lookup, SIGNED_AT, REGION)
    query = PRESIGNED.raw_query
    signature = query.split("X-Amz-Signature=")[1][:64]
    forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for facts in (replace(PRESIGNED, raw_query=query.replace(signature, forged)),
                  replace(PRESIGNED, raw_path=PRESIGNED.raw_path + "x"),
                  replace(PRESIGNED, method="PUT"),
                  replace(PRESIGNED, headers={**PRESIGNED.headers, "host": "other.example"})):
        with pytest.raises(S3Error) as refused:
            verify.verify_presigned(facts, lookup, SIGNED_AT, REGION)
        assert refused.value.code == "SignatureDoesNotMatch"
