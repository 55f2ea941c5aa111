"""The CloudFront API's routes: (method, path) to an operation of
``cloudfront_ops``, with what it is judged on — ``cloudfront:<Name>`` on
the distribution or origin access control it names (Actions, resources,
and condition keys for Amazon CloudFront: public keys and key groups have
no resource ARNs, so ``*``). URIs as botocore's service-2.json has them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sealbox.api.cloudfront.ops import (
    VERSION,
    Call,
    Result,
    create_distribution,
    create_invalidation,
    create_key_group,
    create_origin_access_control,
    create_public_key,
    delete_distribution,
    delete_key_group,
    delete_origin_access_control,
    delete_public_key,
    get_distribution,
    get_distribution_config,
    get_invalidation,
    get_key_group,
    get_key_group_config,
    get_origin_access_control,
    get_origin_access_control_config,
    get_public_key,
    get_public_key_config,
    list_distributions,
    list_invalidations,
    list_key_groups,
    list_origin_access_controls,
    list_public_keys,
    update_distribution,
    update_key_group,
    update_origin_access_control,
    update_public_key,
)
from sealbox.auth.principal import ACCOUNT_ID
from sealbox.store.edge import EdgeStore, distribution_arn

Run = Callable[[EdgeStore, Call], Result]


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: re.Pattern[str]
    run: Run
    body_root: str | None = None
    resource: str = "*"  # "distribution", "origin-access-control" or "*"


def _op(name: str, method: str, path: str, run: Run, body_root: str | None = None,
        resource: str = "*") -> Operation:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Operation(name, method, re.compile(f"/{VERSION}/{pattern}"), run, body_root, resource)


_D, _O = "distribution", "origin-access-control"
OPERATIONS: tuple[Operation, ...] = (
    _op("CreatePublicKey", "POST", "public-key", create_public_key, "PublicKeyConfig"),
    _op("ListPublicKeys", "GET", "public-key", list_public_keys),
    _op("GetPublicKey", "GET", "public-key/{Id}", get_public_key),
    _op("GetPublicKeyConfig", "GET", "public-key/{Id}/config", get_public_key_config),
    _op("UpdatePublicKey", "PUT", "public-key/{Id}/config", update_public_key, "PublicKeyConfig"),
    _op("DeletePublicKey", "DELETE", "public-key/{Id}", delete_public_key),
    _op("CreateKeyGroup", "POST", "key-group", create_key_group, "KeyGroupConfig"),
    _op("ListKeyGroups", "GET", "key-group", list_key_groups),
    _op("GetKeyGroup", "GET", "key-group/{Id}", get_key_group),
    _op("GetKeyGroupConfig", "GET", "key-group/{Id}/config", get_key_group_config),
    _op("UpdateKeyGroup", "PUT", "key-group/{Id}", update_key_group, "KeyGroupConfig"),
    _op("DeleteKeyGroup", "DELETE", "key-group/{Id}", delete_key_group),
    _op("CreateOriginAccessControl", "POST", "origin-access-control", create_origin_access_control,
        "OriginAccessControlConfig", _O),
    _op("ListOriginAccessControls", "GET", "origin-access-control", list_origin_access_controls,
        None, _O),
    _op("GetOriginAccessControl", "GET", "origin-access-control/{Id}", get_origin_access_control,
        None, _O),
    _op("GetOriginAccessControlConfig", "GET", "origin-access-control/{Id}/config",
        get_origin_access_control_config, None, _O),
    _op("UpdateOriginAccessControl", "PUT", "origin-access-control/{Id}/config",
        update_origin_access_control, "OriginAccessControlConfig", _O),
    _op("DeleteOriginAccessControl", "DELETE", "origin-access-control/{Id}",
        delete_origin_access_control, None, _O),
    _op("CreateDistribution", "POST", "distribution", create_distribution, "DistributionConfig", _D),
    _op("ListDistributions", "GET", "distribution", list_distributions, None, _D),
    _op("GetDistribution", "GET", "distribution/{Id}", get_distribution, None, _D),
    _op("GetDistributionConfig", "GET", "distribution/{Id}/config", get_distribution_config, None, _D),
    _op("UpdateDistribution", "PUT", "distribution/{Id}/config", update_distribution,
        "DistributionConfig", _D),
    _op("DeleteDistribution", "DELETE", "distribution/{Id}", delete_distribution, None, _D),
    _op("CreateInvalidation", "POST", "distribution/{DistributionId}/invalidation",
        create_invalidation, "InvalidationBatch", _D),
    _op("ListInvalidations", "GET", "distribution/{DistributionId}/invalidation",
        list_invalidations, None, _D),
    _op("GetInvalidation", "GET", "distribution/{DistributionId}/invalidation/{Id}",
        get_invalidation, None, _D),
)


def route(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation for ``method`` on ``path`` (decoded, without the query), and its ids."""
    for op in OPERATIONS:
        if op.method == method:
            m = op.path.fullmatch(path)
            if m:
                return op, m.groupdict()
    return None


def resource_arn(op: Operation, ids: dict[str, str], account: str = ACCOUNT_ID) -> str:
    """The ARN ``op`` is judged on: the distribution or origin access control
    it names (``…/*`` when it names none yet) in the caller's ``account``
    (the only one whose configuration it reaches), else ``*``."""
    if op.resource == "distribution":
        did = ids.get("DistributionId") or ids.get("Id")
        return distribution_arn(did or "*", account)
    if op.resource == "origin-access-control":
        return f"arn:aws:cloudfront::{account}:origin-access-control/{ids.get('Id', '*')}"
    return "*"
