"""sealbox's own HTTP/1.1 server for its ASGI app: what ``sealbox serve`` runs.

A lean server on asyncio protocols (uvloop) with httptools parsing,
written because the general-purpose ones cost more per request than the
whole presigned GET path left to spend (see bench/README.md). It calls
the app as ASGI 3 and nothing more: keep-alive, pipelining in order,
chunked request bodies, ``Expect: 100-continue``, flow control both ways,
TLS through the loop's ssl, client disconnects, a cap on request heads,
timeouts and caps against slow and greedy clients, graceful shutdown,
pre-forked workers sharing one socket, the zero-copy extension
(``sendfile``) on plain TCP, and sealbox's ``sealbox.response.borrowed``
(a body piece the app reuses once ``send`` returns).

Modules: ``wire`` (response framing, pure), ``exchange`` (one request's
receive/send), ``connection`` (the protocol: parsing, queueing, limits),
``limits`` (the flags' values and the descriptor budget), ``deadlines``
(the sweep's timeouts, pure), ``admission`` (connection caps),
``listeners`` (accepting that can pause), ``sendfile``, ``borrowed``
(writing a piece the app reuses), ``eager`` (running
an app coroutine without a Task until it waits), ``lifespan``, ``serve``
(sockets, workers, signals).
"""
