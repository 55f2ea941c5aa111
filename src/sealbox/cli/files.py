"""Reading a small file named on the command line."""

from __future__ import annotations

from pathlib import Path


def read_capped(name: str, option: str, limit: int, too_large: str) -> bytes:
    """The bytes of the file ``name`` (``file://`` prefix and ``~`` accepted),
    at most ``limit`` of them. ValueError, one line naming ``option``, if it
    cannot be read or is larger (``too_large`` says how)."""
    file = Path(name.removeprefix("file://")).expanduser()
    try:
        with file.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise ValueError(f"{option} {name}: {error.strerror or error}") from None
    if len(data) > limit:
        raise ValueError(f"{option} {name}: {too_large}")
    return data
