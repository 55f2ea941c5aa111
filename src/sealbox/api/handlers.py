"""Every operation's handler, gathered from the operation-family modules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sealbox.api import buckets, copy_object, listing, multipart, objects, tagging
from sealbox.api.context import Context
from sealbox.server.responses import Response

Handler = Callable[[Context], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    **buckets.HANDLERS,
    **objects.HANDLERS,
    **copy_object.HANDLERS,
    **tagging.HANDLERS,
    **listing.HANDLERS,
    **multipart.HANDLERS,
}
