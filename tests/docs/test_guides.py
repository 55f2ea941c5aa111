"""Every command in README.md and docs/*.md is run, and what it prints is
checked against what the guide says it prints.

The convention, which the guides follow:

- A fenced block whose info string is ``sh`` is run. The ``sh`` blocks of
  one file run in order, in one bash (``set -eu -o pipefail``), so variables
  and the working directory carry from one block to the next, as in a
  reader's terminal. Each file starts in a fresh temporary directory.
- ``sh no-test`` is shown to the reader and never run (installing, keys a
  reader copies from the screen).
- ``sh serve`` holds one ``sealbox serve …`` command. The test starts it in
  the background instead (stopping the one before, if any; the data
  directory stays) and waits until it answers.
- A ``text`` block right after a run block (only blank lines between) is
  what that block prints, stdout and stderr together. Lines are compared
  one by one, trailing spaces ignored; ``...`` inside a line matches any
  text, and a line that is only ``...`` matches any number of lines.
  Without a ``text`` block only the exit status is checked: a command that
  fails fails the test. (A ``text`` block after ``sh serve`` or
  ``sh no-test`` is not checked.) A ``text`` block anywhere else, or a
  command block fenced as ``bash`` or ``console``, fails the test: it
  would never be checked.

The guides are written for a server on ``127.0.0.1:9000`` (and its edge
port on ``127.0.0.1:9001``, and a web site's own service on
``localhost:8000``). The test uses free ports instead: it writes its ports
for ``:9000``, ``:9001`` and ``:8000`` in the commands and writes them back
in the output before comparing. It also sets what a reader
copies from ``sealbox serve``'s first start: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` (the server is given them), and
``AWS_DEFAULT_REGION``, and ``SEALBOX_META_DSN`` (a fresh PostgreSQL
database) for a guide that tells the reader to export it; a guide that
tells the reader to export ``SEALBOX_BLOB_S3_ENDPOINT`` gets moto's S3
server, with the bucket ``sealbox-objects``, and the ``SEALBOX_BLOB_S3_*``
variables that reach it. ``sealbox``, ``python`` and
``python3`` are this tree's code and this interpreter.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import sealbox
from sealbox.testing.s3_backend import MotoServer
from sealbox.testing.server import TEST_ACCESS_KEY, TEST_SECRET_KEY, free_port

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The ports the guides are written for: the server, its edge port, a web
# page's own server (a signing service) and a second node.
S3_PORT, EDGE_PORT, SITE_PORT, NODE_PORT = 9000, 9001, 8000, 9002
BLOCK_TIMEOUT = 60.0
DONE = "__sealbox_docs_block_done__"
_FENCE = re.compile(r"^```(\S*)[ \t]*(.*)$")


@dataclass(frozen=True)
class Block:
    """A fenced block: its language, its flags (``no-test``, ``serve``), its
    text and where it starts."""

    language: str
    flags: frozenset[str]
    text: str
    line: int
    follows_closely: bool  # only blank lines between it and the block before


@dataclass(frozen=True)
class Step:
    """A block to run (or a server to start) and what it should print."""

    block: Block
    expected: Block | None


def fenced_blocks(markdown: str) -> list[Block]:
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i, last_end = 0, -2
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        between = lines[last_end + 1:start] if last_end >= 0 else ["x"]
        blocks.append(Block(opened.group(1), frozenset(opened.group(2).split()),
                            "\n".join(body) + "\n", start + 1,
                            not any(line.strip() for line in between)))
        last_end = i
        i += 1
    return blocks


def steps(markdown: str) -> list[Step]:
    blocks = fenced_blocks(markdown)
    found: list[Step] = []
    for index, block in enumerate(blocks):
        if block.language != "sh" or "no-test" in block.flags:
            continue
        after = blocks[index + 1] if index + 1 < len(blocks) else None
        expected = after if (after is not None and after.language == "text"
                             and after.follows_closely and "no-test" not in after.flags
                             and "serve" not in block.flags) else None
        found.append(Step(block, expected))
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; ``...`` in a line is any text, a line ``...`` any lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(part) for part in head.rstrip().split("..."))
    return re.fullmatch(pattern, actual[0].rstrip()) is not None and matches(rest, actual[1:])


class Ports:
    """The test's ports for the guides' 9000, 9001, 8000 and 9002, both ways."""

    def __init__(self) -> None:
        self.s3, self.edge = free_port(), free_port()
        self._pairs = ((S3_PORT, self.s3), (EDGE_PORT, self.edge), (SITE_PORT, free_port()),
                       (NODE_PORT, free_port()))

    def into_command(self, text: str) -> str:
        """``host:9000`` and ``--port 9000`` (not a bare ``9000``), and the
        others, become the test's."""
        for guide, test in self._pairs:
            text = re.sub(rf"(?<=[\w\].]):{guide}\b", f":{test}", text)
            text = re.sub(rf"(?<=--port )({guide})\b", str(test), text)
        return text

    def into_output(self, text: str) -> str:
        for guide, test in self._pairs:
            text = re.sub(rf":{test}\b", f":{guide}", text)
        return text


