"""The console's Doctor page against a server without the doctor (the
admin API answers its path 404): the page says so, plainly, and keeps
what was pasted; a link is never a 500."""

from __future__ import annotations

import uuid

from tests.integration.console_client import Console


def test_the_page_says_the_doctor_is_not_available_when_the_api_has_no_such_path(
        server, s3) -> None:
    console = Console(server, server.access_key, server.secret_key)
    form = console.get("doctor")
    assert form.status_code == 200 and 'for="doctor_link">Link or request id<' in form.text
    bucket = f"doctor-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    link = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a b.txt"})
    answered = console.post("doctor", link=link, method="GET")
    assert answered.status_code == 200
    assert "The doctor is not available on this server." in answered.text
    assert link.replace("&", "&amp;") in answered.text  # kept, to try again later
    by_id = console.post("doctor", link="SB00000000000000AA")
    assert "The doctor is not available on this server." in by_id.text
    assert console.post("doctor", link=link, method="TRACE").status_code == 400
    assert console.post("doctor", link="x" * 20_000).status_code == 400
