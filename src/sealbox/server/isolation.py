"""Objects kept apart from the console's origin.

Served on the console's own origin (no ``--console-port``), an HTML or SVG
object opened in a browser (a presigned link sent to an admin) would be a
page of that origin: its script could fetch console pages as the signed-in
user, read their CSRF tokens, open one and read its DOM. The CSP
``sandbox`` directive gives such an answer an opaque origin instead (as an
``<iframe sandbox>`` has): its scripts may run, so an HTML report still
works, but every request they make is cross-origin, unreadable without
CORS, and no console page's DOM is theirs to read. Images, video and
downloads are unaffected; S3 clients never read the header.
"""

from __future__ import annotations

from sealbox.server.responses import Response

# The operations whose body is an object's bytes, as stored.
STORED_BYTES = frozenset({"GetObject", "HeadObject"})
# No allow-same-origin: that token would give the origin back.
OBJECT_SANDBOX = "sandbox allow-scripts allow-forms allow-popups allow-downloads allow-modals"
# Chromium's viewer will not show a PDF in a sandboxed document, and a PDF's
# script runs in the viewer (PDFium), never as a page of the origin.
_UNSANDBOXED_TYPES = frozenset({"application/pdf"})


def isolate_from_console(response: Response) -> None:
    """Give an object's answer an opaque origin (``OBJECT_SANDBOX``)."""
    content_type = ""
    for name, value in response.headers:
        if name.lower() == "content-type":
            content_type = value.split(";", 1)[0].strip().lower()
    if content_type not in _UNSANDBOXED_TYPES:
        response.headers.append(("content-security-policy", OBJECT_SANDBOX))
