"""The console's pure helpers: breadcrumbs, part sizes, sizes shown, and
templates escaping every value."""

from __future__ import annotations

from sealbox.console import render, uploads
from sealbox.console.browse import crumbs
from sealbox.console.results import ObjectEntry


def test_breadcrumbs_walk_the_prefix_from_the_bucket_down() -> None:
    assert crumbs("b", "") == [("b", "/_sealbox/console/bucket?name=b")]
    assert crumbs("b", "a/c d/") == [
        ("b", "/_sealbox/console/bucket?name=b"),
        ("a", "/_sealbox/console/bucket?name=b&prefix=a%2F"),
        ("c d", "/_sealbox/console/bucket?name=b&prefix=a%2Fc+d%2F"),
    ]


def test_part_size_keeps_every_upload_within_ten_thousand_parts() -> None:
    assert uploads.part_size(17 << 20) == uploads.MIN_PART
    for size in (1 << 30, 200 << 30, uploads.MAX_SIZE):
        part = uploads.part_size(size)
        assert part >= uploads.MIN_PART and part % (1 << 20) == 0
        assert -(-size // part) <= uploads.MAX_PARTS


def test_sizes_are_shown_in_binary_units() -> None:
    assert render.human_size(0) == "0 B"
    assert render.human_size(1023) == "1023 B"
    assert render.human_size(1536) == "1.5 KiB"
    assert render.human_size(40 << 20) == "40.0 MiB"


def test_templates_escape_names_and_metadata() -> None:
    from sealbox.console.results import Listing

    key = '<img src=x onerror=alert(1)>"\'\u202e'
    answer = render.page("bucket.html", principal="arn:<p>", csrf="t" * 64, bucket="b<b>",
                         prefix="", crumbs=[("b<b>", "/x")], token="", next_url=None,
                         url=lambda *a, **k: "/u?x=\"<", listing=Listing(
                             ["<script>/"], [ObjectEntry(key, 1, "now", "e")]))
    html = answer.body.decode()
    assert "<img src=x" not in html and "<script>/" not in html and "arn:<p>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;&#34;&#39;" in html
    assert ("content-security-policy", render.CSP) in answer.headers
