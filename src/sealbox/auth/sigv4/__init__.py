"""AWS Signature Version 4 for S3, verified the way S3 verifies it.

``canonical`` rebuilds the canonical request from the wire, ``parse`` reads
the header and query parameters, ``keys`` derives and caches signing keys,
``verify`` checks a request, ``presign`` signs one. The entry point the
server calls is ``sealbox.auth.authenticate.authenticate``.
"""

from .presign import presign_url, sign_headers
from .verify import verify_header, verify_presigned

__all__ = ["presign_url", "sign_headers", "verify_header", "verify_presigned"]
