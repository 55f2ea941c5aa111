"""Policy variables (``${aws:username}``) and the ``*`` / ``?`` wildcards.

IAM replaces ``${key}`` in a Resource and in the values of string and ARN
conditions with the request's value of that condition key ("IAM policy
elements: Variables and tags"). Rules kept here:

- only in documents of Version ``2012-10-17``; in ``2008-10-17`` (the
  default when Version is absent) ``${`` is plain text;
- ``${key, 'default'}`` gives a default when the key is absent; ``''``
  inside the quotes is one quote; the key's name is case-insensitive;
- ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters, so a
  pattern can name a ``*`` without it being a wildcard;
- a substituted value is literal text: a user named ``a*`` does not
  widen ``home/${aws:username}/*``;
- a key that is absent (or has several values: multivalued keys cannot be
  variables) and has no default leaves the variable unresolved, and the
  value or resource holding it then matches nothing ("Policy variables with
  no value": "there is no equal or like value").

Patterns are compiled once, when the policy is parsed (``sealbox.wildcards``,
which never backtracks); a template that holds a variable is compiled once
per tuple of its variables' values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sealbox.wildcards import Glob

Context = Mapping[str, Sequence[str]]

_SPECIAL = {"*": "*", "?": "?", "$": "$"}
_VARIABLE = re.compile(r"\$\{\s*([^,}'\s]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}")


def context_key(name: str) -> str:
    """The form a condition key is looked up in: names are case-insensitive,
    but what follows a ``/`` (a tag's key, ``s3:ExistingObjectTag/Env``) is
    kept as written, since object tags are case-sensitive."""
    head, sep, tail = name.partition("/")
    return head.lower() + sep + tail


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


@dataclass(frozen=True)
class Variable:
    """One ``${key}`` or ``${key, 'default'}``; ``key`` in lookup form."""

    key: str
    default: str | None = None


@dataclass(frozen=True)
class Literal:
    """Text that is never a wildcard: ``${*}``, ``${?}``, ``${$}``."""

    text: str


Part = str | Variable | Literal  # a str part is pattern text (wildcards live)


@dataclass(frozen=True)
class Template:
    """A policy value that holds at least one variable.

    ``prefix`` is its fixed text before the first wildcard or variable, a
    cheap first test; compiled patterns are memoised per tuple of variable
    values (a user's name rarely changes between requests)."""

    parts: tuple[Part, ...]
    source: str
    prefix: str = ""
    _compiled: dict[tuple[str, ...], Glob] = field(default_factory=dict, compare=False, repr=False)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(p.key for p in self.parts if isinstance(p, Variable))

    def _value(self, part: Variable, context: Context) -> str | None:
        values = context.get(part.key)
        if values and len(values) == 1:
            return values[0]
        return part.default

    def pieces(self, context: Context) -> list[tuple[str, bool]] | None:
        """The value with its variables replaced, as (text, is_pattern)
        pieces; None when a variable has no value and no default."""
        out: list[tuple[str, bool]] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append((part, True))
            elif isinstance(part, Literal):
                out.append((part.text, False))
            else:
                value = self._value(part, context)
                if value is None:
                    return None
                out.append((value, False))
        return out

    def text(self, context: Context) -> str | None:
        """The value with variables replaced, for exact comparisons (where
        ``*`` and ``?`` are not wildcards anyway)."""
        pieces = self.pieces(context)
        return None if pieces is None else "".join(t for t, _ in pieces)

    def glob(self, context: Context) -> Glob | None:
        """The wildcard pattern with variables replaced (their values are
        literal text), compiled; None when a variable has no value."""
        values = []
        for part in self.parts:
            if isinstance(part, Variable):
                value = self._value(part, context)
                if value is None:
                    return None
                values.append(value)
        key = tuple(values)
        glob = self._compiled.get(key)
        if glob is None:
            pieces = self.pieces(context)
            assert pieces is not None  # every variable has a value: just seen
            glob = Glob(pieces)
            if len(self._compiled) < 256:
                self._compiled[key] = glob
        return glob


def _template(parts: list[Part], source: str) -> Template:
    """The template of ``parts``, with its fixed text before the first
    wildcard or variable as ``prefix``."""
    prefix: list[str] = []
    for part in parts:
        if isinstance(part, Variable):
            break
        if isinstance(part, Literal):
            prefix.append(part.text)
            continue
        head = re.split(r"[*?]", part, maxsplit=1)
        prefix.append(head[0])
        if len(head) > 1:
            break
    return Template(tuple(parts), source, "".join(prefix))


def parse_template(text: str, variables: bool) -> str | Template:
    """``text`` itself when it holds no variable (or variables are off for
    this policy's Version), else its ``Template``. Text that starts like a
    variable but is not one (``${foo``) stays text, as IAM leaves it."""
    if not variables or "${" not in text:
        return text
    parts: list[Part] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        name, default = m.group(1), m.group(2)
        if name in _SPECIAL and default is None:
            parts.append(Literal(_SPECIAL[name]))
        else:
            parts.append(
                Variable(context_key(name), None if default is None else default.replace("''", "'"))
            )
        pos = m.end()
    if pos == 0:
        return text
    if pos < len(text):
        parts.append(text[pos:])
    return _template(parts, text)
