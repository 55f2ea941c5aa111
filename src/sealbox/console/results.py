"""S3's and the admin API's answers, read into what the pages show.

The XML is sealbox's own (``api/s3/xml``), read with the standard parser;
answers are capped in size where they are collected (``calls``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from sealbox.console.calls import Answer

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass(frozen=True)
class Refusal:
    """What an inner request was refused with: S3's or the admin API's code
    and message, and the HTTP status, shown to the user as they are."""

    status: int
    code: str
    message: str


class Refused(Exception):
    """An inner request failed; the page shows ``refusal``."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def refusal(answer: Answer) -> Refusal:
    """The error an answer carries (XML from S3, JSON from the admin API)."""
    code, message = "", ""
    content_type = answer.headers.get("content-type", "")
    try:
        if "json" in content_type:
            error = json.loads(answer.body).get("error", {})
            code, message = str(error.get("code", "")), str(error.get("message", ""))
        elif answer.body:
            root = ET.fromstring(answer.body)
            code = root.findtext("Code") or ""
            message = root.findtext("Message") or ""
    except (ValueError, ET.ParseError, AttributeError):
        pass
    if not code:
        code = {403: "AccessDenied", 404: "NotFound"}.get(answer.status, f"HTTP{answer.status}")
    return Refusal(answer.status, code, message or "The request was refused.")


def checked(answer: Answer) -> Answer:
    """``answer``, or ``Refused`` when it is an error."""
    if not answer.ok:
        raise Refused(refusal(answer))
    return answer


def _text(element: ET.Element, name: str) -> str:
    return element.findtext(_NS + name) or ""


@dataclass(frozen=True)
class BucketEntry:
    name: str
    created: str


def buckets(answer: Answer) -> list[BucketEntry]:
    root = ET.fromstring(checked(answer).body)
    return [BucketEntry(_text(b, "Name"), _text(b, "CreationDate"))
            for b in root.iter(_NS + "Bucket")]


@dataclass(frozen=True)
class ObjectEntry:
    key: str
    size: int
    modified: str
    etag: str


@dataclass(frozen=True)
class Listing:
    """One page of a prefix: its folders (common prefixes) and objects."""

    folders: list[str] = field(default_factory=list)
    objects: list[ObjectEntry] = field(default_factory=list)
    next_token: str | None = None


def listing(answer: Answer) -> Listing:
    root = ET.fromstring(checked(answer).body)
    folders = [_text(p, "Prefix") for p in root.iter(_NS + "CommonPrefixes")]
    objects = [ObjectEntry(_text(c, "Key"), int(_text(c, "Size") or 0),
                           _text(c, "LastModified"), _text(c, "ETag"))
               for c in root.iter(_NS + "Contents")]
    token = root.findtext(_NS + "NextContinuationToken") if (
        root.findtext(_NS + "IsTruncated") == "true") else None
    return Listing(folders, objects, token or None)


def tags(answer: Answer) -> list[tuple[str, str]]:
    root = ET.fromstring(checked(answer).body)
    return [(_text(t, "Key"), _text(t, "Value")) for t in root.iter(_NS + "Tag")]


def upload_id(answer: Answer) -> str:
    root = ET.fromstring(checked(answer).body)
    return _text(root, "UploadId")
