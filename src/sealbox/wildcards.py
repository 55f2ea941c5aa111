"""Wildcard patterns (``*`` any run of characters, ``?`` exactly one), matched
without backtracking.

Every such pattern in sealbox is matched here: IAM Action / NotAction and
Resource / NotResource, ``StringLike`` / ``StringNotLike`` and ``ArnLike``
values (``sealbox.access``), CloudFront custom-policy resources
(``sealbox.auth.cloudfront``), cache-behaviour and invalidation paths
(``sealbox.store.edge_config``), CORS origins and headers
(``sealbox.http.cors``). It imports nothing of sealbox, so every layer may
use it.

Why not ``re``: ``*`` written as ``.*`` backtracks, and a value that fails
late is tried in every way its k stars can split it, O(n^k). Issue 11: one
anonymous GET with a 6 KB ``Referer`` held a worker for 6 s against an
anti-hotlinking Deny; ``*a*a*a*b`` against 1 KiB of ``a`` took 61 s.

How: a pattern is its star-free *segments*, ``head*s1*s2*…*tail``. A text
matches when ``head`` matches at its start, ``tail`` at its end, and the
middle segments occur between them in order, without overlapping, each
taken at its leftmost place. The leftmost place is always a right choice:
a segment has a fixed width (``?`` is one character), so a place further
right only leaves less room for the segments after it. Nothing is retried.

Cost, for a text of n characters: a segment of literal characters is found
with ``str.find`` (C, and CPython's two-way search for long needles), so a
pattern without ``?`` costs O(n + m) however many stars it has. ``?`` at
either end of a segment is only a width. A segment with ``?`` between
literal characters is found by a regular expression with no repetition at
all, which costs at most O(n·L) steps in C for its length L (about 5 ns a
step): L is chosen by whoever wrote the pattern, not by the requester.

``.`` of ``re`` with ``DOTALL`` was the old translation, so ``*`` and ``?``
match any code point here too, newlines included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

Piece = tuple[str, bool]  # (text, whether its * and ? are wildcards)


class _Segment:
    """A star-free run of literal text and ``?``, of fixed width. ``tokens``
    are non-empty runs of literal text and ``None`` for each ``?``."""

    __slots__ = ("core", "lead", "rx", "trail", "width")

    def __init__(self, tokens: list[str | None]) -> None:
        self.width = sum(1 if t is None else len(t) for t in tokens)
        lead = 0
        while lead < len(tokens) and tokens[lead] is None:
            lead += 1
        trail = 0
        while trail < len(tokens) - lead and tokens[len(tokens) - 1 - trail] is None:
            trail += 1
        self.lead, self.trail = lead, trail
        core = tokens[lead : len(tokens) - trail]
        self.rx: re.Pattern[str] | None = None
        self.core = ""
        if None in core:
            # No quantifier: each place tried costs at most len(core) steps.
            body = "".join("." if t is None else re.escape(t) for t in core)
            self.rx = re.compile(body, re.DOTALL)
        else:
            self.core = "".join(t for t in core if t is not None)  # every one is text

    @property
    def literal(self) -> str | None:
        """The segment's text when it holds no ``?``."""
        return self.core if self.rx is None and self.lead == self.trail == 0 else None

    def at(self, text: str, pos: int) -> bool:
        """Whether it matches at ``pos``; the caller knows the text is long enough."""
        if self.rx is not None:
            return self.rx.match(text, pos + self.lead) is not None
        return text.startswith(self.core, pos + self.lead)

    def find(self, text: str, start: int, end: int) -> int:
        """The leftmost place ``i >= start`` where it matches and ends by
        ``end`` (``i + width <= end``), else -1."""
        lo, hi = start + self.lead, end - self.trail
        if self.rx is not None:
            m = self.rx.search(text, lo, hi)
            return -1 if m is None else m.start() - self.lead
        if not self.core:  # only ``?``
            return start if start + self.width <= end else -1
        i = text.find(self.core, lo, hi)
        return -1 if i < 0 else i - self.lead


def _split(pieces: Iterable[Piece]) -> list[list[str | None]]:
    """The pattern's segments, as tokens: runs of literal text, ``None`` for
    each ``?`` (``str.split`` does the work: compiling is on the path that
    reads a policy)."""
    segments: list[list[str | None]] = [[]]
    for text, live in pieces:
        if not live:
            if text:
                segments[-1].append(text)
            continue
        for i, run in enumerate(text.split("*")):
            if i:
                segments.append([])
            if "?" not in run:
                if run:
                    segments[-1].append(run)
                continue
            for j, part in enumerate(run.split("?")):
                if j:
                    segments[-1].append(None)
                if part:
                    segments[-1].append(part)
    return segments


