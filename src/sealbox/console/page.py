"""What a console page handler is given (``Page``), and the helpers every
page uses: form and query values, rendering with the session's names, and
a refusal shown as a page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sealbox.console import render
from sealbox.console.calls import Caller
from sealbox.console.results import Refusal
from sealbox.console.sessions import Session
from sealbox.server.request import Request
from sealbox.server.responses import Response

# A form holds names and a note; the largest body is an upload's list of
# parts (10 000 part numbers and ETags, ~600 KB).
MAX_FORM = 1024 * 1024


class BadForm(Exception):
    """A form or query the console cannot use; shown as a 400 page."""


@dataclass
class Page:
    """One request to a signed-in page."""

    request: Request
    session: Session
    caller: Caller
    principal: str  # the ARN, shown in the header
    form: dict[str, str] = field(default_factory=dict)  # a POST's fields
    body: bytes = b""  # a POST's body as sent (the upload JSON)

    def arg(self, name: str, default: str = "") -> str:
        """A query parameter (GET) or form field (POST)."""
        if name in self.form:
            return self.form[name]
        return self.request.query.get(name, default)

    def form_list(self, name: str) -> list[str]:
        """Every value of a repeated form field (checkboxes of one name)."""
        pairs = parse_qsl(self.body.decode("utf-8", "replace"), max_num_fields=1000)
        return [value for field_name, value in pairs if field_name == name and value]

    def required(self, name: str) -> str:
        value = self.arg(name)
        if not value:
            raise BadForm(f"{name} is required.")
        return value

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        return render.page(template, status, principal=self.principal,
                           csrf=self.session.csrf, **values)

    def refused(self, refusal: Refusal) -> Response:
        """The refusal, in a page of the console, with the server's status."""
        status = refusal.status if 400 <= refusal.status < 600 else 502
        return self.render("refused.html", status, refusal=refusal)


def url(path: str, **query: str | None) -> str:
    """A console URL with its query (empty values left out)."""
    pairs = {k: v for k, v in query.items() if v}
    return render.PREFIX + path + ("?" + urlencode(pairs) if pairs else "")
