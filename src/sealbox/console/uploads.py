"""Uploads straight from the browser: the page's script asks here for
presigned URLs, made for the principal, and sends the file's bytes to S3
itself (``static/upload.js``; ``File.slice``, so a 1 GiB file is never
held in memory, here or in the page).

- up to ``SINGLE_MAX`` bytes: one presigned PUT;
- larger: CreateMultipartUpload as the principal here, one presigned
  UploadPart URL per part (the script sends them in parallel and retries
  each), then CompleteMultipartUpload (or AbortMultipartUpload on cancel)
  here, again as the principal.

JSON in, JSON out; the CSRF token comes in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import json
import math
from typing import Any
from xml.sax.saxutils import escape

from sealbox.console import results
from sealbox.console.calls import encode_path
from sealbox.console.page import BadForm, Page
from sealbox.console.render import json_answer
from sealbox.server.responses import Response

SINGLE_MAX = 16 * 1024 * 1024
MIN_PART = 16 * 1024 * 1024
MAX_PARTS = 10_000
MAX_SIZE = 5 * 1024 ** 4  # S3's largest object
URL_SECONDS = 12 * 3600  # a slow link must still finish a large file


def _plan(page: Page) -> dict[str, Any]:
    try:
        plan = json.loads(page.body)
    except ValueError:
        raise BadForm("The upload plan is not JSON.") from None
    if not isinstance(plan, dict):
        raise BadForm("The upload plan must be a JSON object.")
    for name in ("bucket", "key"):
        if not isinstance(plan.get(name), str) or not plan[name]:
            raise BadForm(f"{name} is required.")
    return plan


def part_size(size: int) -> int:
    """The part size for ``size`` bytes: ``MIN_PART``, or more so that no
    upload needs more than ``MAX_PARTS`` parts (rounded up to a MiB)."""
    needed = math.ceil(size / MAX_PARTS)
    return max(MIN_PART, math.ceil(needed / (1 << 20)) << 20)


async def start(page: Page) -> Response:
    plan = _plan(page)
    bucket, key = plan["bucket"], plan["key"]
    size = plan.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise BadForm("size must be the file's size in bytes.")
    path = encode_path(bucket, key)
    if size <= SINGLE_MAX:
        return _json({"url": page.caller.presign("PUT", path, expires=URL_SECONDS,
                                                 for_page=True)})
    headers = {}
    content_type = plan.get("type")
    if isinstance(content_type, str) and content_type and len(content_type) <= 256 \
            and content_type.isprintable():
        headers["content-type"] = content_type
    upload_id = results.upload_id(await page.caller.s3("POST", path, [("uploads", "")],
                                                       headers=headers))
    chunk = part_size(size)
    count = max(1, math.ceil(size / chunk))
    urls = [page.caller.presign("PUT", path, [("partNumber", str(n)), ("uploadId", upload_id)],
                                expires=URL_SECONDS, for_page=True)
            for n in range(1, count + 1)]
    return _json({"uploadId": upload_id, "partSize": chunk, "parts": urls})


async def complete(page: Page) -> Response:
    plan = _plan(page)
    upload_id, parts = plan.get("uploadId"), plan.get("parts")
    if not isinstance(upload_id, str) or not isinstance(parts, list) or not parts \
            or len(parts) > MAX_PARTS:
        raise BadForm("uploadId and parts are required.")
    lines = []
    for number, part in enumerate(parts, start=1):
        if not isinstance(part, str) or len(part) > 128:
            raise BadForm("Each part is its ETag, in part-number order.")
        lines.append(f"<Part><PartNumber>{number}</PartNumber><ETag>{escape(part)}</ETag></Part>")
    body = ("<CompleteMultipartUpload>" + "".join(lines) + "</CompleteMultipartUpload>").encode()
    answer = await page.caller.s3("POST", encode_path(plan["bucket"], plan["key"]),
                                  [("uploadId", upload_id)], body=body)
    results.checked(answer)
    if b"<Error>" in answer.body:  # S3 may answer 200 and then an error
        raise results.Refused(results.refusal(answer))
    return _json({"done": True})


async def abort(page: Page) -> Response:
    plan = _plan(page)
    upload_id = plan.get("uploadId")
    if not isinstance(upload_id, str):
        raise BadForm("uploadId is required.")
    await page.caller.s3("DELETE", encode_path(plan["bucket"], plan["key"]),
                         [("uploadId", upload_id)])
    return _json({"aborted": True})


def _json(value: dict[str, Any]) -> Response:
    return json_answer(200, json.dumps(value).encode())
