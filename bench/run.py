"""Side-by-side benchmarks of sealbox against nginx secure_link and moto.

One run starts every peer on loopback, pinned to one core, and drives the
same wrk load at each from the other core, so the ratios the project's
targets are stated in come from one run on one machine:

    python bench/run.py                 # ~3 minutes: 14 runs of 3 s + 10 s
    python bench/run.py --rounds 3      # median of three rounds
    python bench/run.py --profile       # also py-spy the presigned GET load

Workloads (see bench/README.md): presigned GET of a 1 KiB object, GET of a
1 MiB object, presigned PUT of 1 KiB objects; and, only when asked for
(``--workloads put_1g``), one 1 GiB file PUT in one request: to sealbox
signed aws-chunked with a CRC32 trailer and as UNSIGNED-PAYLOAD, to nginx
as a WebDAV PUT (bench/upload.py). Peers: sealbox under its own HTTP/1.1
server (what ``sealbox serve`` runs), under uvicorn (httptools + uvloop)
and granian, nginx (secure_link, WebDAV), moto's server. Results go to bench/results/ as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: run.py is run as a script, next to peers.py.
from edge_peer import SealboxEdgePeer
from peers import (
    LARGE,
    LOAD_CPU,
    RESULTS,
    SERVER_CPU,
    SMALL,
    MotoPeer,
    NginxPeer,
    Peer,
    SealboxPeer,
    SealboxPoliciesPeer,
    Target,
)
from upload import GiB, MiB, SourceFile, make_source, measure_upload, put


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    size: int
    method: str
    kind: str = "wrk"  # or "upload": one large PUT per run (bench/upload.py)


WORKLOADS = (
    Workload("get_1k", "presigned GET 1 KiB", SMALL, "GET"),
    Workload("get_1m", "GET 1 MiB", LARGE, "GET"),
    Workload("put_1k", "presigned PUT 1 KiB (fsync)", SMALL, "PUT"),
    # sealbox: signed aws-chunked + CRC32 trailer; nginx: WebDAV PUT.
    Workload("put_1g_stream", "PUT 1 GiB streamed", GiB, "PUT", "upload"),
    # sealbox only: the same bytes as a plain UNSIGNED-PAYLOAD body.
    Workload("put_1g_plain", "PUT 1 GiB plain", GiB, "PUT", "upload"),
)
# What --workloads means without naming any; the uploads take a while.
DEFAULT_WORKLOADS = ("get_1k", "get_1m", "put_1k")
GROUPS = {"put_1g": ("put_1g_stream", "put_1g_plain")}

# (workload, reference peer, metric, minimum ratio sealbox/reference): the targets.
TARGETS = (
    ("get_1k", "nginx", "rps", 0.15),
    ("get_1k", "moto", "rps", 10.0),
    ("get_1m", "nginx", "mb_s", 0.80),
    ("put_1k", "moto", "rps", 3.0),
    ("put_1g_stream", "nginx", "mb_s", 0.50),
    # Access control: policies keep >= 85 % of the plain presigned GET rate.
    ("get_1k", "sealbox", "rps", 0.85),
)


# ---------------------------------------------------------------- load

def wrk(target: Target, seconds: float, connections: int) -> dict[str, Any]:
    """One bounded wrk run on LOAD_CPU; wrk's summary as a dict."""
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}",
           f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(target.script),
           target.url]
    if target.args:
        cmd += ["--", *target.args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return dict(json.loads(line[len("BENCH_JSON "):]))
    raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def interleaved(pid: int, targets: dict[str, Target], args: argparse.Namespace,
                ) -> dict[str, list[tuple[float, float]]]:
    """(req/s, requests per CPU-second of process ``pid``) of each target,
    ``args.rounds`` times, the targets interleaved so drift hits all alike
    (``args.warmup``, ``args.duration``, ``args.connections`` for wrk)."""
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    for _ in range(args.rounds):
        for name, target in targets.items():
            wrk(target, args.warmup, args.connections)
            before = cpu_seconds([pid])
            raw = wrk(target, args.duration, args.connections)
            cpu = cpu_seconds([pid]) - before
            errors = sum(raw["errors"].values())
            if errors:
                raise SystemExit(f"{name}: {errors} errors")
            figures[name].append((raw["requests"] / (raw["duration_us"] / 1e6),
                                  raw["requests"] / cpu if cpu else 0.0))
    return figures


def print_ratios(title: str, figures: dict[str, list[tuple[float, float]]], base: str) -> None:
    """Medians of ``interleaved``'s figures, and their ratios to ``base``'s."""
    base_rps = statistics.median(r for r, _ in figures[base])
    base_cpu = statistics.median(c for _, c in figures[base])
    print(f"{title:24} {'req/s':>8} {'req/cpu-s':>10} {'ratio':>6} {'cpu ratio':>9}")
    for name, rows in figures.items():
        rps = statistics.median(r for r, _ in rows)
        per_cpu = statistics.median(c for _, c in rows)
        print(f"{name:24} {rps:8.0f} {per_cpu:10.0f} {rps / base_rps:6.3f} "
              f"{per_cpu / base_cpu:9.3f}")


def measure(peer: Peer, workload: Workload, args: argparse.Namespace) -> dict[str, Any]:
    target = peer.targets[workload.name]
    if args.warmup > 0:
        wrk(target, args.warmup, args.connections)
    pids = peer.pids()
    load = os.getloadavg()[0]
    cpu_before = cpu_seconds(pids)
    raw = wrk(target, args.duration, args.connections)
    cpu = cpu_seconds(pids) - cpu_before
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    return {
        "rps": raw["requests"] / seconds,
        # Requests per second of the server's own CPU time: steadier than
        # req/s when other work shares the machine.
        "req_per_cpu_s": raw["requests"] / cpu if cpu > 0 else 0.0,
        "server_cpu_util": cpu / seconds,
        "loadavg_1m_before": load,
        "mb_s": raw["requests"] * workload.size / seconds / 1e6,  # payload, 10^6 bytes
        "mb_per_cpu_s": raw["requests"] * workload.size / cpu / 1e6 if cpu > 0 else 0.0,
        "wire_mb_s": raw["bytes"] / seconds / 1e6,
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "errors": errors,
        "raw": raw,
    }


def profile(peer: Peer, workload: str, args: argparse.Namespace) -> dict[str, Any]:
    """py-spy (on LOAD_CPU, at 100 Hz) samples sealbox under one workload's load.

    For the GET, only the GIL holder is sampled: where the core's Python
    time goes. For the PUT, idle samples are kept (threads blocked in fsync
    or on SQLite's write lock are the story there) and only stacks through
    sealbox's code are counted, so idle pool threads drop out.
    """
    assert peer.process is not None
    out = RESULTS / f"profile-{peer.name}-{workload}-{args.stamp}.txt"
    target = peer.targets[workload]
    cmd = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{args.connections}",
           f"-d{args.profile_seconds + 5}s", "-s", str(target.script), target.url]
    if target.args:
        cmd += ["--", *target.args]
    load = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    idle = workload.startswith("put")
    try:
        time.sleep(2)
        # Not --nonblocking: reading a running process's stacks yields torn
        # frames (seen here: query-string bytes as function names).
        subprocess.run(["taskset", "-c", LOAD_CPU, "py-spy", "record", "--pid",
                        str(peer.process.pid), "--subprocesses",
                        "-r", "100", "-d", str(args.profile_seconds), "-f", "raw",
                        # GET: only the thread holding the GIL, i.e. where the
                        # one core's Python time goes; PUT: every thread.
                        *(["--idle"] if idle else ["--gil"]), "-o", str(out)],
                       check=True, capture_output=True, timeout=args.profile_seconds + 60)
    finally:
        load.wait(timeout=args.profile_seconds + 30)
    return summarize_profile(out, only_through="(sealbox/" if idle else None)


