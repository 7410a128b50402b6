"""An unprivileged libvirtd for tests (importable as `libvirt_session`).

`session_daemon(fixture)` starts `libvirtd` in session mode with all its state in one short
temporary directory (as nobody when the tests run as root: a root libvirtd would want the
system's qemu setup), and copies the fixture XML there, so the daemon's test driver serves it
at `test+unix://<copy>?socket=<socket>`. `kill()` is a daemon dying under kvtui; `start()`
brings it back. Needs the `libvirtd` binary (libvirt-daemon) and, as root, `setpriv`. Start
it from the test's own thread: the daemon gets SIGKILL when the thread that started it ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kvtest import skip_unless, wait_for


class SessionDaemon:
    """An unprivileged libvirtd with all its state in one directory (as nobody when root)."""

    def __init__(self, base: Path, fixture: Path) -> None:
        self.base = base
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket = base / "run" / "libvirt" / "libvirt-sock"
        self.fixture = base / "node.xml"
        shutil.copy(fixture, self.fixture)

    @property
    def uri(self) -> str:
        return f"test+unix://{self.fixture}?socket={self.socket}"

    def start(self) -> None:
        base = self.base
        for sub in ("home", "config/libvirt", "cache", "run"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "config" / "libvirt" / "libvirtd.conf").write_text(
            f'log_outputs = "3:file:{base}/libvirtd.log"\n'
        )
        # The daemon dies with the test run, however that ends (a killed pytest left one
        # running as nobody): setpriv sets the parent-death signal after changing users.
        prefix = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
        if os.geteuid() == 0:
            for path in [base, *base.rglob("*")]:
                os.chown(path, 65534, 65534)
            prefix += ["--reuid=65534", "--regid=65534", "--clear-groups"]
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(base / "home"),
            "XDG_RUNTIME_DIR": str(base / "run"),
            "XDG_CONFIG_HOME": str(base / "config"),
            "XDG_CACHE_HOME": str(base / "cache"),
        }
        (base / "run").chmod(0o700)
        self.proc = subprocess.Popen(
            [*prefix, "libvirtd", "-f", str(base / "config" / "libvirt" / "libvirtd.conf")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.socket.exists, timeout=15, what=f"libvirtd socket {self.socket}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        if self.socket.exists():
            self.socket.unlink()


@contextlib.contextmanager
def session_daemon(fixture: Path) -> Iterator[SessionDaemon]:
    skip_unless(shutil.which("libvirtd") is not None, "libvirtd is not installed (libvirt-daemon)")
    skip_unless(
        os.geteuid() != 0 or shutil.which("setpriv") is not None, "setpriv is not installed"
    )
    base = Path(tempfile.mkdtemp(prefix="kvn-"))  # short: unix socket paths are limited
    base.chmod(0o755)
    daemon = SessionDaemon(base, fixture)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.kill()
        shutil.rmtree(base, ignore_errors=True)