def shims(where: Path) -> Path:
    """``sealbox``, ``python`` and ``python3`` that run this tree with this
    interpreter (and its ``aws``), to go first on PATH."""
    where.mkdir()
    for name, command in (("sealbox", f'"{sys.executable}" -m sealbox'),
                          ("python", f'"{sys.executable}"'), ("python3", f'"{sys.executable}"')):
        script = where / name
        script.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
        script.chmod(0o755)
    # The AWS CLI installed with this interpreter, not through a slower
    # version manager's shim.
    aws = Path(sys.executable).parent / "aws"
    if aws.exists():
        (where / "aws").symlink_to(aws)
    return where


def environment(tmp: Path, meta_dsn: str | None,
                blob_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SEALBOX_", "PYTEST_", "COV_"))}
    source = str(Path(sealbox.__file__).resolve().parents[1])
    env.update(
        PATH=f"{shims(tmp / '.bin')}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(p for p in (source, env.get("PYTHONPATH", "")) if p),
        HOME=str(tmp / ".home"),
        AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp / ".home" / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / ".home" / "aws-credentials"),
        SEALBOX_ROOT_ACCESS_KEY=TEST_ACCESS_KEY, SEALBOX_ROOT_SECRET_KEY=TEST_SECRET_KEY,
        # The guides' servers keep one worker, as before --workers auto.
        SEALBOX_WORKERS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    if meta_dsn:
        env["SEALBOX_META_DSN"] = meta_dsn
    env.update(blob_env or {})
    (tmp / ".home").mkdir()
    return env


class Shell:
    """One bash a guide's blocks run in, one after another."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, cwd=cwd, env=env, text=True, start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._send("set -eu -o pipefail")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def run(self, script: Path) -> tuple[list[str], bool]:
        """The block's output lines, and whether it finished (a failing
        command ends the shell: ``set -e``)."""
        # From a file, stdin from /dev/null: a command that reads stdin must
        # not eat the blocks that follow.
        self._send(f"source {shlex.quote(str(script))} < /dev/null\nprintf '\\n{DONE}\\n'")
        out: list[str] = []
        deadline = time.monotonic() + BLOCK_TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                return [*out, f"(no end after {BLOCK_TIMEOUT:.0f} s)"], False
            if line is None:
                return [*out, f"(the shell ended: exit status {self.process.wait()})"], False
            if line == DONE:
                if out and out[-1] == "":
                    out.pop()  # the newline printed before the marker
                return out, True
            out.append(line)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the shell and what it started
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Server:
    """The guide's ``sealbox serve``, on the test's ports, in the background."""

    def __init__(self, cwd: Path, env: dict[str, str], ports: Ports) -> None:
        self.cwd, self.env, self.ports = cwd, env, ports
        self.process: subprocess.Popen[bytes] | None = None
        self.log = cwd / ".sealbox-serve.log"

    def start(self, command: str) -> None:
        self.stop()
        words = shlex.split(command.replace("\\\n", " "), comments=True)
        assert words[:2] == ["sealbox", "serve"], f"a serve block runs sealbox serve: {words}"
        args = self._ports(words[2:])
        tls = "--tls-cert" in args
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sealbox", "serve", "--port", str(self.ports.s3),
                 "--log-level", "warning", *args], cwd=self.cwd, env=self.env, stdout=log,
                stderr=subprocess.STDOUT)
        scheme = "https" if tls else "http"
        self._wait(f"{scheme}://127.0.0.1:{self.ports.s3}/_sealbox/health", tls)

    def _ports(self, args: list[str]) -> list[str]:
        """``args`` without ``--port`` (the test gives its own) and with the
        test's edge port for ``--edge-port``."""
        out: list[str] = []
        items = iter(args)
        for arg in items:
            name, eq, _ = arg.partition("=")
            if name in ("--port", "--edge-port"):
                if not eq:
                    next(items)  # the value, as a separate word
                if name == "--edge-port":
                    out += ["--edge-port", str(self.ports.edge)]
                continue
            out.append(arg)
        return out

    def _wait(self, url: str, tls: bool) -> None:
        context = None
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"sealbox serve exited:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=1, context=context) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"sealbox serve did not answer:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def sandbox(request: pytest.FixtureRequest,
            tmp_path: Path) -> Iterator[tuple[Shell, Server, Ports]]:
    """A shell, a server to start and the ports, in a temporary directory.
    A guide that tells the reader to ``export SEALBOX_META_DSN=`` gets a
    fresh PostgreSQL database there (skipped, or failed in CI, as conftest
    says)."""
    callspec = getattr(request.node, "callspec", None)
    guide: Path | None = callspec.params.get("guide") if callspec else None
    for tool, package in (("aws", "pip install -e '.[test]'"), ("curl", "apt-get install curl")):
        if shutil.which(tool) is None and not (Path(sys.executable).parent / tool).exists():
            why = f"the guides run {tool}, which is not installed ({package})"
            if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
                pytest.fail(f"{why}; CI must run the guides", pytrace=False)
            pytest.skip(why)
    meta_dsn = None
    if guide is not None and "export SEALBOX_META_DSN=" in guide.read_text():
        meta_dsn = request.getfixturevalue("postgres_cluster").new_database()
    blob_env = None
    if guide is not None and "export SEALBOX_BLOB_S3_ENDPOINT=" in guide.read_text():
        moto = MotoServer(log_path=tmp_path / "moto.log").start()
        request.addfinalizer(moto.stop)
        moto.create_bucket("sealbox-objects")
        blob_env = moto.env()
    env = environment(tmp_path, meta_dsn, blob_env)
    work = tmp_path / "work"
    work.mkdir()
    ports = Ports()
    shell, server = Shell(work, env), Server(work, env, ports)
    try:
        yield shell, server, ports
    finally:
        shell.close()
        server.stop()


