"""Links made by the signers people use, run as they run, judged by
sealbox's CloudFront verifier: ``aws cloudfront sign`` (the AWS CLI), and
from npm ``@aws-sdk/cloudfront-signer`` (the AWS SDK for JavaScript v3) and
``aws-cloudfront-sign`` (which sends Expires and Policy together and
percent-encodes ``~``). Each link is accepted before expiry and refused
after, from an address outside its policy, before its DateGreaterThan, and
under a key that is not trusted.

Needs the AWS CLI, Node.js and ``npm ci --prefix tests/js``. Without them
the tests are skipped, saying why, except in CI (``CI=true``), where that
is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sealbox.auth.cloudfront import CloudFrontRefusal, PublicKey, verify_request

JS_DIR = Path(__file__).resolve().parents[1] / "js"
RSA_KEY = rsa.generate_private_key(65537, 2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
TRUSTED: dict[str, PublicKey] = {"KRSA": RSA_KEY.public_key(), "KEC": EC_KEY.public_key()}
UNTRUSTED: dict[str, PublicKey] = {"KRSA": EC_KEY.public_key(), "KEC": RSA_KEY.public_key()}  # same ids, other keys
EXPIRES = 1893456000  # 2030-01-01, in the future for the npm package, which checks
STARTS = 1767225600  # 2026-01-01
NOW = STARTS + 3600
URL = "https://d111111abcdef8.cloudfront.net/media/clip.mp4?quality=hd"


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the CloudFront signer tests", pytrace=False)
    pytest.skip(why)


def _pem(key: Any, form: Any = serialization.PrivateFormat.PKCS8) -> str:
    return key.private_bytes(serialization.Encoding.PEM, form,
                             serialization.NoEncryption()).decode()


def judge(url: str, cookies: dict[str, str] | None = None, *, now: float = NOW,
          ip: str = "10.1.2.3", trusted: Any = None) -> Any:
    return verify_request(url, cookies or {}, source_ip=ip, now=now,
                          trusted_keys=TRUSTED if trusted is None else trusted)


def refused(url: str, cookies: dict[str, str] | None = None, **kwargs: Any) -> str:
    with pytest.raises(CloudFrontRefusal) as caught:
        judge(url, cookies, **kwargs)
    return caught.value.code


def assert_judged_like_cloudfront(url: str, cookies: dict[str, str] | None = None, *,
                                  key_id: str, start: bool, address: bool) -> None:
    grant = judge(url, cookies)
    assert (grant.key_pair_id, grant.expires) == (key_id, EXPIRES)
    assert refused(url, cookies, now=EXPIRES) == "AccessDenied"
    assert refused(url, cookies, now=EXPIRES + 86400) == "AccessDenied"
    assert refused(url, cookies, trusted={}) == "InvalidKey"
    assert refused(url, cookies, trusted=UNTRUSTED) == "AccessDenied"
    if address:
        assert refused(url, cookies, ip="192.0.2.10") == "AccessDenied"
    if start:
        assert refused(url, cookies, now=STARTS - 1) == "AccessDenied"


# --- the AWS CLI --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def aws_cli(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    found = shutil.which("aws")
    if found is None:
        _unavailable("the AWS CLI (aws) is not installed (pip install awscli)")
    key = tmp_path_factory.mktemp("cf") / "cf-key.pem"
    # aws cloudfront sign (CLI v1) reads PKCS#1 RSA keys only.
    key.write_text(_pem(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL))
    return str(found), key


def run_aws(aws_cli: tuple[str, Path], *options: str) -> str:
    aws, key = aws_cli
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    result = subprocess.run([aws, "cloudfront", "sign", "--url", URL, "--key-pair-id", "KRSA",
                             "--private-key", f"file://{key}", *options],
                            capture_output=True, text=True, timeout=120, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_aws_cli_canned_url(aws_cli: tuple[str, Path]) -> None:
    url = run_aws(aws_cli, "--date-less-than", str(EXPIRES))
    assert "Expires=1893456000&" in url
    assert_judged_like_cloudfront(url, key_id="KRSA", start=False, address=False)


def test_aws_cli_custom_url_with_start_and_address(aws_cli: tuple[str, Path]) -> None:
    url = run_aws(aws_cli, "--date-less-than", "2030-01-01", "--date-greater-than",
                  "2026-01-01T00:00:00+00:00", "--ip-address", "10.0.0.0/8")
    assert "Policy=" in url
    assert_judged_like_cloudfront(url, key_id="KRSA", start=True, address=True)


# --- npm ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        _unavailable("Node.js (node) is not installed")
    for package in ("@aws-sdk/cloudfront-signer", "aws-cloudfront-sign"):
        if not (JS_DIR / "node_modules" / package).is_dir():
            _unavailable(f"{package} is not installed: run `npm ci --prefix tests/js`")
    return str(found)


# One signing call per run; the request comes in as JSON on stdin, the
# result goes out as JSON. CommonJS, so require() finds tests/js/node_modules.
JS_SIGN = """
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
let out;
if (input.package === "aws-cloudfront-sign") {
  const cf = require("aws-cloudfront-sign");
  const options = {keypairId: input.keyPairId, privateKeyString: input.privateKey,
                   expireTime: input.expires * 1000, ipRange: input.ipAddress};
  out = input.cookies ? cf.getSignedCookies(input.url, options) : cf.getSignedUrl(input.url, options);
} else {
  const cf = require("@aws-sdk/cloudfront-signer");
  const options = {url: input.url, keyPairId: input.keyPairId, privateKey: input.privateKey,
                   dateLessThan: new Date(input.expires * 1000).toISOString(),
                   algorithm: input.algorithm};
  if (input.starts) options.dateGreaterThan = new Date(input.starts * 1000).toISOString();
  if (input.ipAddress) options.ipAddress = input.ipAddress;
  out = input.cookies ? cf.getSignedCookies(options) : cf.getSignedUrl(options);
}
process.stdout.write(JSON.stringify(out));
"""


def run_node(node: str, **request: Any) -> Any:
    env = dict(os.environ, NODE_NO_WARNINGS="1")
    result = subprocess.run([node, "-e", JS_SIGN], input=json.dumps(request), cwd=JS_DIR,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


KEY_CHOICES = [("KRSA", RSA_KEY), ("KEC", EC_KEY)]


@pytest.mark.parametrize(("key_id", "key"), KEY_CHOICES, ids=["rsa", "ecdsa"])
@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
@pytest.mark.parametrize(("starts", "address"), [(None, None), (STARTS, "10.0.0.0/8")],
                         ids=["canned", "custom"])
@pytest.mark.parametrize("as_cookies", [False, True], ids=["url", "cookies"])
def test_aws_sdk_js_cloudfront_signer(node: str, key_id: str, key: Any, algorithm: str,
                                      starts: int | None, address: str | None,
                                      as_cookies: bool) -> None:
    out = run_node(node, package="@aws-sdk/cloudfront-signer", url=URL, keyPairId=key_id,
                   privateKey=_pem(key), expires=EXPIRES, starts=starts, ipAddress=address,
                   algorithm=algorithm, cookies=as_cookies)
    if as_cookies:
        url, cookies = URL, {name: str(value) for name, value in out.items()}
        assert cookies.get("CloudFront-Hash-Algorithm", "SHA1") == algorithm
    else:
        url, cookies = out, None
    assert judge(url, cookies).hash_algorithm == algorithm
    assert_judged_like_cloudfront(url, cookies, key_id=key_id, start=starts is not None,
                                  address=address is not None)


@pytest.mark.parametrize("address", [None, "10.0.0.0/8"])
@pytest.mark.parametrize("as_cookies", [False, True], ids=["url", "cookies"])
def test_aws_cloudfront_sign_npm(node: str, address: str | None, as_cookies: bool) -> None:
    out = run_node(node, package="aws-cloudfront-sign", url=URL, keyPairId="KRSA",
                   privateKey=_pem(RSA_KEY), expires=EXPIRES, ipAddress=address,
                   cookies=as_cookies)
    if as_cookies:
        url, cookies = URL, out
    else:
        url, cookies = out, None
        # What makes this package's links unusual, and CloudFront takes them anyway.
        assert "Expires=" in url and "Policy=" in url
    assert_judged_like_cloudfront(url, cookies, key_id="KRSA", start=False,
                                  address=address is not None)


def test_aws_cloudfront_sign_npm_percent_encodes_tilde(node: str) -> None:
    # Sign until a signature has a "~" (three in four 2048-bit signatures do):
    # the package's URL then carries it as %7E, which must still verify.
    for attempt in range(20):
        url = run_node(node, package="aws-cloudfront-sign",
                       url=f"https://d111111abcdef8.cloudfront.net/t{attempt}.txt",
                       keyPairId="KRSA", privateKey=_pem(RSA_KEY), expires=EXPIRES)
        if "%7E" in url:
            assert judge(url).key_pair_id == "KRSA"
            return
    pytest.fail("no signature with a '~' in 20 tries")
