"""The IAM Query API (``POST /`` with ``Action=…``): placeholder until the
operations land. Refuses every call with IAM's error for an unknown action."""

from __future__ import annotations

from sealbox.api.context import Context
from sealbox.errors import S3Error
from sealbox.server.responses import Response


async def iam_query(ctx: Context) -> Response:
    raise S3Error("NotImplemented", "The IAM Query API is not implemented yet")


HANDLERS = {"IamQuery": iam_query}
