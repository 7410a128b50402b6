"""A private, unprivileged ("session") libvirtd with all its state in one directory, and the
domain XML of a tiny guest laid out the way KubeVirt's virt-launcher lays out a VMI.

`SessionDaemon().start()` creates a directory under the system temp dir (short, so unix socket
paths stay under the 108-byte `sun_path` limit), writes a `qemu.conf` and `libvirtd.conf`
there, and runs `libvirtd` with `XDG_RUNTIME_DIR`, `XDG_CONFIG_HOME`, `XDG_CACHE_HOME` and
`HOME` pointing into it: no /etc changes, no users created, no systemd, no virtlogd
(`stdio_handler = "file"`). As root the daemon (and so QEMU) runs as `nobody` (KubeVirt's
non-root launcher runs as uid 107 the same way); that uid cannot read root's 0700 temp dirs,
so the directory is 0755 and the guest's kernel and initramfs are copied into it.

`stop()` destroys the domains (QEMU outlives libvirtd: it is daemonized), stops the daemon,
kills any process still running from the directory (matched by its command line, which names
the directory), and removes the directory. Idempotent; also run at interpreter exit. If this
process dies without stopping it (SIGKILL, a closed terminal's SIGHUP), a small reaper
process started with the daemon does the same.

The URI is `qemu+unix:///session?socket=<dir>/run/libvirt/libvirt-sock`.

`domain_xml()` is KubeVirt's serial layout (`pkg/virt-launcher/virtwrap/converter/
compute/console.go`): `<serial type='unix'>` with QEMU listening on a socket plus a `<log>`
of everything, and `<console type='pty'>` aliased to serial port 0 (which is why libvirt's
`openConsole` refuses these domains). Always `<domain type='qemu'>` (TCG): KVM may be
present but broken (nested virtualisation), and the tiny guest boots in ~2 s without it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuid_module
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tui.demo.guest_image import GuestImage, which

__all__ = ["DaemonError", "SessionDaemon", "domain_xml"]

log = logging.getLogger(__name__)

NOBODY = 65534


class DaemonError(RuntimeError):
    """The daemon did not start (the message says why and where its log is)."""


def _attr(value: object) -> str:
    return quoteattr(str(value))


def domain_xml(
    name: str,
    guest: GuestImage,
    serial_socket: str | os.PathLike[str] | None,
    *,
    serial_log: str | os.PathLike[str] | None = None,
    uid: str | None = None,
    domain_uuid: str | None = None,
    memory_mib: int = 96,
    tb_cache_mib: int = 32,
    vcpus: int = 1,
    namespace: str | None = None,
) -> str:
    """A TCG domain booting `guest`: its serial port on a unix socket as KubeVirt has it, or
    with `serial_socket=None` on a pty, as plain libvirt hosts have it (`virsh console`)."""
    log_line = f"<log file={_attr(serial_log)} append='on'/>" if serial_log is not None else ""
    if serial_socket is None:
        serial = f"""<serial type='pty'><target port='0'/>{log_line}</serial>"""
    else:
        serial = f"""<serial type='unix'>
      <target port='0'/>
      <source mode='bind' path={_attr(serial_socket)}/>
      {log_line}
    </serial>"""
    metadata = ""
    if uid is not None:
        # virt-launcher records the VMI's uid (and more) under this namespace.
        ns = f"<namespace>{escape(namespace)}</namespace>" if namespace else ""
        metadata = (
            "<metadata><kubevirt xmlns='http://kubevirt.io'>"
            f"<uid>{escape(uid)}</uid>{ns}</kubevirt></metadata>"
        )
    return f"""<domain type='qemu'>
  <name>{escape(name)}</name>
  <uuid>{escape(domain_uuid or str(uuid_module.uuid4()))}</uuid>
  {metadata}
  <memory unit='MiB'>{int(memory_mib)}</memory>
  <vcpu>{int(vcpus)}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{escape(str(guest.kernel))}</kernel>
    <initrd>{escape(str(guest.initrd))}</initrd>
    <cmdline>{escape(guest.cmdline)}</cmdline>
  </os>
  <features><acpi/><tcg><tb-cache unit='MiB'>{int(tb_cache_mib)}</tb-cache></tcg></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{escape(which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64")}</emulator>
    <controller type='usb' model='none'/>
    {serial}
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def _processes_mentioning(marker: str, exclude: int | None = None) -> list[int]:
    """Pids whose command line contains `marker` (our state directory)."""
    pids = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (os.getpid(), exclude):
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle in f.read():
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


# The reaper: a tiny process of its own session that waits for EOF on its stdin (a pipe only
# we hold the other end of), then kills whatever still runs from the directory and removes it.
# stop() does the same work and closes the pipe; if we die first (SIGKILL, a terminal's
# SIGHUP), the reaper still leaves nothing behind.
_REAPER = r"""
import os, shutil, signal, sys, time
folder = sys.argv[1]
sys.stdin.buffer.read()
needle = folder.encode()
def ours():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    if needle in f.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found
for _ in range(100):
    pids = ours()
    if not pids:
        break
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.05)
shutil.rmtree(folder, ignore_errors=True)
"""


class SessionDaemon:
    """A session libvirtd in a private directory (see the module docstring)."""

    def __init__(
        self, *, parent: str | os.PathLike[str] | None = None, run_as: int | None = None
    ) -> None:
        self.parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        # As root, the daemon runs as nobody: a root session daemon would be the system one.
        self.run_as = run_as if run_as is not None else (NOBODY if os.geteuid() == 0 else None)
        self.dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None
        self._lock = threading.Lock()
        self._conn: Any = None
        self._guest_copies: dict[tuple[str, str], GuestImage] = {}
        self._reaper: subprocess.Popen[bytes] | None = None
        self._reaper_pipe: int | None = None

    # ---- paths ---------------------------------------------------------------------------

    @property
    def socket(self) -> Path:
        assert self.dir is not None
        return self.dir / "run" / "libvirt" / "libvirt-sock"

    @property
    def uri(self) -> str:
        return f"qemu+unix:///session?socket={self.socket}"

    @property
    def log_file(self) -> Path:
        assert self.dir is not None
        return self.dir / "libvirtd.log"

    def vmi_dir(self, uid: str) -> Path:
        """Where a VMI's serial socket and log go (KubeVirt: /var/run/kubevirt-private/<uid>)."""
        assert self.dir is not None
        path = self.dir / "vmi" / uid
        path.mkdir(parents=True, exist_ok=True)
        self._give(path)
        return path

    def _give(self, path: Path) -> None:
        """Hand a path to the daemon's uid."""
        if self.run_as is not None:
            os.chown(path, self.run_as, self.run_as)

    # ---- life cycle --------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> SessionDaemon:
        if which("libvirtd") is None:
            raise DaemonError("libvirtd is not installed")
        started = time.monotonic()
        self.dir = Path(tempfile.mkdtemp(prefix="kvtui-lv-", dir=self.parent))
        os.chmod(self.dir, 0o755)  # the daemon's uid must reach the kernel and sockets
        for sub in ("home", "config/libvirt", "cache", "run", "guest", "vmi"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        config = self.dir / "config" / "libvirt"
        # The session qemu.conf is $XDG_CONFIG_HOME/libvirt/qemu.conf.
        (config / "qemu.conf").write_text('stdio_handler = "file"\n')
        (config / "libvirtd.conf").write_text(f'log_outputs = "3:file:{self.log_file}"\n')
        if self.run_as is not None:
            for root, dirs, files in os.walk(self.dir):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(root, name), self.run_as, self.run_as)
            os.chown(self.dir, self.run_as, self.run_as)
        os.chmod(self.dir / "run", 0o700)
        self._start_reaper()
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.dir / "home"),
            "XDG_RUNTIME_DIR": str(self.dir / "run"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "XDG_CACHE_HOME": str(self.dir / "cache"),
        }
        kwargs: dict[str, Any] = {}
        if self.run_as is not None:
            kwargs.update(user=self.run_as, group=self.run_as, extra_groups=[])
        out = open(self.dir / "daemon.out", "wb")  # noqa: SIM115 - handed to the child
        try:
            self.process = subprocess.Popen(
                [which("libvirtd") or "libvirtd", "-f", str(config / "libvirtd.conf")],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl+C meant for kvtui must not kill it before we have
                # destroyed its domains (QEMU would outlive it).
                start_new_session=True,
                close_fds=True,
                **kwargs,
            )
        finally:
            out.close()
        _live.add(self)
        deadline = started + timeout
        while not self.socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                detail = self._daemon_output()
                self.stop()
                raise DaemonError(
                    f"libvirtd did not start{': ' + detail if detail else ''} "
                    f"(its log: {self.log_file})"
                )
            time.sleep(0.02)
        self.start_seconds = time.monotonic() - started
        return self

    def _start_reaper(self) -> None:
        assert self.dir is not None
        read_end, self._reaper_pipe = os.pipe()
        try:
            self._reaper = subprocess.Popen(
                [sys.executable, "-c", _REAPER, str(self.dir)],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(read_end)

    def _stop_reaper(self) -> None:
        pipe, self._reaper_pipe = self._reaper_pipe, None
        if pipe is not None:
            os.close(pipe)  # EOF: the reaper looks (finds nothing) and exits
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                reaper.wait(5)

    def _daemon_output(self) -> str:
        if self.dir is None:
            return ""
        with contextlib.suppress(OSError):
            text = (self.dir / "daemon.out").read_text(errors="replace").strip()
            return " ".join(text.splitlines()[-3:])[:400]
        return ""

    def connect(self) -> Any:
        """A libvirt connection to the daemon (one, shared; thread-safe in libvirt)."""
        from tui.libvirt_loop import ensure_event_loop, quiet_errors

        with self._lock:
            if self._conn is None:
                libvirt = ensure_event_loop()
                quiet_errors()
                self._conn = libvirt.open(self.uri)
            return self._conn

    def guest_copy(self, guest: GuestImage) -> GuestImage:
        """The guest's kernel and initramfs where the daemon's uid can read them (hard-linked
        when possible, else copied)."""
        assert self.dir is not None
        key = (str(guest.kernel), str(guest.initrd))
        with self._lock:
            copy = self._guest_copies.get(key)
            if copy is not None:
                return copy
            folder = self.dir / "guest"
            kernel = folder / f"vmlinuz-{len(self._guest_copies)}"
            initrd = folder / f"initrd-{len(self._guest_copies)}.cpio.gz"
            for source, target in ((guest.kernel, kernel), (guest.initrd, initrd)):
                try:
                    # A hard link costs no space; the cache replaces files, never rewrites
                    # them, so the linked bytes stay as they are.
                    if os.stat(source).st_mode & 0o004 == 0:
                        raise PermissionError("not world-readable")
                    os.link(source, target)
                except OSError:
                    shutil.copyfile(source, target)
                    target.chmod(0o644)
            copy = GuestImage(
                kernel=kernel,
                initrd=initrd,
                cmdline=guest.cmdline,
                banner=guest.banner,
                prompt=guest.prompt,
            )
            self._guest_copies[key] = copy
            return copy

    def stop(self, timeout: float = 10.0) -> None:
        """Destroy every domain, stop the daemon, kill leftovers, remove the directory."""
        _live.discard(self)
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                for dom in conn.listAllDomains():
                    with contextlib.suppress(Exception):
                        if dom.isActive():
                            dom.destroy()
                    with contextlib.suppress(Exception):
                        dom.undefine()
            with contextlib.suppress(Exception):
                conn.close()
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.dir is not None:
            # QEMU (daemonized, so not our child) and anything else started from the dir.
            for pid in _processes_mentioning(str(self.dir)):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _processes_mentioning(str(self.dir)) and time.monotonic() < deadline:
                time.sleep(0.05)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        self._stop_reaper()

    def __enter__(self) -> SessionDaemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_live: set[SessionDaemon] = set()


@atexit.register
def _stop_all() -> None:
    for daemon in list(_live):
        with contextlib.suppress(Exception):
            daemon.stop(timeout=3)
