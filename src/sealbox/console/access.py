"""Access: IAM users, their access keys, groups and their members, and
which managed policies each has.

Every read and change is an admin API request as the signed-in principal
(``/_sealbox/api/v1/users…``, ``groups…``), which runs IAM's own
operations: a principal without ``iam:*`` rights sees IAM's refusal. A new
key's secret is in the answer to CreateAccessKey only; the console shows it
once, in that answer's page, and keeps it nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sealbox.console import results
from sealbox.console.page import BadForm, Page, url
from sealbox.console.render import redirect
from sealbox.console.results import Refusal
from sealbox.server.responses import Response

API = "/_sealbox/api/v1/"


@dataclass(frozen=True)
class Section:
    items: list[Any]
    refusal: Refusal | None
KEY_STATUSES = ("Active", "Inactive")


def api_path(*parts: str) -> str:
    """An admin API path, each name percent-encoded (an IAM name never
    holds ``/``, but the path sent must be the path signed)."""
    return API + "/".join(quote(part, safe="") for part in parts)


async def read(page: Page, *parts: str, query: list[tuple[str, str]] | None = None) -> Any:
    """A GET of the admin API, its JSON; ``Refused`` when it fails."""
    return results.checked(await page.caller.admin("GET", api_path(*parts), query or [])).json()


async def change(page: Page, method: str, *parts: str,
                 payload: dict[str, Any] | None = None) -> Any:
    return results.checked(await page.caller.admin(method, api_path(*parts),
                                                   payload=payload)).json()


async def section(page: Page, member: str, *parts: str,
                  query: list[tuple[str, str]] | None = None) -> Section:
    """One list of a page that has several: its items, or its refusal, so a
    principal allowed some lists but not others sees what it may."""
    answer = await page.caller.admin("GET", api_path(*parts), query or [])
    if not answer.ok:
        return Section([], results.refusal(answer))
    found = answer.json().get(member) or []
    return Section(found.get("Items") or [] if isinstance(found, dict) else found, None)


async def overview(page: Page) -> Response:
    """Users, groups and the account's own managed policies (the first 1000
    of each: IAM's largest page)."""
    most = [("MaxItems", "1000")]
    users = await section(page, "Users", "users", query=most)
    groups = await section(page, "Groups", "groups", query=most)
    policies = await section(page, "Policies", "policies", query=[("Scope", "Local"), *most])
    if users.refusal and groups.refusal and policies.refusal:
        raise results.Refused(users.refusal)  # nothing here for this principal
    return page.render("access.html", users=users, groups=groups, policies=policies, url=url)


async def create_user(page: Page) -> Response:
    name = page.required("name").strip()
    await change(page, "POST", "users", payload={"UserName": name})
    return redirect(url("access/user", name=name))


async def user_page(page: Page) -> Response:
    name = page.required("name")
    user = (await read(page, "users", name))["User"]
    keys = (await read(page, "users", name, "access-keys"))["AccessKeyMetadata"]
    groups = (await read(page, "users", name, "groups"))["Groups"]
    attached = (await read(page, "users", name, "attached-policies"))["AttachedPolicies"]
    inline = (await read(page, "users", name, "policies"))["PolicyNames"]
    return page.render("user.html", user=user, keys=keys, groups=groups, attached=attached,
                       inline=inline, url=url)


async def create_key(page: Page) -> Response:
    """The new key and its secret, shown once: this answer is never cached
    (``no-store``) and the secret is in no link, cookie or storage."""
    name = page.required("user")
    key = (await change(page, "POST", "users", name, "access-keys"))["AccessKey"]
    return page.render("key_created.html", user=name, key=key, url=url)


async def key_status(page: Page) -> Response:
    name, key_id, status = page.required("user"), page.required("key"), page.required("status")
    if status not in KEY_STATUSES:
        raise BadForm("Status is Active or Inactive.")
    await change(page, "PATCH", "users", name, "access-keys", key_id, payload={"Status": status})
    return redirect(url("access/user", name=name))


async def confirm_delete_key(page: Page) -> Response:
    name, key_id = page.required("user"), page.required("key")
    return page.render("confirm.html", title="Delete an access key",
                       question=f"Delete access key {key_id} of {name}? Requests signed with "
                       "it fail from now on; this cannot be undone.",
                       action="access/key/delete", fields={"user": name, "key": key_id},
                       cancel=url("access/user", name=name))


async def delete_key(page: Page) -> Response:
    name, key_id = page.required("user"), page.required("key")
    await change(page, "DELETE", "users", name, "access-keys", key_id)
    return redirect(url("access/user", name=name))


async def confirm_delete_user(page: Page) -> Response:
    name = page.required("name")
    return page.render("confirm.html", title="Delete a user",
                       question=f"Delete the user {name}? (IAM refuses while it still has "
                       "keys, policies or groups.)", action="access/user/delete",
                       fields={"name": name}, cancel=url("access/user", name=name))


async def delete_user(page: Page) -> Response:
    await change(page, "DELETE", "users", page.required("name"))
    return redirect(url("access"))


async def create_group(page: Page) -> Response:
    name = page.required("name").strip()
    await change(page, "POST", "groups", payload={"GroupName": name})
    return redirect(url("access/group", name=name))


async def group_page(page: Page) -> Response:
    name = page.required("name")
    found = await read(page, "groups", name, query=[("MaxItems", "1000")])
    attached = (await read(page, "groups", name, "attached-policies"))["AttachedPolicies"]
    inline = (await read(page, "groups", name, "policies"))["PolicyNames"]
    return page.render("group.html", group=found["Group"], members=found.get("Users", []),
                       attached=attached, inline=inline, url=url)


async def add_member(page: Page) -> Response:
    group, user = page.required("group"), page.required("user").strip()
    await change(page, "PUT", "groups", group, "users", user)
    return redirect(url("access/group", name=group))


async def remove_member(page: Page) -> Response:
    group, user = page.required("group"), page.required("user")
    await change(page, "DELETE", "groups", group, "users", user)
    return redirect(url("access/group", name=group))


async def confirm_delete_group(page: Page) -> Response:
    name = page.required("name")
    return page.render("confirm.html", title="Delete a group",
                       question=f"Delete the group {name}? (IAM refuses while it still has "
                       "members or policies.)", action="access/group/delete",
                       fields={"name": name}, cancel=url("access/group", name=name))


async def delete_group(page: Page) -> Response:
    await change(page, "DELETE", "groups", page.required("name"))
    return redirect(url("access"))