@pytest.mark.parametrize("guide", GUIDES, ids=[p.relative_to(ROOT).as_posix() for p in GUIDES])
def test_every_command_in_the_guide_runs_and_prints_what_it_says(
        guide: Path, sandbox: tuple[Shell, Server, Ports], tmp_path: Path) -> None:
    failure = run_guide(guide.read_text(), guide.relative_to(ROOT).as_posix(), *sandbox,
                        tmp_path)
    if failure:
        pytest.fail(failure, pytrace=False)


def run_guide(markdown: str, where: str, shell: Shell, server: Server, ports: Ports,
              scripts: Path) -> str | None:
    """Run a guide's steps in order; what went wrong first, or None."""
    for number, step in enumerate(steps(markdown)):
        block = step.block
        if "serve" in block.flags:
            server.start(block.text)
            continue
        script = scripts / f"block-{number}.sh"
        script.write_text(ports.into_command(block.text))
        began = time.monotonic()
        out, finished = shell.run(script)
        if os.environ.get("SEALBOX_DOCS_TIMES"):  # where a guide's time goes
            print(f"{where}:{block.line}: {time.monotonic() - began:.1f} s", file=sys.stderr)
        out = ports.into_output("\n".join(out)).split("\n") if out else []
        shown = "\n".join(out)
        if not finished:
            return (f"{where}:{block.line}: the block failed:\n{block.text}--- output\n"
                    f"{shown}\n--- server log\n{_tail(server.log)}")
        if step.expected is not None:
            expected = step.expected.text.rstrip("\n").split("\n")
            if not matches(expected, out):
                return (f"{where}:{block.line}: the output is not what line "
                        f"{step.expected.line} says\n--- expected\n{step.expected.text}"
                        f"--- printed\n{shown}")
    return None


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(none)"


