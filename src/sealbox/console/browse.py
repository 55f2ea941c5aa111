"""Buckets and objects: the bucket list, a prefix's folders and objects
page by page, an object's details, download, delete and create.

Every read and change is an S3 request as the principal (``calls``): the
listing is ListObjectsV2 with ``/`` as delimiter, one page of
``PAGE_SIZE`` at a time by continuation token (the store reads one index
range per page, so a prefix of 100 000 objects costs what a small one
does).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sealbox.console import results
from sealbox.console.calls import encode_path
from sealbox.console.page import BadForm, Page, url
from sealbox.console.render import redirect
from sealbox.server.responses import Response

PAGE_SIZE = 200
DOWNLOAD_SECONDS = 300
_SHOWN_HEADERS = ("content-type", "content-length", "etag", "last-modified", "cache-control",
                  "content-disposition", "content-encoding", "content-language", "expires",
                  "x-amz-storage-class", "x-amz-version-id")


def crumbs(bucket: str, prefix: str) -> list[tuple[str, str]]:
    """The breadcrumbs of a prefix: (label, URL) from the bucket down."""
    out = [(bucket, url("bucket", name=bucket))]
    walked = ""
    for part in prefix.split("/")[:-1] if prefix else []:
        walked += part + "/"
        out.append((part or "/", url("bucket", name=bucket, prefix=walked)))
    return out


async def bucket_list(page: Page) -> Response:
    answer = await page.caller.s3("GET", "/")
    if not answer.ok:
        # A user allowed into some buckets but not to list them all still
        # gets a way in: the refusal, and a field to name the bucket.
        refusal = results.refusal(answer)
        return page.render("buckets.html", refusal.status, buckets=[], refusal=refusal)
    return page.render("buckets.html", buckets=results.buckets(answer), refusal=None)


async def create_bucket(page: Page) -> Response:
    name = page.required("name").strip()
    results.checked(await page.caller.s3("PUT", encode_path(name)))
    return redirect(url("bucket", name=name))


async def bucket_page(page: Page) -> Response:
    bucket = page.required("name")
    prefix = page.arg("prefix")
    query = [("list-type", "2"), ("delimiter", "/"), ("max-keys", str(PAGE_SIZE))]
    if prefix:
        query.append(("prefix", prefix))
    token = page.arg("token")
    if token:
        query.append(("continuation-token", token))
    found = results.listing(await page.caller.s3("GET", encode_path(bucket), query))
    return page.render("bucket.html", bucket=bucket, prefix=prefix, listing=found,
                       crumbs=crumbs(bucket, prefix), token=token,
                       next_url=found.next_token and url("bucket", name=bucket, prefix=prefix,
                                                         token=found.next_token),
                       url=url)


async def create_folder(page: Page) -> Response:
    bucket = page.required("bucket")
    prefix = page.arg("prefix")
    name = page.required("name").strip("/")
    if not name:
        raise BadForm("A folder needs a name.")
    folder = f"{prefix}{name}/"
    results.checked(await page.caller.s3("PUT", encode_path(bucket, folder)))
    return redirect(url("bucket", name=bucket, prefix=folder))


async def object_page(page: Page) -> Response:
    bucket, key = page.required("bucket"), page.required("key")
    path = encode_path(bucket, key)
    head = results.checked(await page.caller.s3("HEAD", path,
                                                headers={"x-amz-checksum-mode": "ENABLED"}))
    tagging = await page.caller.s3("GET", path, [("tagging", "")])
    tags = results.tags(tagging) if tagging.ok else []
    headers = head.headers
    metadata = sorted((n[len("x-amz-meta-"):], v) for n, v in headers.items()
                      if n.startswith("x-amz-meta-"))
    checksums = sorted((n[len("x-amz-checksum-"):].upper(), v) for n, v in headers.items()
                       if n.startswith("x-amz-checksum-") and n != "x-amz-checksum-type")
    shown = [(n, headers[n]) for n in _SHOWN_HEADERS if n in headers]
    links = await _links_of(page, bucket, key)
    prefix = key[:key.rfind("/") + 1]
    return page.render("object.html", bucket=bucket, key=key,
                       size=int(headers.get("content-length", "0") or 0), fields=shown,
                       metadata=metadata, tags=tags, checksums=checksums, links=links,
                       crumbs=crumbs(bucket, prefix), url=url, link_error=None)


async def _links_of(page: Page, bucket: str, key: str | None) -> list[dict[str, object]] | None:
    """The managed links of a bucket (or one object of it); None when the
    principal may not list links."""
    answer = await page.caller.admin("GET", "/_sealbox/api/v1/links", [("Bucket", bucket)])
    if not answer.ok:
        return None
    links: list[dict[str, object]] = answer.json().get("Links", [])
    return [link for link in links if key is None or link.get("Key") == key]


async def download(page: Page) -> Response:
    """A presigned GET for the principal, valid five minutes; the browser
    fetches the object from S3 itself (ranges, resumes, no copy here)."""
    bucket, key = page.required("bucket"), page.required("key")
    name = key.rsplit("/", 1)[-1] or "download"
    disposition = "attachment; filename*=UTF-8''" + urlsplit(
        encode_path("x", name)).path[3:]
    signed = page.caller.presign("GET", encode_path(bucket, key),
                                 [("response-content-disposition", disposition)],
                                 expires=DOWNLOAD_SECONDS)
    return redirect(signed)


async def confirm_delete(page: Page) -> Response:
    bucket, key = page.required("bucket"), page.required("key")
    prefix = key[:key.rfind("/") + 1]
    return page.render("delete.html", bucket=bucket, key=key, crumbs=crumbs(bucket, prefix),
                       url=url)


async def delete(page: Page) -> Response:
    bucket, key = page.required("bucket"), page.required("key")
    results.checked(await page.caller.s3("DELETE", encode_path(bucket, key)))
    return redirect(url("bucket", name=bucket, prefix=key[:key.rfind("/") + 1]))
