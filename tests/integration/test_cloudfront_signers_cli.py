"""``sealbox cf-sign``, run as the installed ``sealbox`` command, makes links
and cookies the CloudFront verifier accepts, prints JSON with ``--json``,
and says what is wrong in one line with a non-zero exit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sealbox.auth.cloudfront import CloudFrontRefusal, PublicKey, verify_request

RSA_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
TRUSTED: dict[str, PublicKey] = {"KRSA": RSA_KEY.public_key(), "KEC": EC_KEY.public_key()}
URL = "https://cdn.example/docs/guide.pdf"
EXPIRES = 1893456000  # 2030-01-01T00:00:00Z
NOW = 1767225600  # 2026-01-01T00:00:00Z


def sealbox_command() -> list[str]:
    # The console script pip installs; `python -m sealbox` runs the same main().
    found = shutil.which("sealbox")
    return [found] if found else [sys.executable, "-m", "sealbox"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cf-sign")
    paths = {}
    for name, key in (("KRSA", RSA_KEY), ("KEC", EC_KEY)):
        path = folder / f"{name}.pem"
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        paths[name] = path
    small = folder / "rsa1024.pem"
    small.write_bytes(rsa.generate_private_key(65537, 1024).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    paths["small"] = small
    return paths


def cf_sign(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*sealbox_command(), "cf-sign", *options], capture_output=True,
                          text=True, timeout=60, check=False)


def judge(url: str, cookies: dict[str, str] | None = None, *, now: float = NOW,
          ip: str = "10.1.2.3") -> Any:
    return verify_request(url, cookies or {}, source_ip=ip, now=now, trusted_keys=TRUSTED)


@pytest.mark.parametrize("key_id", ["KRSA", "KEC"])
@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
def test_cf_sign_url_verifies(keys: dict[str, Path], key_id: str, algorithm: str) -> None:
    result = cf_sign("--url", URL, "--key-pair-id", key_id, "--private-key", str(keys[key_id]),
                     "--date-less-than", "2030-01-01", "--hash-algorithm", algorithm)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith(URL + "?Expires=1893456000&Signature=")
    grant = judge(url)
    assert (grant.key_pair_id, grant.expires, grant.policy, grant.hash_algorithm) == \
        (key_id, EXPIRES, "canned", algorithm)
    with pytest.raises(CloudFrontRefusal):
        judge(url, now=EXPIRES)


def test_cf_sign_custom_policy_is_chosen_for_conditions(keys: dict[str, Path]) -> None:
    result = cf_sign("--url", URL, "--key-pair-id", "KRSA", "--private-key",
                     f"file://{keys['KRSA']}", "--date-less-than", str(EXPIRES),
                     "--date-greater-than", "2026-01-01T00:00:00", "--ip-address", "10.0.0.0/8",
                     "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["policy"] == "custom" and printed["expires"] == EXPIRES
    assert judge(printed["url"]).policy == "custom"
    for kwargs in ({"ip": "192.0.2.1"}, {"now": NOW - 1}, {"now": EXPIRES}):
        with pytest.raises(CloudFrontRefusal):
            judge(printed["url"], **kwargs)  # type: ignore[arg-type]


def test_cf_sign_cookies_for_a_whole_site(keys: dict[str, Path]) -> None:
    result = cf_sign("--url", URL, "--resource", "https://cdn.example/*", "--key-pair-id", "KEC",
                     "--private-key", str(keys["KEC"]), "--date-less-than",
                     "2029-12-31T23:00:00-01:00", "--cookies")
    assert result.returncode == 0, result.stderr
    cookies = dict(line.split("=", 1) for line in result.stdout.split())
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    assert judge("https://cdn.example/other/file.zip", cookies).expires == EXPIRES
    with pytest.raises(CloudFrontRefusal):
        judge("https://elsewhere.example/file.zip", cookies)


@pytest.mark.parametrize(("options", "says"), [
    (["--private-key", "/nonexistent/key.pem"], "No such file"),
    (["--private-key", "{small}"], "1024 bits"),
    (["--date-less-than", "next week"], "--date-less-than"),
    (["--ip-address", "::1"], "IPv4"),
    (["--policy", "canned", "--ip-address", "10.0.0.1"], "canned"),
    (["--url", "cdn.example/x"], "absolute"),
    (["--date-greater-than", "2031-01-01"], "before the expiration"),
])
def test_cf_sign_errors_are_one_line_and_non_zero(keys: dict[str, Path], options: list[str],
                                                  says: str) -> None:
    defaults = {"--url": URL, "--key-pair-id": "KRSA", "--private-key": str(keys["KRSA"]),
                "--date-less-than": "2030-01-01"}
    given = dict(zip(options[::2], options[1::2], strict=True))
    merged = {**defaults, **given}
    argv = [part.format(small=keys["small"]) for pair in merged.items() for part in pair]
    result = cf_sign(*argv)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sealbox: error: ") and says in lines[0]
