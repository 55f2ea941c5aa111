"""The console's Doctor page over the signature doctor's API: a pasted
link's verdict and each cause in plain words; a request id the doctor does
not know is its own refusal, not "unavailable"; bad input is a 400."""

from __future__ import annotations

import time
import uuid

import requests

from tests.integration.console_client import Console


def test_the_page_words_the_doctors_verdict(server, s3) -> None:
    console = Console(server, server.access_key, server.secret_key)
    form = console.get("doctor")
    assert form.status_code == 200 and 'for="doctor_link">Link or request id<' in form.text
    bucket = f"doctor-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a b.txt", Body=b"text")
    good = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a b.txt"})
    valid = console.post("doctor", link=good, method="GET")
    assert valid.status_code == 200 and "The link is valid" in valid.text
    brief = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a b.txt"},
                                      ExpiresIn=1)
    time.sleep(2.1)
    assert requests.get(brief, timeout=30).status_code == 403
    expired = console.post("doctor", link=brief, method="GET")
    assert expired.status_code == 200 and "The link fails" in expired.text
    assert "The link has expired." in expired.text and "(Expired)" in expired.text
    assert brief.replace("&", "&amp;") in expired.text  # kept, to try again
    unknown = console.post("doctor", link="SB00000000000000AA")
    assert unknown.status_code == 404 and "NoSuchRequest" in unknown.text
    assert "The doctor is not available on this server." not in unknown.text
    assert console.post("doctor", link=good, method="TRACE").status_code == 400
    assert console.post("doctor", link="x" * 20_000).status_code == 400
