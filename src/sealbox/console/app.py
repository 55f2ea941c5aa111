"""The console's front: routes under ``/_sealbox/console/``, sign-in and
sign-out, the session on every other page, and CSRF on every change.

A page is GET (reads) or POST (changes). A POST must carry the session's
CSRF token (the ``csrf`` field, or the ``X-CSRF-Token`` header from the
page's script) and, when the browser says where it comes from, an
``Origin`` of this host: else 403, and nothing changes. A request without a
live session is sent to the sign-in page (GET) or refused (POST).

Sessions are rows of the metadata store keyed by the hash of a random id
(``store.sql.sessions``), not signed cookies: every node sharing the store
knows them, and signing out (or an expiry) ends one everywhere at once,
which a signed cookie, valid until its own expiry, cannot promise.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sealbox.api.common.context import Services
from sealbox.auth.principal import Credential
from sealbox.console import (
    access,
    activity,
    browse,
    bucket_settings,
    doctor,
    edge,
    policies,
    render,
    share,
    uploads,
)
from sealbox.console import sessions as S
from sealbox.console.calls import Caller, Dispatch
from sealbox.console.page import MAX_FORM, BadForm, Page
from sealbox.console.results import Refused
from sealbox.console.throttle import SignInThrottle
from sealbox.errors import S3Error
from sealbox.server.request import ClientDisconnected, Request
from sealbox.server.responses import Response
from sealbox.store.sql.sessions import SessionRow

log = logging.getLogger("sealbox.console")

PREFIX = render.PREFIX
SIGN_IN = PREFIX + "signin"
# path → (method → handler); every handler takes a Page.
ROUTES: dict[str, dict[str, Any]] = {
    "": {"GET": browse.bucket_list},
    "buckets": {"POST": browse.create_bucket},
    "bucket": {"GET": browse.bucket_page},
    "folder": {"POST": browse.create_folder},
    "object": {"GET": browse.object_page},
    "download": {"GET": browse.download},
    "delete": {"GET": browse.confirm_delete, "POST": browse.delete},
    "links": {"GET": share.links_page, "POST": share.create},
    "links/revoke": {"POST": share.revoke},
    "activity": {"GET": activity.activity_page},
    "bucket/settings": {"GET": bucket_settings.settings_page},
    "bucket/policy": {"POST": bucket_settings.put_policy},
    "bucket/public-access": {"POST": bucket_settings.put_block},
    "bucket/cors": {"POST": bucket_settings.put_cors},
    "access": {"GET": access.overview},
    "access/users": {"POST": access.create_user},
    "access/user": {"GET": access.user_page},
    "access/user/delete": {"GET": access.confirm_delete_user, "POST": access.delete_user},
    "access/keys": {"POST": access.create_key},
    "access/key/status": {"POST": access.key_status},
    "access/key/delete": {"GET": access.confirm_delete_key, "POST": access.delete_key},
    "access/groups": {"POST": access.create_group},
    "access/group": {"GET": access.group_page},
    "access/group/members": {"POST": access.add_member},
    "access/group/members/remove": {"POST": access.remove_member},
    "access/group/delete": {"GET": access.confirm_delete_group, "POST": access.delete_group},
    "access/policies": {"GET": policies.editor, "POST": policies.create},
    "access/policy": {"GET": policies.policy_page},
    "access/policy/delete": {"GET": policies.confirm_delete, "POST": policies.delete},
    "access/attach": {"POST": policies.attach},
    "access/inline": {"GET": policies.inline_editor, "POST": policies.put_inline},
    "access/inline/delete": {"POST": policies.delete_inline},
    "access/detach": {"POST": policies.detach},
    "doctor": {"GET": doctor.doctor_page, "POST": doctor.diagnose},
    "edge": {"GET": edge.overview},
    "edge/public-keys": {"POST": edge.create_public_key},
    "edge/key-groups": {"POST": edge.create_key_group},
    "edge/oacs": {"POST": edge.create_oac},
    "edge/distributions": {"POST": edge.create_distribution},
    "edge/distribution": {"GET": edge.distribution_page},
    "edge/distribution/enabled": {"POST": edge.set_enabled},
    "edge/invalidations": {"POST": edge.invalidate},
    "edge/delete": {"GET": edge.confirm_delete, "POST": edge.delete},
    "access/public-access": {"GET": bucket_settings.account_page,
                             "POST": bucket_settings.put_account_block},
    "api/uploads": {"POST": uploads.start},
    "api/uploads/complete": {"POST": uploads.complete},
    "api/uploads/abort": {"POST": uploads.abort},
    "signout": {"POST": None},  # answered here: it ends the session itself
}


class Console:
    """The console, over the app's services; ``dispatch`` is the app itself
    (the console's requests go through it, as the principal: ``calls``)."""

    def __init__(self, services: Services, dispatch: Dispatch) -> None:
        self._services = services
        self._dispatch = dispatch
        self._throttle = SignInThrottle()

    def _now(self) -> int:
        return int(self._services.clock.now().timestamp())

    async def __call__(self, request: Request, request_id: str,
                       s3_port: int | None = None) -> Response:
        """One console request; ``s3_port``: the request came on the
        console's own port, and S3 (links, downloads) is on this one."""
        try:
            return await self._answer(request, s3_port)
        except ClientDisconnected:
            raise
        except BadForm as error:
            if request.raw_path.startswith(PREFIX + "api/"):  # the page's script reads JSON
                return render.json_answer(400, json.dumps(
                    {"error": {"code": "InvalidRequest", "message": str(error)}}).encode())
            return render.page("message.html", 400, title="Bad request", message=str(error))
        except Exception:
            log.exception("console request %s failed", request_id)
            return render.page("message.html", 500, title="Something went wrong",
                               message=f"The console failed (request {request_id}); the "
                               "server's log says why.")

    async def _answer(self, request: Request, s3_port: int | None) -> Response:
        path = request.raw_path.split("?", 1)[0]
        if not path.startswith(PREFIX):  # /_sealbox/console without its slash
            return render.redirect(PREFIX)
        name = path[len(PREFIX):]
        request.audit.operation = "Console"
        if name.startswith("static/"):
            found = render.static(name[len("static/"):])
            return found or render.page("message.html", 404, title="Not found",
                                        message="No such file.")
        if name == "signin":
            return await self._sign_in(request)
        routes = ROUTES.get(name)
        if routes is None:
            return render.page("message.html", 404, title="Not found",
                               message="The console has no such page.")
        if request.method not in routes:
            return render.page("message.html", 405, title="Method not allowed",
                               message="This page does not answer that method.",
                               headers=[("allow", ", ".join(routes))])
        found_session = await self._session(request)
        if found_session is None:
            if request.method == "GET":
                return render.redirect(SIGN_IN)
            return render.page("message.html", 403, title="Signed out",
                               message="Your session has ended; sign in again.")
        session, credential = found_session
        page = Page(request, session, Caller(self._dispatch, request, credential,
                                            self._services.settings.region,
                                            self._services.clock, s3_port),
                    credential.principal.arn)
        request.audit.principal = credential.principal.arn
        if request.method == "POST":
            refused = await self._read_change(page)
            if refused is not None:
                return refused
        if name == "signout":
            return await self._sign_out(request, session)
        try:
            return await routes[request.method](page)  # type: ignore[no-any-return]
        except Refused as error:
            if name.startswith("api/"):
                r = error.refusal
                return render.json_answer(r.status, json.dumps(
                    {"error": {"code": r.code, "message": r.message}}).encode())
            return page.refused(error.refusal)

    async def _read_change(self, page: Page) -> Response | None:
        """Read a POST's body (capped) and check its CSRF token and origin;
        the 403 page when they fail."""
        request = page.request
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != page.caller.page_host:
            return _forbidden("The request came from another site.")
        body = await _read_body(request)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                page.form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                           max_num_fields=100))
            except (UnicodeDecodeError, ValueError):
                raise BadForm("The form is not valid UTF-8 form data.") from None
        page.body = body
        token = page.form.get("csrf") or request.headers.get("x-csrf-token")
        if not S.csrf_matches(page.session.session_id, token):
            request.audit.error_code = "InvalidCsrfToken"
            return _forbidden("The form's CSRF token is missing or wrong; reload the page and "
                              "try again.")
        return None

    async def _session(self, request: Request) -> tuple[S.Session, Credential] | None:
        """The live session the cookie names, with its key's credential."""
        session_id = S.cookie_value(request.headers.get("cookie"))
        if session_id is None:
            return None
        meta: Any = self._services.meta  # with store.sql.sessions' methods
        key_hash = S.id_hash(session_id)
        row = await self._services.run(meta.get_console_session, key_hash)
        now = self._now()
        if row is None or not S.is_live(row.created, row.seen, now):
            return None
        credential = await self._credential(row.access_key)
        if credential is None or not credential.active:
            return None  # the key was deleted or disabled: the session ends with it
        if now - row.seen >= S.TOUCH_EVERY:
            await self._services.run(meta.touch_console_session, key_hash, now)
        return S.Session(session_id, row.access_key, row.created, now), credential

    async def _credential(self, access_key: str) -> Credential | None:
        gate = self._services.gate
        assert gate is not None, "the app sets the gate"
        return await self._services.run(gate.lookup_credential, access_key)

    async def _sign_in(self, request: Request) -> Response:
        secure = request.secure
        if request.method == "GET":
            return render.page("signin.html", error=None, access_key="")
        if request.method != "POST":
            return render.page("message.html", 405, title="Method not allowed",
                               message="Sign in with the form.", headers=[("allow", "GET, POST")])
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            return _forbidden("The request came from another site.")
        address = request.client_ip or request.client
        wait = self._throttle.wait(address, self._now())
        if wait:
            request.audit.error_code = "SignInThrottled"
            minutes = (wait + 59) // 60
            return render.page("signin.html", 429, access_key="",
                               headers=[("retry-after", str(wait))],
                               error=f"Too many failed sign-ins from your address; try again "
                               f"in {minutes} minute{'s' if minutes > 1 else ''}.")
        body = await _read_body(request)
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                  max_num_fields=10))
        except (UnicodeDecodeError, ValueError):
            raise BadForm("The form is not valid UTF-8 form data.") from None
        access_key = form.get("access_key", "").strip()[:128]
        secret = form.get("secret_key", "")[:256]
        credential = await self._credential(access_key) if access_key else None
        expected = credential.secret_key if credential is not None else None
        if not S.secrets_match(expected, secret) or credential is None or not credential.active:
            self._throttle.failed(address, self._now())
            request.audit.error_code = "SignInFailed"
            request.audit.reason = "the console sign-in named an unknown, inactive or " \
                "mismatched key"
            return render.page("signin.html", 403, access_key=access_key,
                               error="That access key and secret key do not match an active "
                               "key.")
        self._throttle.succeeded(address)
        now = self._now()
        session_id = S.new_session_id()
        meta: Any = self._services.meta
        await self._services.run(meta.sweep_console_sessions, now - S.IDLE_SECONDS,
                                 now - S.ABSOLUTE_SECONDS)
        await self._services.run(meta.insert_console_session,
                                 SessionRow(S.id_hash(session_id), credential.access_key, now, now))
        request.audit.principal = credential.principal.arn
        return render.redirect(PREFIX, [("set-cookie", S.set_cookie(session_id, secure))])

    async def _sign_out(self, request: Request, session: S.Session) -> Response:
        meta: Any = self._services.meta
        await self._services.run(meta.delete_console_session, S.id_hash(session.session_id))
        return render.redirect(SIGN_IN, [("set-cookie", S.clear_cookie(request.secure))])


def _forbidden(message: str) -> Response:
    return render.page("message.html", 403, title="Refused", message=message)


async def _read_body(request: Request) -> bytes:
    try:
        declared = request.content_length()
        if declared is not None and declared > MAX_FORM:
            raise BadForm(f"The form is larger than {MAX_FORM} bytes.")
        return await request.read(MAX_FORM)
    except S3Error:
        raise BadForm(f"The form is larger than {MAX_FORM} bytes.") from None