_ENTRY_POINTS = ("sealbox/__main__.py", "sealbox/cli/")  # below every sample; not news


def summarize_profile(path: Path, top: int = 15, only_through: str | None = None,
                      lines: bool = False) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed
    stacks; with ``only_through``, only stacks with a frame whose path holds it;
    with ``lines``, self time per source line (C calls such as hashlib's
    ``update`` have no frame of their own: the line that calls them shows)."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or (only_through and only_through not in stack):
            continue
        count = int(count_text)
        total += count
        # "func (path/to/file.py:123)" -> "func (file.py)", so lines of one function merge.
        frames = []
        for frame in stack.split(";"):
            if frame.startswith("process "):
                continue
            name, _, where = frame.partition(" (")
            file = where.rsplit(":", 1)[0].rstrip(")")
            ours = file.startswith("sealbox/") and not file.startswith(_ENTRY_POINTS)
            frames.append((f"{name} ({file.rsplit('/', 1)[-1]})" if file else name, ours))
        if not frames:
            continue
        leaf = frames[-1][0]
        if lines:
            name, _, where = stack.split(";")[-1].partition(" (")
            leaf = f"{name} ({where.rsplit('/', 1)[-1]}"
        own[leaf] = own.get(leaf, 0) + count
        # Inclusive time only for sealbox's own functions: the server's and
        # the event loop's outer frames would top that list at ~100 %.
        for frame in {f for f, ours in frames if ours}:
            inclusive[frame] = inclusive.get(frame, 0) + count

    def share(table: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(100 * n / total, 1)) for name, n in ranked]

    return {"file": str(path), "samples": total, "self": share(own),
            "inclusive": share(inclusive)}


