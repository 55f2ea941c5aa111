"""What ACLs cost a GET of 1 KiB, in process (as ``links_inprocess.py``:
through the ASGI app, no sockets, the best of several batches):

    PYTHONPATH=src python bench/acls.py enforced|acls|public [BATCHES SIZE]

``enforced``: a presigned GET by root in a bucket of the default Object
Ownership (ACLs disabled: the gate reads nothing more); ``acls``: the same
in an ObjectWriter bucket, where an object action reads the object's ACL;
``public``: an unsigned GET of an object whose ACL grants AllUsers READ.
Prints microseconds per request.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sealbox.access.acls import canned_acl
from sealbox.access.canonical_ids import canonical_id
from sealbox.api.s3.acl_grants import render_acl
from sealbox.auth.principal import ACCOUNT_ID
from sealbox.config import RootCredentials, Settings
from sealbox.server.asgi import build_app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from links_inprocess import ENDPOINT, KEY, SECRET, call, signed

OWNERSHIP = (b'<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
             b"<ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>")


async def main(mode: str, batches: int = 7, batch: int = 2000) -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-acls-"))
    app = build_app(Settings(data_dir=data), RootCredentials(KEY, SECRET))
    assert (await call(app, "PUT", signed("PUT", "/bench")))[0] == 200
    if mode != "enforced":
        assert (await call(app, "PUT", signed("PUT", "/bench?ownershipControls"),
                           OWNERSHIP))[0] == 200
        assert (await call(app, "DELETE", signed("DELETE", "/bench?publicAccessBlock")))[0] == 204
    assert (await call(app, "PUT", signed("PUT", "/bench/one-kib"), b"x" * 1024))[0] == 200
    if mode != "enforced":
        # The bench's presigned URLs sign no x-amz-acl header: PutObjectAcl's
        # body sets the ACL instead.
        owner_id = canonical_id(f"arn:aws:iam::{ACCOUNT_ID}:root")
        body = render_acl(canned_acl("public-read", owner_id), {})
        assert (await call(app, "PUT", signed("PUT", "/bench/one-kib?acl"), body))[0] == 200
    url = ENDPOINT + "/bench/one-kib" if mode == "public" else signed("GET", "/bench/one-kib")
    status, got = await call(app, "GET", url)
    assert status == 200 and len(got) == 1024, (status, got[:200])
    best = float("inf")
    for _ in range(batches):
        began = time.perf_counter()
        for _ in range(batch):
            await call(app, "GET", url)
        best = min(best, (time.perf_counter() - began) / batch)
    print(f"{mode}: {best * 1e6:.1f} us per request")


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "enforced"
    asyncio.run(main(mode, *(int(a) for a in sys.argv[2:4])))
