"""``sealbox.doctor`` in memory, with a fixed clock: one case per cause and
variation (the table), botocore as the reference signer where it signs, and
the package as pure as ``auth/``."""

from __future__ import annotations

import ast
import datetime as dt
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import sealbox.doctor
from sealbox.auth.principal import Credential, root_principal
from sealbox.auth.sigv4.presign import presign_url, sign_headers
from sealbox.doctor import links, model, sigv2, sigv4
from sealbox.doctor.model import Server, from_url, recorded_signature
from sealbox.links.model import REVOKED, USED_UP, WRONG_ADDRESS, LinkRecord

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
AK, SECRET = "AKIDDOCTOR0000000000", "doctor-secret"
ROOT = Credential(AK, SECRET, root_principal(AK))
INACTIVE = Credential("AKIDINACTIVE00000000", "x", root_principal("AKIDINACTIVE00000000"),
                      active=False)
ENDPOINT = "http://127.0.0.1:9000"
SERVER = Server({AK: ROOT, INACTIVE.access_key: INACTIVE}.get, NOW, "us-east-1",
                ("127.0.0.1:9000",))


def presign(path: str, *, method: str = "GET", now: dt.datetime = NOW, expires: int = 300,
            region: str = "us-east-1", headers: dict[str, str] | None = None,
            credential: Credential = ROOT, base: str = ENDPOINT) -> str:
    return presign_url(method, base + path, credential, region, expires, now, headers)


def diagnose(url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
             server: Server = SERVER) -> list[tuple[str, str | None, str | None]]:
    found = sigv4.diagnose(from_url(url, method, headers), server)
    return [(c.code, c.expected, c.got) for c in found.causes]


def only(url: str, **kwargs: object) -> str:
    causes = diagnose(url, **kwargs)  # type: ignore[arg-type]
    assert len(causes) == 1, causes
    return causes[0][0]


def test_a_good_url_is_valid_for_ours_and_botocores_signer() -> None:
    assert diagnose(presign("/b/k.txt")) == []
    request = AWSRequest("GET", ENDPOINT + "/b/caf%C3%A9%20menu.txt")
    S3SigV4QueryAuth(Credentials(AK, SECRET), "s3", "us-east-1", expires=300).add_auth(request)
    now = Server(SERVER.lookup, dt.datetime.now(dt.UTC), "us-east-1", SERVER.hosts)
    assert diagnose(request.url, server=now) == []
    assert [c[0] for c in diagnose(request.url.replace("%20", "+"), server=now)] == [
        "PathEncoding"]


@pytest.mark.parametrize(("change", "code"), [
    (lambda u: u.replace("127.0.0.1:9000", "localhost:9000"), "HostChanged"),
    (lambda u: u.replace("127.0.0.1:9000", "127.0.0.1:9001"), "HostChanged"),
    (lambda u: u + "&utm=1", "QueryChanged"),
    (lambda u: u.replace("us-east-1", "eu-west-1"), "WrongRegion"),
    (lambda u: u.replace("%2Fs3%2F", "%2Fiam%2F"), "WrongService"),
    (lambda u: u.replace("X-Amz-Expires=300", "X-Amz-Expires=604801"), "ExpiresTooLong"),
    (lambda u: u.replace(AK, "AKIDSOMEONEELSE00000"), "UnknownAccessKey"),
])
def test_a_change_on_the_way_is_named(change: object, code: str) -> None:
    assert only(change(presign("/b/k.txt"))) == code  # type: ignore[operator]


def test_time_causes_use_the_given_clock() -> None:
    assert only(presign("/b/k", now=NOW - dt.timedelta(minutes=6))) == "Expired"
    assert only(presign("/b/k", now=NOW + dt.timedelta(minutes=16))) == "NotYetValid"
    assert diagnose(presign("/b/k", now=NOW + dt.timedelta(minutes=14))) == []
    headers = sign_headers("GET", ENDPOINT + "/b/k", {}, ROOT, "us-east-1",
                           NOW - dt.timedelta(minutes=20))
    assert only(ENDPOINT + "/b/k", headers=headers) == "ClockSkew"
    assert diagnose(ENDPOINT + "/b/k", headers=sign_headers(
        "GET", ENDPOINT + "/b/k", {}, ROOT, "us-east-1", NOW)) == []


