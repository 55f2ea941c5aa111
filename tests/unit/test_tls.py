"""Self-signed pairs for local use, and the up-front check of --tls-cert/--tls-key."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sealbox.server.tls import TlsSetupError, check_pair, make_self_signed


def handshake(cert: Path, key: Path, server_hostname: str) -> None:
    """A TLS handshake in memory, the client trusting only ``cert`` and checking
    the name as strictly as OpenSSL can (Python 3.13's default)."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    client_context.verify_flags |= ssl.VERIFY_X509_STRICT
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_context.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_context.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_self_signed_pair_verifies_for_loopback_names(tmp_path: Path, key_type: str) -> None:
    pair = make_self_signed(tmp_path / "tls", key_type=key_type)
    for name in ("localhost", "127.0.0.1", "::1"):
        handshake(pair.cert_path, pair.key_path, name)
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(pair.cert_path, pair.key_path, "example.com")


def test_extra_names_are_covered(tmp_path: Path) -> None:
    pair = make_self_signed(tmp_path, ["s3.example.test", "*.s3.example.test", "10.1.2.3"])
    assert pair.names == ("localhost", "127.0.0.1", "::1", "s3.example.test",
                          "*.s3.example.test", "10.1.2.3")
    for name in ("s3.example.test", "bucket.s3.example.test", "10.1.2.3"):
        handshake(pair.cert_path, pair.key_path, name)
    cert = x509.load_pem_x509_certificate(pair.cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("::1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)


def test_certificate_is_a_leaf_not_a_ca(tmp_path: Path) -> None:
    """Trusting a local certificate must not let it sign certificates for others."""
    pair = make_self_signed(tmp_path)
    cert = x509.load_pem_x509_certificate(pair.cert_path.read_bytes())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_validity_starts_before_now_and_lasts_the_days_asked(tmp_path: Path) -> None:
    now = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    pair = make_self_signed(tmp_path, days=30, now=now)
    cert = x509.load_pem_x509_certificate(pair.cert_path.read_bytes())
    assert cert.not_valid_before_utc < now
    assert cert.not_valid_after_utc == pair.not_after.replace(microsecond=0)
    assert pair.not_after == now + datetime.timedelta(days=30)


def test_files_are_private(tmp_path: Path) -> None:
    pair = make_self_signed(tmp_path / "new")
    assert stat.S_IMODE(pair.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pair.cert_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["cert.pem", "key.pem"]


def test_existing_pair_is_kept_unless_forced(tmp_path: Path) -> None:
    first = make_self_signed(tmp_path)
    key = first.key_path.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        make_self_signed(tmp_path)
    assert first.key_path.read_bytes() == key
    second = make_self_signed(tmp_path, overwrite=True)
    assert second.key_path.read_bytes() != key
    check_pair(second.cert_path, second.key_path)


@pytest.mark.parametrize("name", ["bad name", "café.example", "-x.example", "a..b", "*"])
def test_names_that_are_neither_address_nor_dns_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="--name"):
        make_self_signed(tmp_path, [name])
    assert not (tmp_path / "key.pem").exists()


def test_check_pair_accepts_neither_or_a_matching_pair(tmp_path: Path) -> None:
    check_pair(None, None)
    pair = make_self_signed(tmp_path)
    check_pair(pair.cert_path, pair.key_path)


def test_check_pair_refusals(tmp_path: Path) -> None:
    a = make_self_signed(tmp_path / "a")
    b = make_self_signed(tmp_path / "b", key_type="rsa")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(serialization.load_pem_private_key(a.key_path.read_bytes(), None)
                          .private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(b"pw")))
    cases = [
        ((a.cert_path, None), "--tls-cert needs --tls-key"),
        ((None, a.key_path), "--tls-key needs --tls-cert"),
        ((a.cert_path, tmp_path / "missing.pem"), "no such file"),
        ((tmp_path / "missing.pem", a.key_path), "--tls-cert .*no such file"),
        ((a.cert_path, tmp_path), "is a directory"),
        ((a.cert_path, b.key_path), "is not the key of"),
        ((a.cert_path, a.cert_path), "--tls-key .*not a PEM private key"),
        ((junk, a.key_path), "--tls-cert .*not a PEM certificate"),
        ((a.cert_path, junk), "--tls-key .*not a PEM private key"),
        ((a.cert_path, encrypted), "--tls-key .*is encrypted"),
    ]
    for (cert, key), message in cases:
        with pytest.raises(TlsSetupError, match=message):
            check_pair(cert, key)
