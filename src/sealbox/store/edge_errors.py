"""CloudFront's refusals as the edge's stores and configs raise them: one
error type with CloudFront's code, message and HTTP status. Its own module
so that the config parser (``edge_config``) and the EdgeStore (``edge``)
both raise it without importing each other."""

from __future__ import annotations

from sealbox.store.meta import MetaError

# HTTP statuses of the CloudFront errors we raise (botocore service-2.json).
ERROR_STATUS: dict[str, int] = {
    "AccessDenied": 403,
    "ExpiredToken": 403,
    "IncompleteSignature": 400,
    "InternalError": 500,
    "InvalidClientTokenId": 403,
    "MissingAuthenticationToken": 403,
    "SignatureDoesNotMatch": 403,
    "BatchTooLarge": 413,
    "CannotChangeImmutablePublicKeyFields": 400,
    "CNAMEAlreadyExists": 409,
    "DistributionAlreadyExists": 409,
    "DistributionNotDisabled": 409,
    "IllegalUpdate": 400,
    "InconsistentQuantities": 400,
    "InvalidArgument": 400,
    "InvalidDefaultRootObject": 400,
    "InvalidIfMatchVersion": 400,
    "InvalidOrigin": 400,
    "InvalidOriginAccessControl": 400,
    "InvalidTTLOrder": 400,
    "InvalidViewerCertificate": 400,
    "KeyGroupAlreadyExists": 409,
    "MalformedInput": 400,
    "MissingBody": 400,
    "NoSuchCachePolicy": 404,
    "NoSuchDistribution": 404,
    "NoSuchInvalidation": 404,
    "NoSuchOrigin": 404,
    "NoSuchOriginAccessControl": 404,
    "NoSuchPublicKey": 404,
    "NoSuchResource": 404,
    "OriginAccessControlAlreadyExists": 409,
    "OriginAccessControlInUse": 409,
    "PreconditionFailed": 412,
    "PublicKeyAlreadyExists": 409,
    "PublicKeyInUse": 409,
    "ResourceInUse": 409,
    "TooManyPublicKeysInKeyGroup": 400,
    "TrustedKeyGroupDoesNotExist": 400,
}


class EdgeError(MetaError):
    """A CloudFront refusal: ``code`` (``NoSuchDistribution`` …), its HTTP
    ``status`` and CloudFront's ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = ERROR_STATUS.get(code, 400)
