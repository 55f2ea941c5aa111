"""A signed-in console session as plain HTTP, for the console's tests."""

from __future__ import annotations

import re

import requests

from sealbox.testing.server import RunningServer

CONSOLE = "/_sealbox/console/"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


class Console:
    """A signed-in browser session, as plain HTTP."""

    def __init__(self, server: RunningServer, access_key: str, secret_key: str) -> None:
        self.base = server.endpoint + CONSOLE
        self.http = requests.Session()
        signed = self.http.post(self.base + "signin", allow_redirects=False,
                                data={"access_key": access_key, "secret_key": secret_key})
        assert signed.status_code == 303, signed.text[:300]
        found = _CSRF.search(self.http.get(self.base + "activity").text)
        assert found is not None
        self.csrf = found.group(1)

    def get(self, path: str, **query: str) -> requests.Response:
        return self.http.get(self.base + path, params=query, allow_redirects=False)

    def post(self, path: str, **form: str) -> requests.Response:
        return self.http.post(self.base + path, data={"csrf": self.csrf, **form},
                              allow_redirects=False)