def test_an_inactive_key_and_another_secret() -> None:
    assert only(presign("/b/k", credential=INACTIVE)) == "AccessKeyInactive"
    other = Credential(AK, "another-secret", root_principal(AK))
    assert only(presign("/b/k", credential=other)) == "WrongSecret"


@pytest.mark.parametrize(("key", "sent"), [
    ("a b.txt", "a+b.txt"),                        # a space sent as '+'
    ("a+b.txt", "a%20b.txt"),                      # a plus sent as a space
    ("a b.txt", "a%2520b.txt"),                    # encoded twice on the way
    ("caf\u00e9.txt", quote(unicodedata.normalize("NFD", "caf\u00e9.txt"))),  # NFC vs NFD
])
def test_the_key_encoded_another_way_is_path_encoding(key: str, sent: str) -> None:
    url = presign("/b/" + quote(key, safe="/~"))
    path = "/b/" + quote(key, safe="/~")
    changed = url.replace(path, "/b/" + sent, 1)
    assert changed != url
    assert only(changed) == "PathEncoding"


def test_a_slash_sent_as_2f_is_the_same_key_but_one_signed_as_2f_is_path_encoding() -> None:
    from sealbox.auth.sigv4 import canonical, keys

    url = presign("/b/dir/x.txt")
    assert diagnose(url.replace("/b/dir/x.txt", "/b/dir%2Fx.txt")) == []  # S3 decodes %2F
    # A signer that encoded the slash in the key (canonical URI /b/dir%2Fx.txt).
    query = url.split("?", 1)[1].rsplit("&X-Amz-Signature=", 1)[0]
    creq = canonical.canonical_request("GET", "/b/dir%2Fx.txt", canonical.canonical_query(query),
                                       "host:127.0.0.1:9000\n", ["host"], "UNSIGNED-PAYLOAD")
    day = NOW.strftime("%Y%m%d")
    text = canonical.string_to_sign(NOW.strftime("%Y%m%dT%H%M%SZ"),
                                    f"{day}/us-east-1/s3/aws4_request", creq)
    signature = keys.sign(keys.signing_key(SECRET, day, "us-east-1"), text)
    sent = f"{ENDPOINT}/b/dir%2Fx.txt?{query}&X-Amz-Signature={signature}"
    assert only(sent) == "PathEncoding"


def test_a_signer_that_encoded_the_path_twice_is_path_encoding() -> None:
    # Signed as if the path were "/b/a%2520b" (encoded again), sent once-encoded.
    url = presign("/b/a%2520b.txt")
    sent = url.replace("/b/a%2520b.txt", "/b/a%20b.txt")
    assert only(sent) == "PathEncoding"


def test_method_and_signed_headers() -> None:
    put = presign("/b/k", method="PUT", headers={"content-type": "text/plain"})
    assert only(put, method="PUT") == "SignedHeaderMissing"
    assert diagnose(put, method="PUT", headers={"Content-Type": "text/plain"}) == []
    assert diagnose(put, method="PUT", headers={"Content-Type": "image/png"}) == [
        ("SignedHeaderChanged", "text/plain", "image/png")]
    assert diagnose(put, method="GET", headers={"Content-Type": "text/plain"}) == [
        ("MethodMismatch", "PUT", "GET")]
    # An x-amz-* header sent and not signed: S3 requires it signed.
    assert only(presign("/b/k"), headers={"x-amz-meta-a": "1"}) == "SignedHeaderMissing"


def test_a_literal_plus_sent_unencoded_in_the_query_is_query_changed() -> None:
    url = presign("/b/k?response-content-type=a%2Bb")
    assert only(url.replace("a%2Bb", "a+b")) == "QueryChanged"


