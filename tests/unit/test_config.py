"""Root credentials: from the environment, else generated once and kept private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sealbox.config import load_root_credentials


def test_environment_credentials_win(tmp_path: Path) -> None:
    creds = load_root_credentials(tmp_path, {"SEALBOX_ROOT_ACCESS_KEY": "AK",
                                             "SEALBOX_ROOT_SECRET_KEY": "SK"})
    assert (creds.access_key, creds.secret_key, creds.generated) == ("AK", "SK", False)
    assert not (tmp_path / "root-credentials.json").exists()


def test_generated_once_stored_0600_and_reused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = load_root_credentials(data, {})
    assert first.generated
    assert len(first.access_key) == 20 and len(first.secret_key) == 40
    path = data / "root-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    again = load_root_credentials(data, {})
    assert (again.access_key, again.secret_key, again.generated) == (
        first.access_key, first.secret_key, False)


def test_secret_is_not_in_the_repr(tmp_path: Path) -> None:
    creds = load_root_credentials(tmp_path / "d", {})
    assert creds.secret_key not in repr(creds)


def test_half_a_pair_in_the_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        load_root_credentials(tmp_path, {"SEALBOX_ROOT_ACCESS_KEY": "AK"})
