"""The files of a new CloudFront signing key pair, for ``sealbox edge
key-pair create``.

One RSA 2048 key, written three ways, because the signers disagree on the
private key's PEM form:

- ``private_key.pem``: PKCS#1 ("traditional", ``BEGIN RSA PRIVATE KEY``).
  ``aws cloudfront sign`` reads only this form; given PKCS#8 (what
  ``openssl genrsa`` writes since OpenSSL 3) it stops with "No PEM start
  marker". ``sealbox cf-sign`` and botocore's ``CloudFrontSigner`` read it too.
- ``private_key_pkcs8.pem``: PKCS#8 (``BEGIN PRIVATE KEY``), what Node's
  ``@aws-sdk/cloudfront-signer`` examples and most libraries expect.
- ``public_key.pem``: the SubjectPublicKeyInfo CloudFront's ``EncodedKey``
  takes, registered by the command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PRIVATE_PKCS1 = "private_key.pem"
PRIVATE_PKCS8 = "private_key_pkcs8.pem"
PUBLIC = "public_key.pem"
KEY_BITS = 2048  # CloudFront takes RSA 2048 (and ECDSA P-256, which aws cloudfront sign cannot use)


@dataclass(frozen=True)
class KeyPairFiles:
    """Where the key pair was written, and the public key's PEM text."""

    private_pkcs1: Path
    private_pkcs8: Path
    public: Path
    public_pem: str


def write_key_pair(out_dir: Path, *, overwrite: bool = False) -> KeyPairFiles:
    """Make an RSA key and write its three files into ``out_dir`` (created
    0700; private keys 0600). Existing files are kept unless ``overwrite``:
    FileExistsError names the first one found."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    paths = [out_dir / name for name in (PRIVATE_PKCS1, PRIVATE_PKCS8, PUBLIC)]
    if not overwrite:
        for path in paths:
            if path.exists():
                raise FileExistsError(f"{path} exists (keep it, or replace the key pair with "
                                      "--force)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    none = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    pkcs1 = key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, none)
    pkcs8 = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, none)
    public = key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path, data, mode in zip(paths, (pkcs1, pkcs8, public), (0o600, 0o600, 0o644),
                                strict=True):
        _write(path, data, mode)
    pkcs1_path, pkcs8_path, public_path = (path.resolve() for path in paths)
    return KeyPairFiles(pkcs1_path, pkcs8_path, public_path, public_pem=public.decode("ascii"))


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` with ``mode`` from the first byte (a private key is never
    readable by others, even for a moment), then rename it into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
