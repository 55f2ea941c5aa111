"""What ``sealbox admin`` and ``sealbox edge`` share: the admin JSON API's
client (where the server is, whose keys, SigV4 signing with sealbox's own
``auth.sigv4``, JSON in and out), the common options, and printing.

Credentials, first found wins: ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``; ``SEALBOX_ROOT_ACCESS_KEY`` /
``SEALBOX_ROOT_SECRET_KEY`` (what the server was started with); the
``root-credentials.json`` the server wrote in ``--data-dir`` (default
``./sealbox-data``), read only. Secrets are never taken as options (they
would show in ``ps`` and shell history) and never printed, but for the one
answer of ``key create``.

Every failure is an ``ApiError`` with one line to say (the server's error
code and message, or why the server could not be reached); ``sealbox``'s
``main`` prints it and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from sealbox.auth.sigv4 import canonical, keys
from sealbox.auth.sigv4.presign import host_header
from sealbox.cli.files import read_capped
from sealbox.config import DEFAULT_REGION, ROOT_CREDENTIALS_FILE

DEFAULT_ENDPOINT = "http://127.0.0.1:9000"
DEFAULT_DATA_DIR = "./sealbox-data"
API_PREFIX = "/_sealbox/api/v1/"
SERVICE = "sealbox"  # any name is accepted by the server; this one is documented
TIMEOUT = 30.0
MAX_ANSWER = 16 * 1024 * 1024
MAX_INPUT_FILE = 1024 * 1024  # the server's body cap


class ApiError(Exception):
    """One line saying what failed; ``code`` is the server's error code."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Answer:
    """A successful answer: status, JSON body (``{}`` when empty), headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


def find_credentials(data_dir: str | None,
                     env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The access key id and secret to sign with (see the module docstring)."""
    env = os.environ if env is None else env
    for access_name, secret_name in (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
                                     ("SEALBOX_ROOT_ACCESS_KEY", "SEALBOX_ROOT_SECRET_KEY")):
        access, secret = env.get(access_name), env.get(secret_name)
        if access and secret:
            return access, secret
    path = Path(data_dir or DEFAULT_DATA_DIR) / ROOT_CREDENTIALS_FILE
    try:
        stored = json.loads(path.read_text())
        return str(stored["access_key"]), str(stored["secret_key"])
    except FileNotFoundError:
        raise ApiError("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                       f"point --data-dir at the server's data directory ({path} is "
                       "missing)") from None
    except PermissionError:
        raise ApiError(f"no credentials: {path} is not readable by this user") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ApiError(f"no credentials: {path} is not a sealbox root-credentials file") from None


