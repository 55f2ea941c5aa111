"""Signing keys: AWS's documented derivation, cached and bounded."""

from __future__ import annotations

from sealbox.auth.sigv4 import keys

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_signing_key_matches_the_s3_docs_example() -> None:
    key = keys.signing_key(SECRET, "20130524", "us-east-1", "s3")
    assert key.hex() == "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"


def test_signing_key_differs_by_date_region_service_and_secret() -> None:
    base = keys.signing_key(SECRET, "20130524", "us-east-1", "s3")
    assert base != keys.signing_key(SECRET, "20130525", "us-east-1", "s3")
    assert base != keys.signing_key(SECRET, "20130524", "eu-west-1", "s3")
    assert base != keys.signing_key(SECRET, "20130524", "us-east-1", "iam")
    assert base != keys.signing_key(SECRET + "x", "20130524", "us-east-1", "s3")


def test_signing_key_cache_is_bounded_and_keeps_no_secret() -> None:
    keys.clear_cache()
    for day in range(keys._CACHE_SIZE + 10):
        keys.signing_key(SECRET, f"2013{day:04d}", "us-east-1", "s3")
    assert len(keys._cache) == keys._CACHE_SIZE
    assert all(SECRET.encode() not in repr(entry).encode() for entry in keys._cache)
    assert all(SECRET not in part for entry in keys._cache for part in entry[1:])


def test_cached_key_equals_a_fresh_derivation() -> None:
    keys.clear_cache()
    first = keys.signing_key(SECRET, "20130524", "us-east-1", "s3")
    assert keys.signing_key(SECRET, "20130524", "us-east-1", "s3") == first
    keys.clear_cache()
    assert keys.signing_key(SECRET, "20130524", "us-east-1", "s3") == first


def test_signatures_are_compared_exactly() -> None:
    sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    assert keys.signatures_match(sig, sig)
    assert not keys.signatures_match(sig, sig.upper())
    assert not keys.signatures_match(sig, sig[:-1])
    assert not keys.signatures_match(sig, sig + "\udcff")


def test_a_credential_holds_its_keys_and_a_new_secret_gets_its_own() -> None:
    from sealbox.auth.principal import Credential, root_principal

    old = Credential("AKID", SECRET, root_principal("AKID"))
    key = keys.credential_signing_key(old, "20130524", "us-east-1", "s3")
    assert key == keys.signing_key(SECRET, "20130524", "us-east-1", "s3")
    assert keys.credential_signing_key(old, "20130524", "us-east-1", "s3") is key  # held
    # The same access key with its secret rotated: another credential, another key.
    rotated = Credential("AKID", SECRET + "x", root_principal("AKID"))
    assert rotated == Credential("AKID", SECRET + "x", root_principal("AKID"))  # held keys aside
    assert keys.credential_signing_key(rotated, "20130524", "us-east-1", "s3") == \
        keys.signing_key(SECRET + "x", "20130524", "us-east-1", "s3") != key
    assert "signing_keys" not in repr(old) and SECRET not in repr(old)


def test_a_credential_holds_a_bounded_number_of_keys() -> None:
    from sealbox.auth.principal import Credential, root_principal

    credential = Credential("AKID", SECRET, root_principal("AKID"))
    for day in range(40):
        keys.credential_signing_key(credential, f"201305{day:02d}", "us-east-1", "s3")
    assert 0 < len(credential.signing_keys) <= keys._HELD_PER_CREDENTIAL
