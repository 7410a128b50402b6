"""`kvtui node` as a user starts it: a real process, a real pty, libvirt's test driver.

Also the ways it refuses to start, each one line on stderr with exit status 1: no
libvirt-python (a stand-in module on PYTHONPATH makes `import libvirt` fail as it would),
nothing to show for a non-root user, usage errors.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kvtest import skip_unless

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update({"PYTHONPATH": str(ROOT), **extra})
    return env


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def libvirt_installed() -> bool:
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return False
    return True


def test_help_names_the_options() -> None:
    result = run("node", "--help")
    assert result.returncode == 0
    for option in ("--uri", "--no-discover", "--interval", "--readonly"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--interval", "0.1"), "--interval must be between 0.5 and 60 seconds"),
        (("--no-discover",), "--no-discover needs at least one --uri"),
    ],
)
def test_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = run("node", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_without_libvirt_python_says_how_to_install(tmp_path: Path) -> None:
    (tmp_path / "libvirt.py").write_text("raise ImportError('No module named libvirt')\n")
    result = run("node", "--uri", "test:///default", env=_env(PYTHONPATH=f"{tmp_path}:{ROOT}"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "pip install 'kvtui[node]'" in lines[0] and "libvirt-dev" in lines[0]
    assert "Traceback" not in result.stderr


NON_ROOT = """
import os, sys
sys.path.insert(0, {root!r})
from tui.cli import main
# Everything the command loads, loaded while the interpreter's files are still readable.
import argparse, gettext, locale, libvirt, tui.libvirt_loop, tui.node.discovery
gettext.gettext("usage: ")
if os.geteuid() == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
sys.exit(main(["node"]))
"""


def test_non_root_with_nothing_found_says_run_as_root() -> None:
    skip_unless(libvirt_installed(), "libvirt-python is not installed")
    result = subprocess.run(
        [sys.executable, "-c", NON_ROOT.format(root=str(ROOT))],
        cwd="/",
        env=_env(HOME="/nonexistent"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "found no libvirt daemons" in result.stderr
    assert "run it as root" in result.stderr and "--uri" in result.stderr


def _read_until(fd: int, needles: list[bytes], timeout: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if all(n in seen for n in needles):
                return seen
    pytest.fail(f"never saw {needles!r}; got {seen[-2000:]!r}")


def _node_in_a_pty(*args: str) -> tuple[int | None, bytes]:
    """`kvtui node ARGS` at 80x24 until its domain list shows, then q: (exit status, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: kvtui in the pty
        os.environ.update(_env(TERM="xterm-256color", COLUMNS="80", LINES="24"))
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "tui", "node", *args])
    output = b""
    try:
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        output = _read_until(fd, [b"kvtui node", b"running", b"Domains"])
        os.write(fd, b"q")
        deadline = time.monotonic() + 15
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            try:
                if select.select([fd], [], [], 0.2)[0]:
                    output += os.read(fd, 65536)
            except OSError:
                pass
        try:  # what the process wrote as it exited
            while select.select([fd], [], [], 0.2)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                output += chunk
        except OSError:
            pass
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
        return code, output
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def test_kvtui_node_test_default_in_a_pty() -> None:
    """`kvtui node --uri test:///default` at 80x24: the domain shows, q quits with status 0."""
    skip_unless(libvirt_installed(), "libvirt-python is not installed")
    status, _ = _node_in_a_pty("--uri", "test:///default")
    assert status == 0


def test_debug_names_its_log_file_on_exit(tmp_path: Path) -> None:
    """As `kvtui --debug`: the log is written, and where it went is said on the way out."""
    skip_unless(libvirt_installed(), "libvirt-python is not installed")
    log_file = tmp_path / "node.log"
    status, output = _node_in_a_pty(
        "--uri", "test:///default", "--debug", "--log-file", str(log_file)
    )
    assert status == 0
    assert f"debug log written to {log_file}".encode() in output
    assert "kvtui exits" in log_file.read_text()


def test_unwritable_log_file_is_one_line(tmp_path: Path) -> None:
    skip_unless(libvirt_installed(), "libvirt-python is not installed")
    (tmp_path / "a-file").write_text("")
    log_file = tmp_path / "a-file" / "node.log"  # under a file: even root cannot
    result = run("node", "--uri", "test:///default", "--log-file", str(log_file))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot write the log file {log_file}" in lines[0]


def test_unreadable_kubeconfig_is_one_line(tmp_path: Path) -> None:
    skip_unless(libvirt_installed(), "libvirt-python is not installed")
    missing = tmp_path / "no-such-kubeconfig"
    result = run("node", "--uri", "test:///default", "--kubeconfig", str(missing))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "Traceback" not in result.stderr
