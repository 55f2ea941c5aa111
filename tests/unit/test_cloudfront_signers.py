"""Links made by botocore's ``CloudFrontSigner`` (the reference signer of
boto3), judged by sealbox's verifier: accepted before expiry, refused
after, outside the address range, before DateGreaterThan, and with a key
that is not trusted. The AWS CLI and the npm signers, which run as
processes, are in tests/integration/test_cloudfront_signers.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sealbox.auth.cloudfront import CloudFrontRefusal, verify_request
from sealbox.auth.cloudfront_sign import sign_url

KEY = rsa.generate_private_key(65537, 2048)
OTHER = ec.generate_private_key(ec.SECP256R1())
TRUSTED = {"KBOTO": KEY.public_key()}
EXPIRES = 1767290400
STARTS = 1767200000
URL = "https://d111111abcdef8.cloudfront.net/reports/q1.pdf?versionId=3"


def rsa_signer(message: bytes) -> bytes:
    return KEY.sign(message, padding.PKCS1v15(), hashes.SHA1())


SIGNER = CloudFrontSigner("KBOTO", rsa_signer)


def when(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def judge(url: str, *, now: float, ip: str = "10.1.2.3", trusted: Any = None) -> Any:
    return verify_request(url, {}, source_ip=ip, now=now,
                          trusted_keys=TRUSTED if trusted is None else trusted)


def refused(url: str, **kwargs: Any) -> str:
    with pytest.raises(CloudFrontRefusal) as caught:
        judge(url, **kwargs)
    return caught.value.code


def test_botocore_canned_url_is_accepted_until_expiry() -> None:
    url = SIGNER.generate_presigned_url(URL, date_less_than=when(EXPIRES))
    grant = judge(url, now=EXPIRES - 1)
    assert (grant.key_pair_id, grant.expires, grant.policy) == ("KBOTO", EXPIRES, "canned")
    assert refused(url, now=EXPIRES) == "AccessDenied"
    assert refused(url, now=EXPIRES - 1, trusted={"KOTHER": OTHER.public_key()}) == "InvalidKey"
    assert refused(url, now=EXPIRES - 1, trusted={"KBOTO": OTHER.public_key()}) == "AccessDenied"


def test_botocore_and_sealbox_make_the_same_canned_url() -> None:
    assert SIGNER.generate_presigned_url(URL, date_less_than=when(EXPIRES)) == \
        sign_url(URL, "KBOTO", KEY, date_less_than=EXPIRES)


def test_botocore_custom_policy_with_address_and_start() -> None:
    policy = SIGNER.build_policy("https://d111111abcdef8.cloudfront.net/reports/*",
                                 when(EXPIRES), date_greater_than=when(STARTS),
                                 ip_address="10.0.0.0/8")
    url = SIGNER.generate_presigned_url(URL, policy=policy)
    grant = judge(url, now=STARTS + 10)
    assert (grant.policy, grant.expires) == ("custom", EXPIRES)
    assert refused(url, now=EXPIRES) == "AccessDenied"
    assert refused(url, now=STARTS - 1) == "AccessDenied"
    assert refused(url, now=STARTS + 10, ip="192.0.2.1") == "AccessDenied"
    assert refused(url, now=STARTS + 10, trusted={}) == "InvalidKey"
    other_file = url.replace("/reports/", "/payroll/")
    assert refused(other_file, now=STARTS + 10) == "AccessDenied"


def test_botocore_single_address_becomes_slash_32() -> None:
    policy = SIGNER.build_policy(URL, when(EXPIRES), ip_address="10.1.2.3")
    url = SIGNER.generate_presigned_url(URL, policy=policy)
    assert judge(url, now=STARTS, ip="10.1.2.3")
    assert refused(url, now=STARTS, ip="10.1.2.4") == "AccessDenied"
