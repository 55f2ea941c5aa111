"""What an operation handler is given: the request, its route, who asked,
and the services below it (stores, clock, settings)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sealbox.access.evaluate import Decision
from sealbox.api.router import Endpoint
from sealbox.auth.principal import AuthResult, Credential
from sealbox.clock import Clock
from sealbox.config import Settings
from sealbox.metrics import Counters
from sealbox.server.request import Request
from sealbox.store.blobs import BlobStore
from sealbox.store.meta import MetaStore

if TYPE_CHECKING:
    from sealbox.api.common.access_gate import AccessGate
    from sealbox.links.gate import LinkGate
    from sealbox.store.secrets import SecretCipher
    from sealbox.store.small_puts import SmallPutBatcher

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    meta: MetaStore
    blobs: BlobStore
    clock: Clock
    executor: ThreadPoolExecutor
    # The access-key table, for operations that authenticate themselves
    # (``handlers.SELF_AUTHENTICATING``).
    lookup_credential: Callable[[str], Credential | None] = field(default=lambda _key: None)
    # Who may do what (sealbox.api.common.access_gate); set by the app.
    gate: AccessGate | None = None
    # Small uploads made durable in batches by one thread (SQLite and local
    # files; sealbox.store.small_puts); set by the app where it applies.
    small_puts: SmallPutBatcher | None = None
    # Revoked signatures and managed links (sealbox.links.gate); set by the app.
    links: LinkGate | None = None
    # The process's metrics (sealbox.metrics); None unless --metrics on. Store
    # calls are timed here, as the request waits for them, by function name.
    counters: Counters | None = None
    # Where the audit trail is kept (a MetaStore with the audit methods:
    # store.sql.audit); None: in ``meta``.
    audit_store: Any = None
    # The edge's directory of distributions and trusted keys
    # (sealbox.edge.directory.EdgeDirectory), for the signature doctor; set by the app.
    edge_directory: Any = None
    # Access logs delivered as objects (sealbox.logs.delivery.LogDelivery);
    # set by the app. PutBucketLogging has it reload which buckets log.
    log_delivery: Any = None
    # Each bucket's lifecycle rules (sealbox.lifecycle.rules.Configuration, or
    # None) with the access version they were read at, for x-amz-expiration
    # (sealbox.api.s3.lifecycle.bucket_rules).
    lifecycle_rules: dict[str, tuple[int, Any]] = field(default_factory=dict)
    # The keyring (store/secrets.py) that wraps objects' SSE-S3 data keys; set by the app.
    cipher: SecretCipher | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run blocking store work (SQLite, fsync) off the event loop."""
        counters = self.counters
        if counters is None:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        started = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            counters.store_call(_label(fn), time.perf_counter() - started)

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """A metadata point read: inline where the store says that is cheap."""
        counters = self.counters
        started = time.perf_counter() if counters is not None else 0.0
        try:
            if self.meta.inline_reads:
                return fn(*args)
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            if counters is not None:
                counters.store_call(_label(fn), time.perf_counter() - started)


_LABELS: dict[str, str] = {}  # a function's name → its label (names are few)


def _label(fn: Callable[..., object]) -> str:
    """A store call's metric label: its function's name (``_resolve`` is the
    app's access version, authentication and decision step)."""
    name = str(getattr(fn, "__name__", None)
               or getattr(getattr(fn, "func", None), "__name__", ""))
    label = _LABELS.get(name)
    if label is None:
        label = "other" if not name or name == "<lambda>" else name.lstrip("_")
        if len(_LABELS) < 1024:
            _LABELS[name] = label
    return label


@dataclass
class Context:
    request: Request
    endpoint: Endpoint
    auth: AuthResult
    services: Services
    request_id: str
    # The most bytes an upload may have, below the server's own limit: a
    # managed PUT link's MaxSize (sealbox.links).
    max_body: int | None = None
    # The access version the request was judged at (read once per request;
    # caches of bucket settings are keyed by it). None: read it when needed.
    access_version: int | None = None

    @property
    def bucket(self) -> str:
        assert self.endpoint.bucket is not None
        return self.endpoint.bucket

    @property
    def key(self) -> str:
        assert self.endpoint.key is not None
        return self.endpoint.key


async def decide(services: Services, request: Request, auth: AuthResult, action: str,
                 resource: str, *, bucket: str | None = None, key: str | None = None,
                 operation: str = "",
                 extra_context: Mapping[str, tuple[str, ...]] | None = None) -> Decision:
    """The decision for a request that authenticated itself (IAM, CloudFront
    API, POST forms), or for a second look once its body told more (object
    lock's condition keys): off the event loop where the store does I/O."""
    gate = services.gate
    assert gate is not None, "the app sets the gate"
    return await services.read(
        lambda: gate.decide(request, auth, operation, action, resource, bucket=bucket, key=key,
                            extra_context=extra_context))
