"""The CloudFront API (REST-XML, 2020-05-31) on the same endpoint, chosen by
a SigV4 scope that names ``cloudfront``: placeholder until it lands."""

from __future__ import annotations

from sealbox.api.context import Context
from sealbox.errors import S3Error
from sealbox.server.responses import Response


async def cloudfront_api(ctx: Context) -> Response:
    raise S3Error("NotImplemented", "The CloudFront API is not implemented yet")


HANDLERS = {"CloudFrontApi": cloudfront_api}