def profile_upload(peer: Peer, workload: str, source: SourceFile,
                   args: argparse.Namespace) -> dict[str, Any]:
    """py-spy (every thread, idle ones too) records sealbox during one large
    PUT; only stacks through sealbox's code count, so the event loop waiting
    for the next piece of body drops out and what is left is the work per
    byte (hashing, decoding, writing, the fsync in the pool)."""
    assert peer.process is not None
    out = RESULTS / f"profile-{peer.name}-{workload}-{args.stamp}.txt"
    sent: list[Any] = []

    def upload() -> None:
        os.sched_setaffinity(0, {int(LOAD_CPU)})
        sent.append(put(peer.uploads[workload], f"profile-{workload}.bin", source))

    thread = threading.Thread(target=upload)
    thread.start()
    time.sleep(1)
    spy = subprocess.Popen(["taskset", "-c", LOAD_CPU, "py-spy", "record", "--pid",
                            str(peer.process.pid), "--subprocesses", "--idle", "-r", "100",
                            "-d", str(args.profile_seconds), "-f", "raw", "-o", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        thread.join(timeout=900)
        # An upload shorter than the recording: stop py-spy (it writes what it
        # has on SIGINT), so no idle samples from after the upload count.
        if spy.poll() is None:
            spy.send_signal(signal.SIGINT)
        spy.wait(timeout=args.profile_seconds + 60)
    finally:
        if spy.poll() is None:
            spy.kill()
            spy.wait()
    summary = summarize_profile(out, only_through="(sealbox/", lines=True)
    summary["upload_seconds"] = sent[0].seconds if sent else None
    return summary


# ---------------------------------------------------------------- report

def tool_versions() -> dict[str, str]:
    def first_line(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    found = {"python": platform.python_version(), "kernel": platform.release(),
             "cpus": str(os.cpu_count()), "nginx": first_line(["nginx", "-v"]),
             "wrk": first_line(["wrk", "-v"])}
    for dist in ("sealbox", "uvicorn", "uvloop", "httptools", "granian", "moto"):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "?"
    return found


def table(medians: dict[tuple[str, str], dict[str, Any]], peers: list[str]) -> str:
    head = (f"{'workload':<28} {'peer':<22} {'req/s':>8} {'MB/s':>8} {'p50 ms':>7} "
            f"{'p99 ms':>7} {'srv CPU':>7} {'req/CPU-s':>9} {'MB/CPU-s':>8} {'err':>4}")
    lines = [head]
    for w in WORKLOADS:
        if w.kind != "wrk":
            continue
        for p in peers:
            m = medians.get((w.name, p))
            if m is None:
                continue
            lines.append(f"{w.title:<28} {p:<22} {m['rps']:>8.0f} {m['mb_s']:>8.1f} "
                         f"{m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f} "
                         f"{100 * m['server_cpu_util']:>6.0f}% {m['req_per_cpu_s']:>9.0f} "
                         f"{m['mb_per_cpu_s']:>8.1f} {m['errors']:>4}")
    return "\n".join(lines)


def upload_table(medians: dict[tuple[str, str], dict[str, Any]], peers: list[str]) -> str:
    head = (f"{'workload':<20} {'peer':<22} {'body':<36} {'MB/s':>7} {'+fsync':>7} "
            f"{'srv CPU':>7} {'MB/CPU-s':>8} {'cli CPU':>7} {'RSS before/peak/after MiB':>26}")
    lines = [head]
    for w in WORKLOADS:
        if w.kind != "upload":
            continue
        for p in peers:
            m = medians.get((w.name, p))
            if m is None:
                continue
            rss = (f"{m['rss_before_mib']:.0f} / {m['rss_peak_mib']:.0f} / "
                   f"{m['rss_after_mib']:.0f}")
            lines.append(f"{w.title:<20} {p:<22} {m['body']:<36} {m['mb_s']:>7.1f} "
                         f"{m['mb_s_with_fsync']:>7.1f} {100 * m['server_cpu_util']:>6.0f}% "
                         f"{m['mb_per_cpu_s']:>8.1f} {100 * m['client_cpu_util']:>6.0f}% "
                         f"{rss:>26}")
    return "\n".join(lines)


def ratios(medians: dict[tuple[str, str], dict[str, Any]],
           sealboxes: list[str]) -> list[dict[str, Any]]:
    found = []
    for name in sealboxes:
        for workload, ref, metric, goal in TARGETS:
            if name == ref:
                continue
            ours, theirs = medians.get((workload, name)), medians.get((workload, ref))
            if ours is None or theirs is None or not theirs[metric]:
                continue
            ratio = ours[metric] / theirs[metric]
            # The same ratio per second of server CPU: what it would be if
            # both had had a whole core to themselves.
            per_cpu = {"rps": "req_per_cpu_s", "mb_s": "mb_per_cpu_s"}[metric]
            cpu_ratio = ours[per_cpu] / theirs[per_cpu] if theirs[per_cpu] else None
            found.append({"sealbox": name, "workload": workload, "reference": ref,
                          "metric": metric, "ratio": ratio, "target": goal,
                          "met": ratio >= goal, "ratio_per_cpu_s": cpu_ratio})
            if theirs.get("fsync_s"):
                # nginx answers before its data is on disk; sealbox after.
                found[-1]["ratio_vs_reference_fsynced"] = (
                    ours[metric] / theirs["mb_s_with_fsync"])
    return found


def extract_source(rev: str, tmp: Path) -> tuple[str, str]:
    """``rev``'s src/, extracted with git archive under ``tmp``: (its path, the commit)."""
    repo = Path(__file__).resolve().parent.parent
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                            check=True, capture_output=True, text=True).stdout.strip()
    dest = tmp / f"src-{commit[:12]}"
    if not dest.exists():
        dest.mkdir()
        archive = subprocess.run(["git", "-C", str(repo), "archive", commit, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return str(dest / "src"), commit


def use_source(rev: str | None, tmp: Path) -> str:
    """Point the servers' PYTHONPATH at ``rev``'s src/, or describe the working tree.

    Others may be editing the working tree while a benchmark runs; a
    revision gives a figure that can be reproduced.
    """
    repo = Path(__file__).resolve().parent.parent

    def git(*cmd: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *cmd], check=True, capture_output=True,
                              text=True).stdout.strip()

    if rev is None:
        dirty = bool(git("status", "--porcelain", "--", "src"))
        return f"working tree at {git('rev-parse', '--short', 'HEAD')}" + (
            " (src/ has uncommitted changes)" if dirty else "")
    src, commit = extract_source(rev, tmp)
    # Children inherit this; PYTHONPATH comes before the editable install's .pth.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    return f"revision {commit[:12]} (git archive)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load first")
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything; report medians")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections, all peers")
    parser.add_argument("--peers", default="sealbox,sealbox-uvicorn,nginx,moto",
                        help="comma-separated, of: sealbox, sealbox-uvicorn, sealbox-granian, "
                        "sealbox-granian-stream, sealbox-policies, sealbox-edge, sealbox-base "
                        "(with --base), nginx, moto")
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help="comma-separated; put_1g = put_1g_stream,put_1g_plain "
                        f"(all: {','.join(w.name for w in WORKLOADS)})")
    parser.add_argument("--upload-mib", type=int, default=1024,
                        help="size of the file the upload workloads PUT")
    parser.add_argument("--profile", action="store_true",
                        help="after measuring, py-spy each sealbox during presigned GET")
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--profile-peers", default="sealbox")
    parser.add_argument("--profile-workloads", default="get_1k,put_1k",
                        help="put_1g_stream/put_1g_plain profile one large PUT each")
    parser.add_argument("--rev", help="serve sealbox from this git revision (extracted with "
                        "git archive into the temp dir) instead of the working tree")
    parser.add_argument("--base", metavar="REV",
                        help="also serve REV as the peer sealbox-base (add it to --peers), so a "
                        "change is measured before and after in the same run")
    parser.add_argument("--keep-tmp", action="store_true")
    args = parser.parse_args(argv)
    args.stamp = time.strftime("%Y%m%d-%H%M%S")
    if (os.cpu_count() or 1) < 2:
        parser.error("needs two cores: one for the servers, one for wrk")
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} not found (apt-get install -y nginx wrk util-linux)")

    tmp = Path(tempfile.mkdtemp(prefix="sealbox-bench-"))
    args.source = use_source(args.rev, tmp)
    print(f"sealbox from {args.source}", flush=True)
    makers = {
        "sealbox": lambda: SealboxPeer("sealbox", tmp, server="sealbox"),
        "sealbox-uvicorn": lambda: SealboxPeer("sealbox-uvicorn", tmp, server="uvicorn"),
        "sealbox-granian": lambda: SealboxPeer("sealbox-granian", tmp, server="granian"),
        # The same, with pathsend hidden from the app: 1 MiB body chunks.
        "sealbox-granian-stream": lambda: SealboxPeer(
            "sealbox-granian-stream", tmp, server="granian",
            factory="variants:create_app_streaming"),
        # The same as an IAM user with 10 policies on a bucket with a 20-statement policy.
        "sealbox-policies": lambda: SealboxPoliciesPeer("sealbox-policies", tmp),
        # The edge: the same objects through a distribution, signed URLs, cache hits.
        "sealbox-edge": lambda: SealboxEdgePeer("sealbox-edge", tmp, server="sealbox"),
        # --base REV: the same server from another revision, for before/after.
        "sealbox-base": lambda: SealboxPeer("sealbox-base", tmp, server="sealbox",
                                            source=extract_source(args.base, tmp)[0]),
        "nginx": lambda: NginxPeer("nginx", tmp),
        "moto": lambda: MotoPeer("moto", tmp),
    }
    names = [p for p in args.peers.split(",") if p]
    if "sealbox-base" in names and not args.base:
        parser.error("the peer sealbox-base needs --base REV")
    wanted = {n for g in args.workloads.split(",") for n in GROUPS.get(g, (g,))}
    unknown = wanted - {w.name for w in WORKLOADS}
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    workloads = [w for w in WORKLOADS if w.name in wanted]
    source: SourceFile | None = None
    peers: list[Peer] = []
    runs: list[dict[str, Any]] = []
    profiles: dict[str, Any] = {}
    try:
        for name in names:
            peer = makers[name]()
            peers.append(peer)
            peer.start()
            peer.prepare()
            print(f"started {name} on {peer.base} (checked: objects, signatures)", flush=True)
        if any(w.kind == "upload" for w in workloads) or any(
                n.startswith("put_1g") for n in args.profile_workloads.split(",")):
            started = time.monotonic()
            source = make_source(tmp / "upload.bin", args.upload_mib * MiB)
            print(f"wrote {source.path} ({args.upload_mib} MiB) in "
                  f"{time.monotonic() - started:.1f} s", flush=True)
        for round_no in range(args.rounds):
            # Every other round runs the peers in reverse: whoever runs first in a
            # round measured ~8 % faster on this machine (two sealboxes, same
            # code), which an unchanging order would book to one peer.
            order = peers if round_no % 2 == 0 else peers[::-1]
            for w in workloads:
                for peer in order:
                    if w.kind == "upload":
                        if w.name not in peer.uploads:
                            continue
                        assert source is not None
                        m = measure_upload(peer.uploads[w.name], f"{w.name}.bin", source,
                                           peer.pids(), int(LOAD_CPU), cpu_seconds)
                        runs.append({"round": round_no, "workload": w.name, "peer": peer.name,
                                     **m})
                        flag = "" if m["problem"] is None else f"  FAILED: {m['problem']}"
                        print(f"round {round_no + 1} {w.title:<28} {peer.name:<22} "
                              f"{m['mb_s']:>8.1f} MB/s in {m['seconds']:.1f} s "
                              f"(+fsync {m['mb_s_with_fsync']:.1f} MB/s), server CPU "
                              f"{100 * m['server_cpu_util']:.0f}%, client CPU "
                              f"{100 * m['client_cpu_util']:.0f}%, RSS peak "
                              f"{m['rss_peak_mib']:.0f} MiB, load "
                              f"{m['loadavg_1m_before']:.1f}{flag}", flush=True)
                        continue
                    if w.name not in peer.targets:
                        continue
                    m = measure(peer, w, args)
                    runs.append({"round": round_no, "workload": w.name, "peer": peer.name, **m})
                    flag = "" if m["errors"] == 0 else f"  ERRORS {m['raw']['errors']}"
                    print(f"round {round_no + 1} {w.title:<28} {peer.name:<22} "
                          f"{m['rps']:>9.0f} req/s {m['mb_s']:>8.1f} MB/s "
                          f"(server CPU {100 * m['server_cpu_util']:.0f}%, "
                          f"load {m['loadavg_1m_before']:.1f}){flag}", flush=True)
        if args.profile:
            RESULTS.mkdir(exist_ok=True)
            for peer in peers:
                if peer.name in args.profile_peers.split(","):
                    for workload in args.profile_workloads.split(","):
                        if workload in peer.uploads and source is not None:
                            profiles[f"{peer.name}/{workload}"] = profile_upload(
                                peer, workload, source, args)
                        elif workload in peer.targets:
                            profiles[f"{peer.name}/{workload}"] = profile(peer, workload, args)
    finally:
        for peer in peers:
            peer.stop()
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    medians: dict[tuple[str, str], dict[str, Any]] = {}
    for w in workloads:
        for name in names:
            mine = [r for r in runs if r["workload"] == w.name and r["peer"] == name]
            if mine:
                medians[(w.name, name)] = {
                    k: statistics.median(r[k] for r in mine) for k, v in mine[0].items()
                    if isinstance(v, (int, float)) and k not in ("round", "errors", "rss_pid")}
                medians[(w.name, name)]["errors"] = sum(r["errors"] for r in mine)
                if "body" in mine[0]:
                    medians[(w.name, name)]["body"] = mine[0]["body"]
    sealboxes = [n for n in names if n == "sealbox" or n.startswith("sealbox-")]
    found = ratios(medians, sealboxes)

    print()
    print(f"{args.rounds} round(s), {args.duration:g} s measured after {args.warmup:g} s warm-up, "
          f"{args.connections} connections; servers on cpu {SERVER_CPU}, wrk on cpu {LOAD_CPU}")
    if any(w.kind == "wrk" for w in workloads):
        print(table(medians, names))
    if any(w.kind == "upload" for w in workloads):
        print()
        print(f"one {args.upload_mib} MiB file per PUT, one connection, medians of "
              f"{args.rounds}; +fsync: nginx's answer plus an fsync of the stored file "
              "(sealbox fsyncs before answering); RSS of the server process")
        print(upload_table(medians, names))
    print()
    print("targets (sealbox / reference, one run):")
    for r in found:
        per_cpu = r["ratio_per_cpu_s"]
        note = f"  (per server CPU-second: {per_cpu:.3f})" if per_cpu else ""
        if "ratio_vs_reference_fsynced" in r:
            note += f"  (vs {r['reference']} + fsync: {r['ratio_vs_reference_fsynced']:.3f})"
        print(f"  {r['sealbox']:<22} {r['workload']:<7} vs {r['reference']:<6} {r['metric']:<5}"
              f" {r['ratio']:>7.3f}  target >= {r['target']:<5g} "
              f"{'MET   ' if r['met'] else 'MISSED'}{note}")
    comparison: dict[str, dict[str, Any]] = {}
    base = "sealbox"
    for other in (n for n in sealboxes if n != base and base in names):
        print()
        print(f"HTTP server: {other} / {base}   (req/s, and per server CPU-second)")
        for w in workloads:
            if w.kind != "wrk":
                continue
            u, g = medians.get((w.name, base)), medians.get((w.name, other))
            if u and g and u["rps"] and u["req_per_cpu_s"]:
                pair = {"rps": g["rps"] / u["rps"],
                        "per_cpu_s": g["req_per_cpu_s"] / u["req_per_cpu_s"]}
                comparison.setdefault(other, {})[w.name] = pair
                print(f"  {w.title:<30} {pair['rps']:>6.2f}x   {pair['per_cpu_s']:>6.2f}x")
    for name, prof in profiles.items():
        print()
        print(f"py-spy, {name}, {prof['samples']} samples ({prof['file']}):")
        print("  self time:")
        for fn, pct in prof["self"]:
            print(f"    {pct:>5.1f}%  {fn}")
        print("  inclusive (sealbox functions):")
        for fn, pct in prof["inclusive"]:
            print(f"    {pct:>5.1f}%  {fn}")

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{args.stamp}.json"
    out.write_text(json.dumps({
        "when": args.stamp, "source": args.source, "versions": tool_versions(),
        "settings": {k: v for k, v in vars(args).items()},
        "cpus": {"servers": SERVER_CPU, "load": LOAD_CPU},
        "runs": runs,
        "medians": {f"{w}/{p}": m for (w, p), m in medians.items()},
        "targets": found, "over_sealbox_server": comparison, "profiles": profiles,
    }, indent=2))
    print(f"\nwrote {out}")
    bad = sum(r["errors"] for r in runs)
    if bad:
        print(f"WARNING: {bad} failed requests in the measured runs; figures are suspect")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