def sign(method: str, url: str, body: bytes, headers: Mapping[str, str], access_key: str,
         secret_key: str, region: str, now: datetime) -> dict[str, str]:
    """``headers`` plus ``Host``, ``X-Amz-Date`` and ``Authorization``: SigV4
    with service ``sealbox``, the payload line the body's SHA-256, every
    given header signed. ``url``'s path must be sent as written (``path``
    writes it in canonical form already)."""
    parts = urlsplit(url)
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    scope = f"{day}/{region}/{SERVICE}/{keys.TERMINATOR}"
    signed = {name.lower(): value for name, value in headers.items()}
    signed["host"] = host_header(url)
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    request = canonical.canonical_request(
        method, canonical.canonical_uri(parts.path), canonical.canonical_query(parts.query),
        canonical.canonical_headers(signed, names), names, hashlib.sha256(body).hexdigest())
    key = keys.signing_key(secret_key, day, region, SERVICE)
    signature = keys.sign(key, canonical.string_to_sign(amz_date, scope, request))
    out = dict(headers)
    out["Host"] = signed["host"]
    out["X-Amz-Date"] = amz_date
    out["Authorization"] = (f"{canonical.ALGORITHM} Credential={access_key}/{scope}, "
                            f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return out


def path(*segments: str) -> str:
    """An API path from its segments, each encoded whole (a ``/`` in a policy
    ARN becomes ``%2F``), in the form the server's canonical URI takes."""
    return API_PREFIX + "/".join(quote(s, safe="") for s in segments)


class AdminClient:
    """Calls to one server's admin API, signed with one key."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str,
                 region: str = DEFAULT_REGION, ca_bundle: str | None = None,
                 timeout: float = TIMEOUT) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiError(f"--endpoint-url {endpoint!r}: use http://HOST:PORT or "
                           "https://HOST:PORT")
        self.endpoint = endpoint.rstrip("/")
        self._access_key = access_key
        self._secret_key = secret_key
        self.region = region
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None

    def __repr__(self) -> str:
        return f"AdminClient({self.endpoint!r}, {self._access_key!r})"

    def call(self, method: str, api_path: str, body: Any = None,
             query: Mapping[str, str] | None = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        """Send one request; the answer, or ``ApiError``."""
        data = b"" if body is None else json.dumps(body).encode()
        url = self.endpoint + api_path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent = sign(method, url, data, sent, self._access_key, self._secret_key, self.region,
                    datetime.now(UTC))
        request = urllib.request.Request(url, data=data if body is not None else None,
                                         headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout,
                                        context=self._context) as response:
                return Answer(response.status, _json(response.read(MAX_ANSWER + 1)),
                              {k.lower(): v for k, v in response.headers.items()})
        except urllib.error.HTTPError as error:
            raise self._refused(error) from None
        except urllib.error.URLError as error:
            raise self._unreachable(error.reason) from None
        except (TimeoutError, OSError, http.client.HTTPException) as error:
            raise self._unreachable(error) from None

    def _refused(self, error: urllib.error.HTTPError) -> ApiError:
        """The server's refusal; a TLS port answers plain HTTP with a 400
        saying so (server/h1/tls_sniff), which becomes the hint to use https."""
        if error.code == 400 and urlsplit(self.endpoint).scheme == "http":
            body = error.read(64 * 1024)
            if b"The plain HTTP request was sent to HTTPS port" in body:
                return self._speaks_https()
            return _refusal(error, body)
        return _refusal(error)

    def _speaks_https(self) -> ApiError:
        parts = urlsplit(self.endpoint)
        return ApiError(f"{self.endpoint}: this port speaks HTTPS; use "
                        f"https://{parts.netloc} (with --ca-bundle CERT for a "
                        "self-signed certificate)")

    def _unreachable(self, reason: object) -> ApiError:
        """Why the server could not be reached, in one line. An ``http://``
        endpoint whose server hung up without answering is probed with a TLS
        handshake: a TLS port closes on plain HTTP, which urllib reports as
        "Remote end closed connection without response"."""
        parts = urlsplit(self.endpoint)
        hung_up = isinstance(reason, ConnectionError | http.client.HTTPException)
        if parts.scheme == "http" and hung_up and parts.hostname:
            port = parts.port or 80
            if speaks_tls(parts.hostname, port, min(self._timeout, 5.0)):
                return self._speaks_https()
        return ApiError(f"cannot reach the admin API at {self.endpoint}: {_reason(reason)}")

    def pages(self, api_path: str, member: str, query: Mapping[str, str] | None = None,
              *, cloudfront_list: str | None = None) -> Iterator[Any]:
        """Every item of a paged list: IAM's ``Marker``/``IsTruncated``, or
        CloudFront's (``cloudfront_list`` names the list member, which holds
        ``Items`` and ``NextMarker``)."""
        params = dict(query or {})
        while True:
            body = self.call("GET", api_path, query=params).body
            page = body.get(cloudfront_list, {}) if cloudfront_list else body
            yield from page.get(member, []) or []
            marker = page.get("NextMarker") if cloudfront_list else (
                page.get("Marker") if page.get("IsTruncated") else None)
            if not marker:
                return
            params["Marker"] = marker


def speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` completes a TLS handshake (any certificate: this
    only tells HTTPS from HTTP, nothing is sent over it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host):
            return True
    except (OSError, ValueError):
        return False


def _json(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_ANSWER:
        raise ApiError("the server's answer is larger than the CLI reads")
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except ValueError:
        raise ApiError("the server's answer is not JSON (is --endpoint-url a sealbox "
                       "server?)") from None
    return value if isinstance(value, dict) else {"value": value}


def _refusal(error: urllib.error.HTTPError, read: bytes | None = None) -> ApiError:
    try:
        body = json.loads((error.read(64 * 1024) if read is None else read) or b"{}")
        said = body["error"]
        code, message = str(said["code"]), str(said["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return ApiError(f"HTTP {error.code} from the server, without a sealbox error "
                        "(is --endpoint-url a sealbox server?)", status=error.code)
    return ApiError(f"{code}: {message}", code, error.code)


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def read_input_file(name: str, option: str) -> str:
    """A small text file named on the command line (``file://`` accepted)."""
    try:
        data = read_capped(name, option, MAX_INPUT_FILE,
                           f"larger than the {MAX_INPUT_FILE} bytes the server takes")
    except ValueError as error:
        raise ApiError(str(error)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(f"{option} {name}: not UTF-8 text") from None


def read_json_file(name: str, option: str) -> Any:
    text = read_input_file(name, option)
    try:
        return json.loads(text)
    except ValueError as error:
        raise ApiError(f"{option} {name}: not JSON ({error})") from None


# -- options and output ----------------------------------------------------------


def default_endpoint(env: Mapping[str, str]) -> str:
    """``$SEALBOX_ENDPOINT_URL``, else ``$AWS_ENDPOINT_URL`` (which the AWS CLI
    and SDKs read too, so one variable points every tool at sealbox), else
    ``http://127.0.0.1:9000``."""
    return env.get("SEALBOX_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT


def common_options() -> argparse.ArgumentParser:
    """The options every admin and edge command takes (an argparse parent)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--endpoint-url", default=default_endpoint(os.environ), metavar="URL",
                        help="the sealbox server (default $SEALBOX_ENDPOINT_URL, else "
                             f"$AWS_ENDPOINT_URL, else {DEFAULT_ENDPOINT})")
    parent.add_argument("--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR",
                        help="read root credentials from DIR/root-credentials.json when "
                             "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set "
                             f"(default {DEFAULT_DATA_DIR})")
    parent.add_argument("--region", default=os.environ.get("SEALBOX_REGION", DEFAULT_REGION),
                        help="the server's region, which signatures name (default "
                             "$SEALBOX_REGION, else us-east-1)")
    parent.add_argument("--ca-bundle", default=os.environ.get("AWS_CA_BUNDLE"), metavar="FILE",
                        help="trust this PEM certificate for an https:// endpoint "
                             "(default $AWS_CA_BUNDLE)")
    parent.add_argument("--json", action="store_true", help="print the answer as JSON")
    return parent


def client_from(args: argparse.Namespace) -> AdminClient:
    access, secret = find_credentials(args.data_dir)
    return AdminClient(args.endpoint_url, access, secret, args.region, args.ca_bundle)


def emit(args: argparse.Namespace, answer: Any, *lines: str) -> int:
    """Print the answer as JSON under ``--json``, else ``lines``."""
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        for line in lines:
            print(line)
    return 0
