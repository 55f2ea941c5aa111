"""TLS for ``sealbox serve``: checking the operator's certificate and key
before the server starts, and making a self-signed pair for local use.

A self-signed pair is for a laptop or a test: clients must be told to trust
the certificate itself (``curl --cacert cert.pem``, boto3
``verify="cert.pem"``, ``AWS_CA_BUNDLE``). Anything public wants a
certificate from a real CA, or a proxy that terminates TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_DAYS = 365
# A DNS name as certificates carry it: ASCII labels, an optional leading "*.".
_DNS_NAME = re.compile(r"(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class TlsSetupError(Exception):
    """The certificate or key cannot be used; the message says which and why."""


@dataclass(frozen=True)
class SelfSignedPair:
    """Where a new pair was written, and what the certificate covers."""

    cert_path: Path
    key_path: Path
    names: tuple[str, ...]
    not_after: datetime.datetime


def check_pair(cert: Path | None, key: Path | None) -> None:
    """Raise ``TlsSetupError`` unless ``cert`` and ``key`` are both given (or
    neither), readable, PEM, and belong together.

    uvicorn would otherwise fail inside each worker with a traceback; the
    operator gets one line instead.
    """
    if cert is None and key is None:
        return
    if cert is None or key is None:
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key",
                                                                           "--tls-cert")
        raise TlsSetupError(f"{given} needs {missing} too (give both, or neither for HTTP)")
    for flag, path in (("--tls-cert", cert), ("--tls-key", key)):
        try:
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            raise TlsSetupError(f"{flag} {path}: no such file") from None
        except IsADirectoryError:
            raise TlsSetupError(f"{flag} {path}: is a directory") from None
        except OSError as error:
            raise TlsSetupError(f"{flag} {path}: cannot read ({error.strerror})") from None
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except ValueError:
        raise TlsSetupError(f"--tls-cert {cert}: not a PEM certificate") from None
    try:
        private_key = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except TypeError:  # cryptography's word for "needs a password"
        raise TlsSetupError(f"--tls-key {key}: is encrypted; sealbox needs it unencrypted "
                            "(keep it private with file permissions instead)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsSetupError(f"--tls-key {key}: not a PEM private key") from None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(*spki) != private_key.public_key().public_bytes(*spki):
        raise TlsSetupError(f"--tls-key {key} is not the key of --tls-cert {cert}")
    # What uvicorn will do in each worker, so nothing it refuses gets that far.
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except ssl.SSLError as error:
        raise TlsSetupError(f"cannot serve TLS with --tls-cert {cert} and --tls-key {key}: "
                            f"{error.reason or error}") from None


def make_self_signed(out_dir: Path, names: Iterable[str] = (), *, key_type: str = "ec",
                     days: int = DEFAULT_DAYS, overwrite: bool = False,
                     now: datetime.datetime | None = None) -> SelfSignedPair:
    """Write ``cert.pem`` and ``key.pem`` (both mode 0600) into ``out_dir``.

    The certificate is its own issuer and names ``localhost``, ``127.0.0.1``,
    ``::1`` and ``names`` (addresses as IP entries, the rest as DNS names) in
    its subjectAltName, which is all that clients check. ``key_type`` is
    ``"ec"`` (P-256, small and fast) or ``"rsa"`` (2048 bits, for clients
    without ECDSA). Existing files are kept unless ``overwrite``.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    cert_path, key_path = out_dir / CERT_FILE, out_dir / KEY_FILE
    if not overwrite:
        for path in (cert_path, key_path):
            if path.exists():
                raise FileExistsError(f"{path} exists (keep it, or replace it with --force)")
    all_names = tuple(dict.fromkeys([*DEFAULT_NAMES, *(n.strip() for n in names if n.strip())]))
    alt_names: list[x509.GeneralName] = []
    for name in all_names:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            if not _DNS_NAME.fullmatch(name):
                raise ValueError(f"--name {name!r} is neither an address nor a DNS name "
                                 "(use the IDNA form, xn--…, for non-ASCII names)") from None
            alt_names.append(x509.DNSName(name.lower()))
    if key_type == "ec":
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = ec.generate_private_key(
            ec.SECP256R1())
    elif key_type == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(f"key type {key_type!r}: use 'ec' or 'rsa'")
    now = now or datetime.datetime.now(datetime.UTC)
    # An hour back, so a client whose clock is a little behind accepts it.
    not_before = now - datetime.timedelta(hours=1)
    not_after = now + datetime.timedelta(days=days)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, all_names[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealbox (self-signed)")])
    public = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public)
    usage = x509.KeyUsage(
        digital_signature=True, key_encipherment=key_type == "rsa", content_commitment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        # A leaf, not a CA: trusting it (curl --cacert) must not let it sign others.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        # OpenSSL's strict mode (Python 3.13's default context) wants an AKI.
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    # Key first: a certificate without its key is useless, the reverse is not.
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert_pem)
    return SelfSignedPair(cert_path.resolve(), key_path.resolve(), all_names, not_after)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte (never
    readable by others, even for a moment), then rename it into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
