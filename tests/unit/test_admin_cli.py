"""The ``sealbox admin`` / ``sealbox edge`` pieces that need no server: the
short form of ``distribution create`` builds a config CloudFront's rules
accept, ``--ttl``, where credentials come from, how paths are written, and
that every command takes the common options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from sealbox.api.admin.edge_json import to_tree
from sealbox.api.admin.routes import match
from sealbox.cli.client import ApiError, find_credentials, path, read_json_file
from sealbox.cli.edge import DEFAULT_TTLS, parse_ttl, short_config
from sealbox.cli.main import build_parser
from sealbox.store.edge import DistributionConfig


def short(**overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "key_groups": [], "oac": None, "aliases": [], "comment": "", "ttls": DEFAULT_TTLS,
        "viewer_protocol_policy": "redirect-to-https", "forward_referer": False, "enabled": True}
    options.update(overrides)
    return short_config("media", **options)


def test_the_short_form_is_a_config_cloudfront_accepts() -> None:
    config = DistributionConfig.from_document(to_tree(short(), "DistributionConfig"))
    assert config.buckets == {"media"} and config.enabled
    behaviour = config.default_behavior
    assert not behaviour.restricted and behaviour.viewer_protocol_policy == "redirect-to-https"
    assert (behaviour.min_ttl, behaviour.default_ttl, behaviour.max_ttl) == DEFAULT_TTLS


def test_every_short_form_option_lands_in_the_config() -> None:
    body = short(key_groups=["g1", "g2"], oac="E2OAC", aliases=["cdn.example.com"],
                 viewer_protocol_policy="https-only", ttls=(1, 60, 3600), comment="c",
                 forward_referer=True, enabled=False, origin_path="/site",
                 default_root_object="index.html")
    config = DistributionConfig.from_document(to_tree(body, "DistributionConfig"))
    behaviour = config.default_behavior
    assert behaviour.trusted_key_groups == ("g1", "g2") and behaviour.restricted
    assert behaviour.forward_referer and behaviour.viewer_protocol_policy == "https-only"
    assert (behaviour.min_ttl, behaviour.default_ttl, behaviour.max_ttl) == (1, 60, 3600)
    assert config.oac_ids == {"E2OAC"} and config.aliases == ("cdn.example.com",)
    assert config.origins[0].origin_path == "/site" and not config.enabled
    assert config.default_root_object == "index.html" and config.comment == "c"


@pytest.mark.parametrize(("text", "ttls"), [
    ("60", (0, 60, 31536000)), ("100000000", (0, 100000000, 100000000)), ("1,2,3", (1, 2, 3))])
def test_ttl_is_a_default_or_three_numbers(text: str, ttls: tuple[int, int, int]) -> None:
    assert parse_ttl(text) == ttls


@pytest.mark.parametrize("text", ["", "a", "1,2", "1,2,3,4", "1.5"])
def test_other_ttls_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(ApiError, match="--ttl"):
        parse_ttl(text)


def test_credentials_come_from_aws_then_sealbox_env_then_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "root-credentials.json").write_text(
        json.dumps({"access_key": "FILEKEY", "secret_key": "filesecret"}))
    aws = {"AWS_ACCESS_KEY_ID": "AWSKEY", "AWS_SECRET_ACCESS_KEY": "awssecret"}
    root = {"SEALBOX_ROOT_ACCESS_KEY": "ROOTKEY", "SEALBOX_ROOT_SECRET_KEY": "rootsecret"}
    assert find_credentials(str(tmp_path), {**aws, **root}) == ("AWSKEY", "awssecret")
    assert find_credentials(str(tmp_path), root) == ("ROOTKEY", "rootsecret")
    assert find_credentials(str(tmp_path), {"AWS_ACCESS_KEY_ID": "half"}) == (
        "FILEKEY", "filesecret")


def test_missing_or_broken_credentials_say_so_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="no credentials: set AWS_ACCESS_KEY_ID"):
        find_credentials(str(tmp_path), {})
    (tmp_path / "root-credentials.json").write_text("not json")
    with pytest.raises(ApiError, match="not a sealbox root-credentials file"):
        find_credentials(str(tmp_path), {})


def test_paths_encode_each_segment_whole_and_reach_the_route() -> None:
    arn = "arn:aws:iam::000000000000:policy/team/readers"
    written = path("users", "a+b@example", "attached-policies", arn)
    assert written == ("/_sealbox/api/v1/users/a%2Bb%40example/attached-policies/"
                       "arn%3Aaws%3Aiam%3A%3A000000000000%3Apolicy%2Fteam%2Freaders")
    route, params = match("DELETE", written)
    assert route.operation == "DetachUserPolicy"
    assert params == {"UserName": "a+b@example", "PolicyArn": arn}


def test_input_files_are_read_with_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ApiError, match="--file .*: No such file"):
        read_json_file(str(tmp_path / "missing.json"), "--file")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ApiError, match="not JSON"):
        read_json_file(f"file://{bad}", "--file")


def _leaves(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[Any]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _leaves(child, (*prefix, name))
            return found
    return [(prefix, parser)]


@pytest.mark.parametrize("family", ["admin", "edge"])
def test_every_command_takes_the_common_options(family: str) -> None:
    parser = build_parser()
    leaves = [(p, leaf) for p, leaf in _leaves(parser) if p[0] == family]
    # admin: kms-key's five too; edge: key-pair create too
    assert len(leaves) == (37 if family == "admin" else 20)
    for _prefix, leaf in leaves:
        options = {o for a in leaf._actions for o in a.option_strings}
        assert {"--json", "--endpoint-url", "--data-dir", "--region"} <= options


def test_commands_parse_as_the_readme_writes_them() -> None:
    args = build_parser().parse_args(
        ["edge", "distribution", "create", "--bucket", "media", "--key-group", "g1",
         "--oac", "E1", "--alias", "cdn.example.com", "--ttl", "60", "--json"])
    assert (args.bucket, args.key_group, args.oac, args.alias, args.json) == (
        "media", ["g1"], "E1", ["cdn.example.com"], True)
    args = build_parser().parse_args(["admin", "policy", "attach", "readers", "--user", "bob"])
    assert (args.policy, args.user, args.group) == ("readers", "bob", None)


def test_forward_referer_puts_referer_in_the_cache_key() -> None:
    """A bucket policy's Referer rule holds through the edge only if a copy
    cached for one Referer is never served to another."""
    forwarded = DistributionConfig.from_document(
        to_tree(short(forward_referer=True), "DistributionConfig")).default_behavior
    assert forwarded.forward_referer and forwarded.cache_key_headers == ("referer",)
    plain = DistributionConfig.from_document(to_tree(short(), "DistributionConfig"))
    assert plain.default_behavior.cache_key_headers == ()


def test_key_pair_files_hold_one_key_in_both_private_forms(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from sealbox.cli.key_pair import write_key_pair

    files = write_key_pair(tmp_path / "keys")
    pkcs1 = files.private_pkcs1.read_bytes()
    assert pkcs1.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert files.private_pkcs8.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    public = serialization.load_pem_private_key(pkcs1, None).public_key()
    assert public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode() == (
        files.public_pem) == files.public.read_text()
    assert (files.private_pkcs8.stat().st_mode & 0o777) == 0o600
    with pytest.raises(FileExistsError, match="--force"):
        write_key_pair(tmp_path / "keys")
    assert write_key_pair(tmp_path / "keys", overwrite=True).public_pem != files.public_pem


def test_the_endpoint_comes_from_sealbox_then_aws_variables() -> None:
    from sealbox.cli.client import DEFAULT_ENDPOINT, default_endpoint

    assert default_endpoint({}) == DEFAULT_ENDPOINT
    assert default_endpoint({"AWS_ENDPOINT_URL": "http://a:1"}) == "http://a:1"
    assert default_endpoint({"AWS_ENDPOINT_URL": "http://a:1",
                             "SEALBOX_ENDPOINT_URL": "http://b:2"}) == "http://b:2"