def test_the_scheme_change_is_named_when_a_port_says_so() -> None:
    url = presign("/b/k", base="https://files.example")
    used = url.replace("https://files.example", "http://files.example:443")
    assert only(used) == "SchemeChanged"


def test_a_recorded_fingerprint_works_as_the_signature() -> None:
    url = presign("/b/k").replace("127.0.0.1", "localhost")
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    recorded = url.replace(signature, quote(recorded_signature(signature), safe=""))
    assert "sha256%3A" in recorded and signature not in recorded
    assert diagnose(recorded) == diagnose(url)
    assert [c[0] for c in diagnose(recorded)] == ["HostChanged"]


def test_sigv2_urls() -> None:
    import base64
    import hashlib
    import hmac

    def v2(method: str, path: str, expires: int) -> str:
        text = f"{method}\n\n\n{expires}\n{path}"
        mac = hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).digest()
        signature = quote(base64.b64encode(mac).decode(), safe="")
        return f"{ENDPOINT}{path}?AWSAccessKeyId={AK}&Expires={expires}&Signature={signature}"

    later = int(NOW.timestamp()) + 300
    url = v2("GET", "/b/a%20b.txt", later)

    def codes(u: str, method: str = "GET") -> list[str]:
        return [c.code for c in sigv2.diagnose(from_url(u, method), SERVER).causes]

    assert codes(url) == []
    assert codes(url, "PUT") == ["MethodMismatch"]
    assert codes(url.replace("a%20b", "a+b")) == ["PathEncoding"]
    assert codes(v2("GET", "/b/k", int(NOW.timestamp()) - 1)) == ["Expired"]
    assert codes(url.replace(AK, "AKIDNOBODY0000000000")) == ["UnknownAccessKey"]


def test_link_refusals_map_to_their_codes() -> None:
    record = LinkRecord("lnk-aaaaaaaaaaaaaaaaaaaa", AK, "arn", "b", "k", "GET", 0, 10, 2,
                        ("10.0.0.0/8",), None, None, "", "fp", uses=2)
    assert links.refusal_cause(REVOKED).code == "Revoked"
    assert links.refusal_cause(WRONG_ADDRESS, "127.0.0.1", record).expected == "10.0.0.0/8"
    assert links.refusal_cause(USED_UP, record=record).code == "UsedUp"
    used = links.used_up(record)
    assert used is not None and used.code == "UsedUp"
    assert links.used_up(LinkRecord(**{**record.__dict__, "uses": 1})) is None


@pytest.mark.parametrize("text", ["", "not a url", "ftp://h/x", "http:///nohost",
                                  "http://h/" + "a" * 20_000, "http://h/a b", "http://h:99999/"])
def test_what_is_not_a_url_is_refused_in_words(text: str) -> None:
    with pytest.raises(model.NotAUrl):
        from_url(text)


def test_the_doctor_is_pure() -> None:
    package = Path(sealbox.doctor.__file__).resolve().parent
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in ("now", "utcnow", "time", "sleep"), source
    loaded = subprocess.run(
        [sys.executable, "-c", ("import sys, sealbox.doctor.sigv4, sealbox.doctor.sigv2, "
         "sealbox.doctor.cloudfront, sealbox.doctor.links; print(' '.join(sys.modules))")],
        capture_output=True, text=True, check=True).stdout.split()
    assert not {"asyncio", "sqlite3", "socket", "sealbox.store", "sealbox.server"} & set(loaded)


def test_every_cause_the_code_can_name_is_in_the_catalogue() -> None:
    package = Path(sealbox.doctor.__file__).resolve().parent
    named = set()
    for source in [*package.glob("*.py"), package.parents[0] / "api" / "admin" / "doctor.py"]:
        for node in ast.walk(ast.parse(source.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "Cause" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                named.add(node.args[0].value)
    named |= {code for code, _ in links._CODES.values()}
    assert named <= model.CODES
    assert len(named) >= 27