class Glob:
    """One compiled pattern. ``match(text)`` says whether all of ``text``
    matches; ``shape`` is how ``GlobSet`` files it: ``exact``, ``prefix``,
    ``suffix`` (with ``text`` the literal part), ``any`` or ``other``."""

    __slots__ = ("match", "shape", "source", "text")

    def __init__(self, pieces: Iterable[Piece]) -> None:
        pieces = tuple(pieces)
        self.source = "".join(t for t, _ in pieces)
        segments = [_Segment(s) for s in _split(pieces)]
        head, tail = segments[0], segments[-1]
        middle = [s for s in segments[1:-1] if s.width]
        first, last = head.literal, tail.literal  # None when they hold a ``?``
        self.shape, self.text = "other", ""
        self.match: Callable[[str], bool]
        if len(segments) == 1:  # no star
            if first is None:
                self.match = _fixed(head)
            else:
                self.shape, self.text, self.match = "exact", first, first.__eq__
        elif middle or first is None or last is None:
            self.match = _general(head, middle, tail)
            inner = middle[0].literal if len(middle) == 1 else None
            if inner is not None and not head.width and not tail.width:
                self.match = lambda text: inner in text  # *text*
        elif not first and not last:
            self.shape, self.match = "any", _always
        elif not last:
            self.shape, self.text = "prefix", first
            self.match = lambda text: text.startswith(first)
        elif not first:
            self.shape, self.text = "suffix", last
            self.match = lambda text: text.endswith(last)
        else:
            self.match = _two_ends(first, last)

    def __repr__(self) -> str:
        return f"Glob({self.source!r})"


def _always(text: str) -> bool:
    return True


def _two_ends(head: str, tail: str) -> Callable[[str], bool]:
    least = len(head) + len(tail)
    return lambda text: len(text) >= least and text.startswith(head) and text.endswith(tail)


def _fixed(segment: _Segment) -> Callable[[str], bool]:
    width = segment.width
    return lambda text: len(text) == width and segment.at(text, 0)


def _general(head: _Segment, middle: list[_Segment], tail: _Segment) -> Callable[[str], bool]:
    least = head.width + tail.width + sum(s.width for s in middle)
    first, last = head.width, tail.width

    def match(text: str) -> bool:
        n = len(text)
        if n < least or not head.at(text, 0) or not tail.at(text, n - last):
            return False
        pos, end = first, n - last
        for segment in middle:
            i = segment.find(text, pos, end)
            if i < 0:
                return False
            pos = i + segment.width
        return True

    return match


def compile_glob(pattern: str) -> Glob:
    """``pattern`` with ``*`` and ``?`` as wildcards (IAM, CloudFront)."""
    return Glob(((pattern, True),))


def cached_glob(pattern: str) -> Glob:
    """``compile_glob``, remembered (patterns of up to ``_CACHED_CHARS``
    characters, so the cache stays small): for patterns kept as text
    elsewhere (CloudFront resources, behaviour paths) and repeated from one
    policy to the next."""
    return _cached(pattern) if len(pattern) <= _CACHED_CHARS else compile_glob(pattern)


_CACHED_CHARS = 1024


@lru_cache(maxsize=4096)
def _cached(pattern: str) -> Glob:
    return compile_glob(pattern)


class GlobSet:
    """Patterns of which any may match, filed by shape so that the usual
    ones cost one C call: exact names in a set, ``text*`` in one
    ``str.startswith`` tuple, ``*text`` in one ``str.endswith`` tuple.
    ``match`` is chosen for what the set holds (a bucket policy's
    ``arn:aws:s3:::bucket/*`` is one ``startswith``)."""

    __slots__ = ("any", "exact", "match", "others", "prefixes", "suffixes")

    def __init__(self, globs: Iterable[Glob]) -> None:
        exact, prefixes, suffixes, others = set(), [], [], []
        self.any = False
        for g in globs:
            if g.shape == "any":
                self.any = True
            elif g.shape == "exact":
                exact.add(g.text)
            elif g.shape == "prefix":
                prefixes.append(g.text)
            elif g.shape == "suffix":
                suffixes.append(g.text)
            else:
                others.append(g)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)
        self.suffixes = tuple(suffixes)
        self.others = tuple(others)
        self.match: Callable[[str], bool] = self._matcher()

    @classmethod
    def of(cls, patterns: Iterable[str]) -> GlobSet:
        """The set of ``patterns``, each with ``*`` and ``?`` as wildcards."""
        return cls(cached_glob(p) for p in patterns)

    def _matcher(self) -> Callable[[str], bool]:
        exact, prefixes, suffixes, others = self.exact, self.prefixes, self.suffixes, self.others
        if self.any:
            return _always
        if not (exact or suffixes or others):
            return lambda text: text.startswith(prefixes)
        if not (prefixes or suffixes or others):
            return exact.__contains__

        def match(text: str) -> bool:
            if text in exact or text.startswith(prefixes) or text.endswith(suffixes):
                return True
            for g in others:
                if g.match(text):
                    return True
            return False

        return match
