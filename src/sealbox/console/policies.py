"""Managed policies: the JSON editor, a policy's document, delete, and
attaching one to a user or a group.

The editor does not judge a document itself: it sends the text as written
(CreatePolicy through the admin API), so the server's own grammar decides,
and a refusal (``MalformedPolicyDocument`` and why) is shown above the
text, kept as typed, to fix and send again.
"""

from __future__ import annotations

import json

from sealbox.console import results
from sealbox.console.access import api_path, change, read
from sealbox.console.page import BadForm, Page, url
from sealbox.console.render import redirect
from sealbox.server.responses import Response

MAX_DOCUMENT = 64 * 1024  # above IAM's own limits (6 144 characters managed)
STARTER = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket/*"]}]},
    indent=2)
OWNERS = {"user": "users", "group": "groups"}


async def editor(page: Page) -> Response:
    return page.render("policy_editor.html", name="", description="", document=STARTER,
                       refusal=None, url=url)


async def create(page: Page) -> Response:
    name = page.required("name").strip()
    document = page.required("document")
    if len(document) > MAX_DOCUMENT:
        raise BadForm(f"A policy document is at most {MAX_DOCUMENT} characters.")
    payload = {"PolicyName": name, "PolicyDocument": document}
    description = page.arg("description").strip()
    if description:
        payload["Description"] = description
    answer = await page.caller.admin("POST", api_path("policies"), payload=payload)
    if not answer.ok:
        refusal = results.refusal(answer)
        return page.render("policy_editor.html", refusal.status if refusal.status >= 400
                           else 502, name=name, description=description, document=document,
                           refusal=refusal, url=url)
    return redirect(url("access/policy", arn=answer.json()["Policy"]["Arn"]))


async def policy_page(page: Page) -> Response:
    arn = page.required("arn")
    policy = (await read(page, "policies", arn))["Policy"]
    document = policy.get("PolicyDocument")
    text = document if isinstance(document, str) else json.dumps(document, indent=2)
    return page.render("policy.html", policy=policy, document=text, url=url)


async def confirm_delete(page: Page) -> Response:
    arn = page.required("arn")
    return page.render("confirm.html", title="Delete a policy",
                       question=f"Delete the policy {arn}? (IAM refuses while it is "
                       "attached.)", action="access/policy/delete", fields={"arn": arn},
                       cancel=url("access/policy", arn=arn))


async def delete(page: Page) -> Response:
    await change(page, "DELETE", "policies", page.required("arn"))
    return redirect(url("access"))


def _owner(page: Page) -> tuple[str, str]:
    kind = page.required("kind")
    if kind not in OWNERS:
        raise BadForm("A policy is attached to a user or a group.")
    return kind, page.required("owner")


async def attach(page: Page) -> Response:
    kind, owner = _owner(page)
    arn = page.required("policy").strip()
    await change(page, "POST", OWNERS[kind], owner, "attached-policies",
                 payload={"PolicyArn": arn})
    return redirect(url(f"access/{kind}", name=owner))


async def detach(page: Page) -> Response:
    kind, owner = _owner(page)
    # The ARN is the path's last part: api_path sends its "/" as %2F, which
    # the admin API's route decodes back into the ARN.
    await change(page, "DELETE", OWNERS[kind], owner, "attached-policies",
                 page.required("policy"))
    return redirect(url(f"access/{kind}", name=owner))


async def inline_editor(page: Page) -> Response:
    """An inline policy of a user or a group: a new one, or one to change."""
    kind, owner = _owner(page)
    name = page.arg("name")
    document = STARTER
    if name:
        found = await read(page, OWNERS[kind], owner, "policies", name)
        stored = found.get("PolicyDocument")
        document = stored if isinstance(stored, str) else json.dumps(stored, indent=2)
    return page.render("inline_policy.html", kind=kind, owner=owner, name=name,
                       document=document, refusal=None, url=url)


async def put_inline(page: Page) -> Response:
    """PutUserPolicy or PutGroupPolicy with the text as typed; IAM's refusal
    shown above it."""
    kind, owner = _owner(page)
    name = page.required("name").strip()
    document = page.required("document")
    if len(document) > MAX_DOCUMENT:
        raise BadForm(f"A policy document is at most {MAX_DOCUMENT} characters.")
    answer = await page.caller.admin("PUT", api_path(OWNERS[kind], owner, "policies", name),
                                     payload={"PolicyDocument": document})
    if not answer.ok:
        refusal = results.refusal(answer)
        return page.render("inline_policy.html", refusal.status if refusal.status >= 400
                           else 502, kind=kind, owner=owner, name=name, document=document,
                           refusal=refusal, url=url)
    return redirect(url(f"access/{kind}", name=owner))


async def delete_inline(page: Page) -> Response:
    kind, owner = _owner(page)
    await change(page, "DELETE", OWNERS[kind], owner, "policies", page.required("name"))
    return redirect(url(f"access/{kind}", name=owner))
