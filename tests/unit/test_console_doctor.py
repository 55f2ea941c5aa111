"""The doctor's page words the admin API's answer: each cause's headline,
the server's message, expected and got, every value escaped; a link or a
request id asked as the doctor's contract names them."""

from __future__ import annotations

from sealbox.console import render
from sealbox.console.doctor import HEADLINES, METHODS, causes, request_body

ANSWER = {"Verdict": "invalid", "Causes": [
    {"Code": "HostChanged", "Message": "Signed for 127.0.0.1:9000, arrived on proxy:80.",
     "Expected": "127.0.0.1:9000", "Got": "<script>alert(1)</script>"},
    {"Code": "SomethingNew", "Message": "A cause this console does not know yet."},
    "not a cause",
]}


def test_each_cause_gets_its_headline_and_unknown_codes_are_shown_as_they_are() -> None:
    found = causes(ANSWER)
    assert [(c.code, c.headline) for c in found] == [
        ("HostChanged", HEADLINES["HostChanged"]), ("SomethingNew", "")]
    assert found[1].expected == "" and found[1].got == ""
    assert causes({"Verdict": "valid"}) == [] and causes(["odd"]) == []


def test_the_verdict_page_escapes_what_the_server_says() -> None:
    page = render.page("doctor.html", principal="arn", csrf="0" * 64, text="https://x/<b>",
                       method="GET", methods=METHODS, verdict="invalid",
                       causes=causes(ANSWER), refusal=None, unavailable=False)
    html = page.body.decode()
    assert "The link fails" in html
    assert HEADLINES["HostChanged"] in html and "(SomethingNew)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "https://x/&lt;b&gt;" in html


def test_a_url_is_asked_with_its_method_and_anything_else_as_a_request_id() -> None:
    assert request_body("https://h/b/k?X-Amz-Signature=1", "PUT") == {
        "Url": "https://h/b/k?X-Amz-Signature=1", "Method": "PUT"}
    assert request_body("SB0000000000000001", "GET") == {"RequestId": "SB0000000000000001"}