# -- the harness's own rules ------------------------------------------------------------

@pytest.mark.parametrize(("expected", "actual", "ok"), [
    (["a"], ["a"], True),
    (["a"], ["b"], False),
    (["a ...", "b"], ["a 1 2", "b"], True),
    (["...", "z"], ["x", "y", "z"], True),
    (["...", "z"], [], False),
    (["x", "..."], ["x"], True),
    (["x"], ["x", "y"], False),
    (["...", "K..."], ["created", "K123"], True),
])
def test_expected_output_wildcards(expected: list[str], actual: list[str], ok: bool) -> None:
    assert matches(expected, actual) is ok


def test_a_text_block_right_after_a_run_block_is_its_output() -> None:
    found = steps("```sh\necho hi\n```\n\n```text\nhi\n```\n\n```sh no-test\nx\n```\n"
                  "```text\nnot checked\n```\n```sh\necho a\n```\nprose\n```text\nb\n```\n")
    assert [(s.block.text, s.expected.text if s.expected else None) for s in found] == [
        ("echo hi\n", "hi\n"), ("echo a\n", None)]


def test_the_guides_ports_are_swapped_both_ways() -> None:
    ports = Ports()
    command = ports.into_command("curl http://127.0.0.1:9000/b http://d.x.localhost:9001/ "
                                 "--expires-in 9000")
    assert command == (f"curl http://127.0.0.1:{ports.s3}/b http://d.x.localhost:{ports.edge}/ "
                       "--expires-in 9000")
    assert ports.into_command("serve --port 9000") == f"serve --port {ports.s3}"
    assert ports.into_output(command).startswith("curl http://127.0.0.1:9000/b")


def test_every_serve_flag_is_in_the_readme() -> None:
    """The README lists every ``sealbox serve`` flag, as ``--help`` has them."""
    from sealbox.cli.main import build_parser

    parser = build_parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    flags = {option for action in serve._actions for option in action.option_strings
             if option.startswith("--") and option != "--help"}
    readme = (ROOT / "README.md").read_text()
    missing = sorted(flag for flag in flags if f"`{flag}`" not in readme)
    assert not missing, f"README.md does not list these sealbox serve flags: {missing}"


@pytest.mark.parametrize("guide", GUIDES, ids=[p.relative_to(ROOT).as_posix() for p in GUIDES])
def test_no_command_or_output_block_escapes_the_harness(guide: Path) -> None:
    """Commands are ``sh`` blocks (``bash`` or ``console`` ones would never
    run), and every ``text`` block is the output of the ``sh`` block right
    before it (one after prose would silently go unchecked)."""
    blocks = fenced_blocks(guide.read_text())
    where = guide.relative_to(ROOT).as_posix()
    for before, block in zip([None, *blocks], blocks, strict=False):
        assert block.language not in ("bash", "shell", "console", "zsh", "shell-session"), (
            f"{where}:{block.line}: write commands as ```sh (or ```sh no-test)")
        if block.language == "text":
            assert before is not None and before.language == "sh" and block.follows_closely, (
                f"{where}:{block.line}: a text block must follow its sh block, with only "
                "blank lines between")


def test_the_harness_catches_wrong_output_and_failing_commands(
        sandbox: tuple[Shell, Server, Ports], tmp_path: Path) -> None:
    """Variables carry from block to block; a wrong output and a failing
    command are reported with the guide's line, and nothing after runs."""
    guide = ("```sh\nNAME=world\n```\n\n```sh\necho \"hello $NAME\"\n```\n\n"
             "```text\nhello ...\n```\n\n```sh\necho one\n```\n\n```text\ntwo\n```\n"
             "\n```sh\ntouch after\n```\n")
    failure = run_guide(guide, "guide.md", *sandbox, tmp_path)
    assert failure is not None and failure.startswith("guide.md:13: the output is not what "
                                                      "line 17 says")
    assert not (sandbox[0].cwd / "after").exists()
    failing = "```sh\nfalse\necho not reached\n```\n"
    failure = run_guide(failing, "failing.md", *sandbox, tmp_path)
    assert failure is not None and failure.startswith("failing.md:1: the block failed")
    assert "not reached\n--- server" not in failure
