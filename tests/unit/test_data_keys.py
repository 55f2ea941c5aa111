"""Objects' data keys (store/data_keys.py): wrapped by the keyring (any
key of it unwraps, the first wraps; rotation re-wraps) or by an SSE-C key
that is never kept (the right key opens, another is told apart)."""

from __future__ import annotations

import base64
import os

import pytest

from sealbox.store.data_keys import (
    DataKeyError,
    WrongCustomerKey,
    customer_key_fits,
    keyring_key_id,
    new_data_key,
    rewrapped,
    unwrap,
    wrap_with_customer,
    wrap_with_keyring,
)
from sealbox.store.meta import SSE_C, SSE_S3
from sealbox.store.secrets import SecretCipher


def test_the_keyring_wraps_with_its_first_key_and_any_of_its_keys_unwraps() -> None:
    old, new = os.urandom(32), os.urandom(32)
    data_key = new_data_key()
    sealing = wrap_with_keyring(SecretCipher([old]), data_key)
    assert sealing.kind == SSE_S3 and data_key not in base64.b64decode(sealing.wrapped)
    rotated = SecretCipher([new, old])
    assert unwrap(sealing, rotated) == data_key
    assert keyring_key_id(sealing, rotated) != rotated.newest_key_id
    fresh = rewrapped(sealing, rotated)
    assert fresh is not None and keyring_key_id(fresh, rotated) == rotated.newest_key_id
    assert unwrap(fresh, SecretCipher([new])) == data_key
    assert rewrapped(fresh, rotated) is None  # already under the first key
    with pytest.raises(DataKeyError):
        unwrap(sealing, SecretCipher([new]))  # OLD dropped before rotate-secrets


def test_a_customer_key_wraps_and_is_never_kept() -> None:
    customer, data_key = os.urandom(32), new_data_key()
    sealing = wrap_with_customer(customer, data_key)
    assert sealing.kind == SSE_C
    stored = (sealing.wrapped + sealing.check).encode()
    assert base64.b64encode(customer) not in stored and customer not in base64.b64decode(
        sealing.wrapped)
    cipher = SecretCipher([os.urandom(32)])
    assert unwrap(sealing, cipher, customer) == data_key
    assert customer_key_fits(sealing, customer) and not customer_key_fits(sealing, os.urandom(32))
    with pytest.raises(WrongCustomerKey):
        unwrap(sealing, cipher, os.urandom(32))
    with pytest.raises(DataKeyError):
        unwrap(sealing, cipher)
    assert rewrapped(sealing, cipher) is None  # only the customer could re-wrap it


def test_the_same_customer_key_gives_different_checks() -> None:
    customer = os.urandom(32)
    one, two = wrap_with_customer(customer, new_data_key()), wrap_with_customer(customer,
                                                                               new_data_key())
    assert one.check != two.check  # salted: equal keys are not visible as equal


def test_a_kms_key_wraps_bound_to_its_arn_and_the_context() -> None:
    import dataclasses

    from sealbox.store.data_keys import unwrap_with_kms, wrap_with_kms
    from sealbox.store.rows import sealing_json

    material, data_key = os.urandom(32), new_data_key()
    arn = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-4333-8444-555555555555"
    sealing = wrap_with_kms(material, arn, '{"team":"a"}', True, data_key)
    assert unwrap_with_kms(sealing, material) == data_key
    assert data_key.hex() not in repr(sealing) and data_key.hex() not in sealing_json(sealing)
    for altered in (dataclasses.replace(sealing, context='{"team":"b"}'),
                    dataclasses.replace(sealing, kms_key=arn[:-1] + "6")):
        with pytest.raises(DataKeyError):
            unwrap_with_kms(altered, material)
    with pytest.raises(DataKeyError):
        unwrap_with_kms(sealing, os.urandom(32))
    assert rewrapped(sealing, SecretCipher([os.urandom(32)])) is None  # the keyring never does
