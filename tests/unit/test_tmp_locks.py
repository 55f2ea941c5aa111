"""store.tmp_locks: a temporary file no live writer holds is removed; a
held one, or one that might be between creation and lock, is not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sealbox.store.tmp_locks import GRACE, hold, remove_abandoned


def temporary(name: str) -> bool:
    return name.startswith("t")


def make(directory: Path, name: str, seconds_old: float = 0.0) -> str:
    path = directory / name
    path.write_bytes(b"data")
    if seconds_old:
        t = time.time() - seconds_old
        os.utime(path, (t, t))
    return str(path)


def test_old_unlocked_files_go_and_locked_or_foreign_ones_stay(tmp_path: Path) -> None:
    make(tmp_path, "t-dead", 60)
    held = make(tmp_path, "t-held", 60)
    make(tmp_path, "other", 60)
    (tmp_path / "t-dir").mkdir()
    fd = os.open(held, os.O_RDONLY)
    try:
        hold(fd)
        assert remove_abandoned(str(tmp_path), temporary) == 1
        assert sorted(os.listdir(tmp_path)) == ["other", "t-dir", "t-held"]
    finally:
        os.close(fd)
    assert remove_abandoned(str(tmp_path), temporary) == 1  # its holder is gone now
    assert sorted(os.listdir(tmp_path)) == ["other", "t-dir"]


def test_a_young_unlocked_file_is_judged_once_it_is_grace_old(tmp_path: Path) -> None:
    young = make(tmp_path, "t-young")
    locked_meanwhile = make(tmp_path, "t-locked-meanwhile")
    fds: list[int] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        # Within the grace period a live writer takes its lock.
        slept.append(seconds)
        fd = os.open(locked_meanwhile, os.O_RDONLY)
        hold(fd)
        fds.append(fd)

    try:
        assert remove_abandoned(str(tmp_path), temporary, sleep=sleep) == 1
    finally:
        for fd in fds:
            os.close(fd)
    assert len(slept) == 1 and 0 < slept[0] <= GRACE
    assert not os.path.exists(young) and os.path.exists(locked_meanwhile)


def test_a_lock_held_by_another_process_protects_and_dies_with_it(tmp_path: Path) -> None:
    path = make(tmp_path, "t-child", 60)
    script = ("import os, sys, fcntl; fd = os.open(sys.argv[1], os.O_RDONLY); "
              "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", script, path],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"locked\n"
        assert remove_abandoned(str(tmp_path), temporary) == 0
    finally:
        child.kill()  # SIGKILL: the kernel drops the lock
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]
    assert remove_abandoned(str(tmp_path), temporary) == 1
