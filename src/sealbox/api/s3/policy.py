"""Bucket policies and Block Public Access: Put/Get/DeleteBucketPolicy,
GetBucketPolicyStatus, Put/Get/DeletePublicAccessBlock for a bucket and for
the whole server (S3 Control's account-level form).

Documents are kept as bucket settings (``policy``, ``public-access-block``)
and the server setting ``public-access-block``; the access gate reads them
on every request, so a change applies at once everywhere.

A bucket policy is checked as S3 checks it before it is stored (the old one
stays on any refusal): JSON, at most 20 KB, every principal known (IAM
users of this server, its account, AWS services), every action an S3
action, every resource in this bucket. With BlockPublicPolicy in force a
public policy is refused with 403 AccessDenied, as S3 refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sealbox.access.model import parse_policy
from sealbox.access.public_access import FIELDS, PublicAccessBlock
from sealbox.api.common.access_gate import (
    POLICY_SETTING,
    PUBLIC_ACCESS_BLOCK_SETTING,
    account_setting,
)
from sealbox.api.common.context import Context
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.cors import check_body_digests
from sealbox.api.s3.xml import find_text, parse_xml, render
from sealbox.auth.principal import ACCOUNT_ID, account_of_arn, root_arn
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.identity import NoSuchEntity
from sealbox.store.meta import NoSuchBucket

MAX_POLICY_BODY = 64 * 1024  # read cap; the policy limit (20 KB) is parse_policy's
MAX_PAB_BODY = 4 * 1024
PUBLIC_POLICY_BLOCKED = (
    "Access Denied: public policies are blocked by the BlockPublicPolicy block public access "
    "setting."
)


# -- bucket policy -----------------------------------------------------------


def _principal_exists(meta: Any) -> Callable[[str], bool]:
    """S3 refuses a policy naming a principal that does not exist ("Invalid
    principal in policy"): an account of this server (its root), an IAM
    user of one, AWS services."""

    def account_exists(account: str) -> bool:
        return account == ACCOUNT_ID or meta.account_name(account) is not None

    def exists(name: str) -> bool:
        account = account_of_arn(name) if name.startswith("arn:aws:iam::") else None
        if account is not None and name == root_arn(account):
            return account_exists(account)
        if account is not None and name.startswith(f"arn:aws:iam::{account}:user/"):
            user_name = name.rsplit("/", 1)[-1]
            try:
                meta.in_account(account).get_user(user_name)
            except NoSuchEntity:
                return False
            return True
        return name.endswith(".amazonaws.com")  # a Service principal

    return exists


async def put_bucket_policy(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_POLICY_BODY)
    check_body_digests(ctx.request, body)
    await require_bucket(ctx)
    services = ctx.services

    def check() -> str:
        exists = _principal_exists(services.meta)
        # MalformedPolicy is the S3Error S3 answers, with the reason.
        policy = parse_policy(body, kind="bucket", bucket=ctx.bucket, principal_exists=exists)
        assert services.gate is not None
        blocks = services.gate.public_access_block(ctx.bucket, account=_account(ctx))
        if policy.public and blocks.block_public_policy:
            raise S3Error("AccessDenied", PUBLIC_POLICY_BLOCKED)
        return body.decode("utf-8")

    document = await services.run(check)
    try:
        await services.run(services.meta.put_bucket_setting, ctx.bucket, POLICY_SETTING, document)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return empty_response(204)


async def _stored_policy(ctx: Context) -> str:
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                       POLICY_SETTING)
    if document is None:
        await require_bucket(ctx)
        raise S3Error("NoSuchBucketPolicy", BucketName=ctx.bucket)
    return document


async def get_bucket_policy(ctx: Context) -> Response:
    document = await _stored_policy(ctx)
    # The document as it was put, byte for byte (S3 returns it as stored).
    return Response(200, [("content-type", "application/json")], document.encode("utf-8"))


async def delete_bucket_policy(ctx: Context) -> Response:
    await require_bucket(ctx)
    await ctx.services.run(ctx.services.meta.delete_bucket_setting, ctx.bucket, POLICY_SETTING)
    return empty_response(204)


async def get_bucket_policy_status(ctx: Context) -> Response:
    document = await _stored_policy(ctx)
    policy = parse_policy(document, kind="bucket", bucket=ctx.bucket)
    public = "true" if policy.public else "false"
    return xml_response(render("PolicyStatus", [("IsPublic", public)]))


# -- Block Public Access -----------------------------------------------------


def parse_public_access_block(body: bytes) -> PublicAccessBlock:
    """``<PublicAccessBlockConfiguration>``; a setting left out is false."""
    root = parse_xml(body, "PublicAccessBlockConfiguration", max_length=MAX_PAB_BODY)
    values = []
    for name in FIELDS:
        text = find_text(root, name)
        if text is None:
            values.append(False)
        elif text.strip().lower() in ("true", "false"):
            values.append(text.strip().lower() == "true")
        else:
            raise S3Error("MalformedXML")
    return PublicAccessBlock(*values)


def render_public_access_block(document: str) -> bytes:
    pab = PublicAccessBlock.from_json(document)
    return render("PublicAccessBlockConfiguration",
                  [(name, "true" if value else "false")
                   for name, value in zip(FIELDS, pab.values(), strict=True)])


async def put_public_access_block(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_PAB_BODY)
    check_body_digests(ctx.request, body)
    pab = parse_public_access_block(body)
    try:
        await ctx.services.run(ctx.services.meta.put_bucket_setting, ctx.bucket,
                               PUBLIC_ACCESS_BLOCK_SETTING, pab.to_json())
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return empty_response(200)


async def get_public_access_block(ctx: Context) -> Response:
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                       PUBLIC_ACCESS_BLOCK_SETTING)
    if document is None:
        await require_bucket(ctx)
        raise S3Error("NoSuchPublicAccessBlockConfiguration", BucketName=ctx.bucket)
    return xml_response(render_public_access_block(document))


async def delete_public_access_block(ctx: Context) -> Response:
    await require_bucket(ctx)
    await ctx.services.run(ctx.services.meta.delete_bucket_setting, ctx.bucket,
                           PUBLIC_ACCESS_BLOCK_SETTING)
    return empty_response(204)


def _account(ctx: Context) -> str:
    return ctx.auth.principal.account or ACCOUNT_ID


def _account_setting(ctx: Context) -> str:
    """The server setting of the account S3 Control names in
    ``x-amz-account-id``: it must be the caller's own."""
    account = ctx.request.headers.get("x-amz-account-id", "")
    if account != _account(ctx):
        raise S3Error("AccessDenied")
    return account_setting(PUBLIC_ACCESS_BLOCK_SETTING, account)


async def put_account_public_access_block(ctx: Context) -> Response:
    setting = _account_setting(ctx)
    body = await ctx.request.read(MAX_PAB_BODY)
    pab = parse_public_access_block(body)
    await ctx.services.run(ctx.services.meta.put_server_setting, setting, pab.to_json())
    return empty_response(200)


async def get_account_public_access_block(ctx: Context) -> Response:
    setting = _account_setting(ctx)
    document = await ctx.services.read(ctx.services.meta.get_server_setting, setting)
    if document is None:
        raise S3Error("NoSuchPublicAccessBlockConfiguration")
    return xml_response(render_public_access_block(document))


async def delete_account_public_access_block(ctx: Context) -> Response:
    setting = _account_setting(ctx)
    await ctx.services.run(ctx.services.meta.delete_server_setting, setting)
    return empty_response(204)


HANDLERS = {
    "PutBucketPolicy": put_bucket_policy,
    "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetBucketPolicyStatus": get_bucket_policy_status,
    "PutPublicAccessBlock": put_public_access_block,
    "GetPublicAccessBlock": get_public_access_block,
    "DeletePublicAccessBlock": delete_public_access_block,
    "PutAccountPublicAccessBlock": put_account_public_access_block,
    "GetAccountPublicAccessBlock": get_account_public_access_block,
    "DeleteAccountPublicAccessBlock": delete_account_public_access_block,
}
