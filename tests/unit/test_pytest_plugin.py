"""The pytest plugin for applications (``sealbox.testing.pytest_plugin``): each
test runs an inner pytest session in a subprocess, as an application's
suite would, against a real server.

The inner sessions load the plugin with ``-p`` and entry-point autoloading
off: the editable install this suite runs from may predate the entry point,
and where it has it, ``-p`` would register the module a second time. One
session finds the plugin through an entry point instead, from a
distribution's metadata put on its path, as an installed sealbox provides.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from pathlib import Path

import pytest

import sealbox.testing.pytest_plugin as plugin

pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(plugin.__file__).resolve().parents[2]  # the tree under test
PLUGIN = "sealbox.testing.pytest_plugin"
README_HEADING = "### Testing your app against a real verifying server"


def readme_example() -> str:
    """The first ``python`` block under the README's plugin section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(README_HEADING):]
    found = re.search(r"^```python\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert found, "the README's plugin section has no python example"
    return found.group(1)


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose subprocesses import this tree's sealbox."""
    paths = [str(SRC), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester


FIXTURE_TESTS = '''
import sys
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

SEEN = []


def test_a_presigned_url_works_and_a_tampered_one_is_refused(sealbox_server,
                                                            sealbox_bucket):
    s3 = sealbox_server.client()
    s3.put_object(Bucket=sealbox_bucket, Key="a.txt", Body=b"signed bytes")
    url = s3.generate_presigned_url("get_object", ExpiresIn=300,
                                    Params={"Bucket": sealbox_bucket, "Key": "a.txt"})
    assert requests.get(url, timeout=10).content == b"signed bytes"
    tampered = url.replace("/a.txt?", "/b.txt?")
    refused = requests.get(tampered, timeout=10)
    assert refused.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in refused.text


def test_the_bucket_is_new_and_empty(sealbox_server, sealbox_bucket):
    s3 = sealbox_server.client()
    assert s3.list_objects_v2(Bucket=sealbox_bucket)["KeyCount"] == 0
    s3.put_object(Bucket=sealbox_bucket, Key="left/behind.txt", Body=b"x")
    SEEN.append(sealbox_bucket)


def test_the_bucket_is_gone_after_its_test(sealbox_server, sealbox_bucket):
    assert sealbox_bucket != SEEN[0]
    with pytest.raises(ClientError) as error:
        sealbox_server.client().head_bucket(Bucket=SEEN[0])
    assert error.value.response["Error"]["Code"] == "404"


def test_a_users_policy_is_enforced(sealbox_server, sealbox_bucket):
    root = sealbox_server.client()
    root.put_object(Bucket=sealbox_bucket, Key="shared/a.txt", Body=b"readable")
    root.put_object(Bucket=sealbox_bucket, Key="private/b.txt", Body=b"secret")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{sealbox_bucket}/shared/*"}]}
    access_key, secret_key = sealbox_server.create_user(f"reader-{uuid.uuid4().hex[:8]}",
                                                         policy)
    reader = sealbox_server.client(access_key=access_key, secret_key=secret_key)
    got = reader.get_object(Bucket=sealbox_bucket, Key="shared/a.txt")
    assert got["Body"].read() == b"readable"
    for call in (lambda: reader.get_object(Bucket=sealbox_bucket, Key="private/b.txt"),
                 lambda: reader.put_object(Bucket=sealbox_bucket, Key="shared/c", Body=b"")):
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "AccessDenied"


def test_a_one_use_link_works_once(sealbox_server, sealbox_bucket):
    sealbox_server.client().put_object(Bucket=sealbox_bucket, Key="once", Body=b"1")
    url = sealbox_server.create_link(sealbox_bucket, "once", uses=1, expires="5m")
    assert requests.get(url, timeout=10).status_code == 200
    again = requests.get(url, timeout=10)
    assert again.status_code == 403 and "The link has been used up" in again.text


def test_a_link_bound_elsewhere_is_refused(sealbox_server, sealbox_bucket):
    sealbox_server.client().put_object(Bucket=sealbox_bucket, Key="k", Body=b"1")
    url = sealbox_server.create_link(sealbox_bucket, "k", bind_ip="192.0.2.0/24")
    refused = requests.get(url, timeout=10)
    assert refused.status_code == 403
    assert "The link is not valid from this address" in refused.text


def test_link_rules_are_put_or_skipped(sealbox_server):
    sealbox_server.put_link_rules({"Issuers": [], "Rules": []})


def test_without_boto3_a_client_is_a_skip(sealbox_server, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setitem(sys.modules, "botocore", None)
    with pytest.raises(pytest.skip.Exception, match="needs boto3"):
        sealbox_server.client()
'''


def has_link_rules() -> bool:
    from sealbox.api.admin.routes import ROUTES

    return any(route.pattern == "link-rules" for route in ROUTES)


def test_the_fixtures_give_a_real_verifying_server(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_fixtures=FIXTURE_TESTS, test_readme=readme_example())
    result = inner.runpytest_subprocess("-p", PLUGIN, "-v", "-p", "no:cacheprovider")
    rules = "PASSED" if has_link_rules() else "SKIPPED"
    result.stdout.fnmatch_lines_random([
        "*test_a_presigned_url_works_and_a_tampered_one_is_refused PASSED*",
        "*test_the_bucket_is_new_and_empty PASSED*",
        "*test_the_bucket_is_gone_after_its_test PASSED*",
        "*test_a_users_policy_is_enforced PASSED*",
        "*test_a_one_use_link_works_once PASSED*",
        "*test_a_link_bound_elsewhere_is_refused PASSED*",
        f"*test_link_rules_are_put_or_skipped {rules}*",
        "*test_without_boto3_a_client_is_a_skip PASSED*",
        "*test_readme.py::test_a_one_time_link_works_once PASSED*",
    ])
    assert result.ret == 0, result.stdout.str()


def test_a_failed_test_shows_the_server_log_and_keep_keeps_the_data(
        inner: pytest.Pytester) -> None:
    inner.makepyfile(test_refused='''
        import requests

        def test_a_refused_download(sealbox_server, sealbox_bucket):
            url = sealbox_server.create_link(sealbox_bucket, "missing.txt", uses=1)
            requests.get(url, timeout=10)
            assert requests.get(url, timeout=10).status_code == 200
    ''')
    result = inner.runpytest_subprocess("-p", PLUGIN, "--sealbox-keep", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- sealbox server log -*",
        "*server-*.log (requests during this test, with their statuses)",
        '*"POST /_sealbox/api/v1/links HTTP/1.1" 201',
        '*"GET /app-test-*/missing.txt?*X-Amz-Signature=*" 404',
        '*"GET /app-test-*/missing.txt?*X-Amz-Signature=*" 403',
        "sealbox: kept the server's data and log in *",
    ])
    kept = Path(result.stdout.str().split("kept the server's data and log in ")[1].split()[0])
    assert (kept / "data").is_dir() and list(kept.glob("server-*.log"))


def test_without_keep_the_data_is_removed(inner: pytest.Pytester) -> None:
    inner.makepyfile("def test_up(sealbox_server):\n    assert sealbox_server.endpoint\n")
    result = inner.runpytest_subprocess("-p", PLUGIN, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "kept the server's data" not in result.stdout.str()
    assert list(inner.path.glob("runpytest-*/sealbox-server*")) == []


@pytest.mark.parametrize("args", [(), ("-p", "sealbox")], ids=["autoload", "p-sealbox"])
def test_the_entry_point_loads_it_and_starts_nothing_unasked(
        inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> None:
    """As installed: found by its ``pytest11`` entry point (by itself, or by
    its name with autoloading off), and a session that uses none of its
    fixtures starts no server."""
    if not args:
        monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    site = inner.mkdir("site")
    dist = site / "sealbox_probe-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sealbox-probe\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[pytest11]\nsealbox = {PLUGIN}\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ["PYTHONPATH"]]))
    inner.makepyfile('''
        def test_loaded_and_idle(request):
            manager = request.config.pluginmanager
            assert manager.get_plugin("sealbox").__name__ == "sealbox.testing.pytest_plugin"
            assert request.config.getoption("sealbox_keep") is False
            assert "sealbox_server" not in request.fixturenames
            assert not list(request.config._tmp_path_factory.getbasetemp().glob("sealbox-*"))
    ''')
    result = inner.runpytest_subprocess(*args, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_entry_point_is_declared() -> None:
    """An installed sealbox gives applications the plugin without ``-p``."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["entry-points"]["pytest11"] == {"sealbox": PLUGIN}


def test_no_fixture_name_clashes_with_sealbox_own_suite() -> None:
    """sealbox's own suite may load the plugin through the entry point: its
    fixtures must keep their own names."""
    tree = ast.parse((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    own = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
           and any("fixture" in ast.unparse(d) for d in node.decorator_list)}
    assert own and "server" in own
    assert not own & {"sealbox_server", "sealbox_bucket"}
