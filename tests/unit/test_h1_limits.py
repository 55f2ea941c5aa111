"""sealbox.server.h1.limits: the descriptor budget, client addresses, the
sweep's pace."""

from __future__ import annotations

import resource

import pytest

from sealbox.server.h1.limits import (
    BACKLOG,
    FDS_PER_CONNECTION,
    MAX_CONNECTIONS_PER_IP,
    MAX_DERIVED_CONNECTIONS,
    RESERVED_FDS,
    Limits,
    backlog_for,
    client_key,
    derived_max_connections,
    raise_fd_limit,
)


@pytest.mark.parametrize("fd_limit", [256, 1024, 4096, 20_000, 65_536, 1_048_576])
def test_the_derived_cap_leaves_descriptors_for_everything_else(fd_limit: int) -> None:
    cap = derived_max_connections(fd_limit)
    if fd_limit >= 4096:
        # Every connection at its worst, one accept batch past the cap, and the reserve.
        assert cap * FDS_PER_CONNECTION + backlog_for(fd_limit) + RESERVED_FDS <= fd_limit
    assert 64 <= cap <= MAX_DERIVED_CONNECTIONS


def test_issue_11s_scale_fits_under_a_common_hard_limit() -> None:
    # 5000 hostile connections and the normal clients fit a 20 000 descriptor process.
    assert derived_max_connections(20_000) > 5000 + MAX_CONNECTIONS_PER_IP


def test_the_backlog_shrinks_with_a_small_descriptor_limit() -> None:
    assert backlog_for(1_000_000) == BACKLOG
    assert backlog_for(1024) == 128


def test_the_per_client_default_leaves_room_for_the_bench_and_is_a_small_part_of_the_cap(
        ) -> None:
    assert 256 <= MAX_CONNECTIONS_PER_IP <= derived_max_connections(20_000) // 8


@pytest.mark.parametrize(("host", "key"), [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("fe80::1%eth0", "fe80::/64"),
    ("not-an-address", "not-an-address"),
])
def test_clients_are_counted_by_ipv4_address_or_ipv6_64(host: str, key: str) -> None:
    assert client_key(host) == key


@pytest.mark.parametrize(("limits", "interval"), [
    (Limits(), 1.0),
    (Limits(header_timeout=1.0), 0.25),
    (Limits(body_timeout=0.01), 0.05),
    (Limits(keep_alive_timeout=0, header_timeout=0, body_timeout=0), 1.0),
])
def test_the_sweep_runs_often_enough_for_the_shortest_timeout(limits: Limits,
                                                              interval: float) -> None:
    assert limits.sweep_interval() == interval


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        lowered = min(soft, 512)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
        assert raise_fd_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
