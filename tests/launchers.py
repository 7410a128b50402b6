"""Fake KubeVirt virt-launchers for end-to-end tests of `kvtui node` (importable as `launchers`).

A real virt-launcher pod runs its own libvirt daemon in the pod's mount namespace: the daemon's
socket is `/var/run/libvirt/virtqemud-sock` *inside* that namespace, and the guest's serial line
is a unix socket QEMU listens on at `/var/run/kubevirt-private/<vmi-uid>/virt-serial0`. On the
node, virt-handler reaches both through `/proc/<launcher-pid>/root/run/...`.

`Launcher` rebuilds that shape with real parts (root only):

- `unshare --mount --propagation private --pid --mount-proc --fork`: nothing mounted inside
  leaks to the host, and, as in a pod, the launcher has its own PID namespace whose PID 1 (a
  shell running libvirtd) takes every process of the launcher with it when it dies, QEMU
  included. `setpriv --pdeathsig` ties that to the thread that started the launcher, so a
  test run that is killed leaves no daemon or guest behind;
- inside: a private tmpfs on /run (`mount -n`: util-linux must not write /run/mount/utab into the
  host's /run before the tmpfs is there), /run/lock (libvirt's pty lock files), /run/libvirt,
  /run/kubevirt-private/<uid>;
- per-launcher directories bind-mounted over /etc/libvirt, /var/lib/libvirt, /var/log/libvirt
  and /var/cache/libvirt, holding a qemu.conf that works in a container (user root, no virtlogd,
  no xattrs, no cgroups, no namespaces: /work/shared/libvirt.md section 3.3(a));
- when the host has no `libvirt-qemu` user/group (Debian's libvirtd refuses to start without
  them even though qemu.conf says root), copies of /etc/passwd and /etc/group with those
  entries are bind-mounted inside the namespace only: the host's /etc is never written;
- `virtqemud-sock -> libvirt-sock` (bookworm ships only the monolithic libvirtd), then
  libvirtd in the foreground: root's (`qemu:///system`), or with `Launcher(user=107)` a
  session daemon of that uid with XDG_RUNTIME_DIR=/var/run, as KubeVirt's non-root
  launchers run (`qemu:///session`; its state in a temporary directory that uid can reach,
  QEMU reading its own copy of the guest image).

`Launcher.define_guest()` defines and starts a domain named `<namespace>_<vm>` with KubeVirt's
metadata and serial layout (`serial type='unix'` bound at the private path, with a log file, and
`console type='pty'` aliasing it), type='qemu' (TCG: KVM is broken under nested virtualisation
here) booting the tiny kernel + busybox initramfs guest.

Teardown: QEMU outlives libvirtd (it daemonizes), so `stop()` destroys the domains first, stops
libvirtd, then kills whatever is still running in the launcher's mount namespace and checks that
nothing is left. `kill()` is the rude version used to simulate a pod being deleted: SIGKILL to
every process in the namespace, libvirtd and QEMU alike.

Never build host paths as `/proc/<pid>/root/var/run/...`: on Debian /var/run is an *absolute*
symlink to /run, and absolute symlinks under /proc/<pid>/root resolve against the caller's root,
i.e. they silently land in the host's /run. `Launcher.host_path()` maps /var/run to /run.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from tui.demo.guest_image import GuestImage

PRIVATE_DIR = "/var/run/kubevirt-private"
"""KubeVirt's VirtPrivateDir, as the launcher sees it."""

LIBVIRTD_CONF = """\
unix_sock_rw_perms = "0770"
unix_sock_ro_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
"""

# Root daemon config that works in a container (libvirt.md 3.3(a)); the last three lines match
# KubeVirt's own cmd/virt-launcher/qemu.conf.
QEMU_CONF = """\
user = "root"
group = "root"
stdio_handler = "file"
security_driver = "none"
seccomp_sandbox = 0
remember_owner = 0
cgroup_controllers = [ ]
namespaces = [ ]
"""

# Runs inside the new mount namespace. $1 = launcher dir, $2 = VMI uid, $3 = 1 to bind-mount
# the passwd/group copies, $4 = the uid of a non-root launcher's daemon (empty: root), $5 = its
# state directory (XDG_CONFIG_HOME etc.).
_NAMESPACE_SCRIPT = r"""
set -e
D="$1"; uid="$2"
mount -n -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/libvirt /run/lock "/run/kubevirt-private/$uid"
mount -n --bind "$D/etc" /etc/libvirt
mount -n --bind "$D/lib" /var/lib/libvirt
mount -n --bind "$D/log" /var/log/libvirt
mount -n --bind "$D/cache" /var/cache/libvirt
if [ "$3" = 1 ]; then
  mount -n --bind "$D/passwd" /etc/passwd
  mount -n --bind "$D/group" /etc/group
fi
ln -s libvirt-sock /run/libvirt/virtqemud-sock
# Not exec: this shell stays PID 1 of the namespace and reaps what QEMU's daemonizing
# leaves to it (libvirtd as PID 1 would leave zombies that stall virDomainDestroy).
if [ -n "$4" ]; then
  # KubeVirt's non-root launcher: a session daemon as uid $4 with XDG_RUNTIME_DIR=/var/run,
  # so its socket is /var/run/libvirt/libvirt-sock all the same.
  chown "$4:$4" /run/libvirt "/run/kubevirt-private/$uid"
  S="$5"
  HOME="$S/home" XDG_RUNTIME_DIR=/run XDG_CONFIG_HOME="$S/config" XDG_CACHE_HOME="$S/cache" \
    setpriv --reuid="$4" --regid="$4" --clear-groups \
    libvirtd -f "$S/config/libvirt/libvirtd.conf"
else
  libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
fi
"""

_HOST_MOUNTPOINTS = ("/etc/libvirt", "/var/lib/libvirt", "/var/log/libvirt", "/var/cache/libvirt")

DOMAIN_XML = """\
<domain type='qemu'>
  <name>{name}</name>
  <uuid>{domain_uuid}</uuid>
  <metadata>
    <kubevirt xmlns="http://kubevirt.io">
      <uid>{vmi_uid}</uid>
      <graceperiod>
        <deletionGracePeriodSeconds>30</deletionGracePeriodSeconds>
      </graceperiod>
    </kubevirt>
  </metadata>
  <memory unit='MiB'>{memory_mib}</memory>
  <currentMemory unit='MiB'>{memory_mib}</currentMemory>
  <vcpu placement='static'>{vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{cmdline}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
{serial}
    <memballoon model='none'/>
  </devices>
</domain>
"""

# Exactly what KubeVirt's converter emits (pkg/virt-launcher/virtwrap/converter/compute/console.go).
SERIAL_KUBEVIRT = """\
    <serial type='unix'>
      <target port='0'/>
      <source mode='bind' path='{sock}'/>
      <log file='{log}' append='on'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>"""

# A plain libvirt guest: the console libvirt's openConsole can reach, with a log of its output.
SERIAL_PTY = """\
    <serial type='pty'>
      <log file='{log}' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>"""


class LauncherError(RuntimeError):
    """A launcher could not be set up; the message carries the daemon's own log lines."""


def environment_problem() -> str | None:
    """Why fake launchers cannot run here (None when they can): the words for a skip."""
    if os.geteuid() != 0:
        return "fake virt-launchers need root (mount namespaces, a root libvirtd)"
    for tool, package in (
        ("unshare", "util-linux"),
        ("setpriv", "util-linux"),
        ("mount", "mount"),
        ("libvirtd", "libvirt-daemon"),
        ("qemu-system-x86_64", "qemu-system-x86"),
    ):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} not found (apt-get install --no-install-recommends {package})"
    if not Path(
        "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"
    ).exists():
        if not any(Path("/usr/lib").glob("*/libvirt/connection-driver/libvirt_driver_qemu.so")):
            return "libvirt's QEMU driver is missing (apt-get install libvirt-daemon-driver-qemu)"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "libvirt-python is not installed (pip install -e '.[node]')"
    try:
        probe = subprocess.run(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--mount-proc",
                "true",
            ],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare --mount failed: {exc}"
    if probe.returncode != 0:
        return (
            "unshare --mount --pid is not allowed here: "
            + probe.stderr.decode(errors="replace").strip()
        )
    return None


def host_path(pid: int, path: str) -> str:
    """Where `path` inside process `pid`'s mount namespace is, seen from here.

    /var/run is mapped to /run first: going through the absolute /var/run symlink under
    /proc/<pid>/root would land in *our* /run."""
    for prefix, real in (("/var/run/", "/run/"), ("/var/lock/", "/run/lock/")):
        if path.startswith(prefix):
            path = real + path[len(prefix) :]
    return f"/proc/{pid}/root{path}"


def _mount_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: fields after the last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _all_pids() -> Iterable[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _accounts_missing() -> bool:
    try:
        pwd.getpwnam("libvirt-qemu")
        grp.getgrnam("libvirt-qemu")
    except KeyError:
        return True
    return False


def _free_id(taken: set[int], start: int = 64055) -> int:
    n = start
    while n in taken:
        n += 1
    return n


def _write_account_copies(directory: Path, user: int | None = None) -> None:
    """/etc/passwd and /etc/group plus Debian's libvirt-qemu user and group (and KubeVirt's
    `qemu` for a non-root launcher's uid, when it has no name), for the namespace."""
    passwd = Path("/etc/passwd").read_text()
    group = Path("/etc/group").read_text()
    if user is not None:
        uids = {p.pw_uid for p in pwd.getpwall()}
        gids = {g.gr_gid for g in grp.getgrall()}
        if user not in gids:
            group = group.rstrip("\n") + f"\nqemu:x:{user}:\n"
        if user not in uids:
            passwd = passwd.rstrip("\n") + f"\nqemu:x:{user}:{user}:qemu:/:/usr/sbin/nologin\n"
    gids = {g.gr_gid for g in grp.getgrall()}
    uids = {p.pw_uid for p in pwd.getpwall()}
    gid = _free_id(gids)
    if not any(line.startswith("libvirt-qemu:") for line in group.splitlines()):
        group = group.rstrip("\n") + f"\nlibvirt-qemu:x:{gid}:\n"
    else:
        gid = grp.getgrnam("libvirt-qemu").gr_gid
    if not any(line.startswith("libvirt-qemu:") for line in passwd.splitlines()):
        uid = _free_id(uids)
        passwd = passwd.rstrip("\n") + (
            f"\nlibvirt-qemu:x:{uid}:{gid}:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n"
        )
    (directory / "passwd").write_text(passwd)
    (directory / "group").write_text(group)


@dataclass
class Guest:
    """One domain a launcher runs."""

    name: str
    vmi_uid: str
    serial: str
    """'kubevirt' (unix socket + log) or 'pty'."""
    log_path: str
    """The serial log, as the launcher sees it."""
    socket_path: str | None
    """The serial socket, as the launcher sees it (kubevirt layout only)."""
    banner: bytes = b""
    prompt: bytes = b""
    defined_at: float = 0.0
    banner_after: float | None = None
    """Seconds from define to the boot banner in the serial log."""


@dataclass
class Launcher:
    """One fake virt-launcher: a libvirtd in its own mount namespace, root's (`qemu:///system`)
    or, with `user`, a session daemon of that uid as KubeVirt's non-root launchers run
    (`qemu:///session`, uid 107, XDG_RUNTIME_DIR=/var/run)."""

    base: Path
    namespace: str = "default"
    vm: str = "testvmi"
    vmi_uid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    unshare: subprocess.Popen[bytes] | None = None
    pid: int = 0
    """libvirtd's pid (what `kvtui node` discovers)."""
    mount_ns: str = ""
    started_in: float = 0.0
    """Seconds from spawning unshare to a libvirtd answering on its socket."""
    guests: list[Guest] = field(default_factory=list)
    user: int | None = None
    """The daemon's (and QEMU's) uid for a non-root launcher; None: root."""
    session_dir: Path | None = None
    """A non-root daemon's state (outside pytest's 0700 temp root, owned by `user`)."""
    _conn: Any = None
    _images: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @property
    def dir(self) -> Path:
        return self.base / self.vmi_uid

    @property
    def domain_name(self) -> str:
        return f"{self.namespace}_{self.vm}"

    @property
    def socket(self) -> str:
        """The daemon socket under KubeVirt's name, from the host."""
        return host_path(self.pid, "/var/run/libvirt/virtqemud-sock")

    @property
    def uri(self) -> str:
        mode = "system" if self.user is None else "session"
        return f"qemu+unix:///{mode}?socket={self.socket}"

    def host_path(self, path: str) -> str:
        return host_path(self.pid, path)

    def serial_socket(self, guest: Guest | None = None) -> str:
        guest = guest or self.guests[0]
        assert guest.socket_path, f"{guest.name} has no unix serial"
        return self.host_path(guest.socket_path)

    def serial_log(self, guest: Guest | None = None) -> str:
        guest = guest or self.guests[0]
        return self.host_path(guest.log_path)

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Launcher:
        """Start the launcher's libvirtd; it lives until `stop()`/`kill()`, or until the
        *thread* that called this ends (PDEATHSIG): call it from a thread that outlives it."""
        d = self.dir
        for sub in ("etc", "lib", "log", "cache/qemu"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        # Launchers on one base share QEMU's capability cache: the probe costs 2-8 s (once).
        # libvirt rewrites its entries atomically and checks them against the binary's ctime.
        shared_caps = self.base / "qemu-capabilities"
        shared_caps.mkdir(exist_ok=True)
        caps_link = d / "cache" / "qemu" / "capabilities"
        if not caps_link.is_symlink():
            caps_link.symlink_to(shared_caps)
        (d / "etc" / "libvirtd.conf").write_text(LIBVIRTD_CONF)
        (d / "etc" / "qemu.conf").write_text(QEMU_CONF)
        accounts = _accounts_missing() or self.user is not None
        if accounts:
            _write_account_copies(d, self.user)
        if self.user is not None:
            self._prepare_session()
        for mountpoint in _HOST_MOUNTPOINTS:
            # Empty mount points; the libvirt packages create them anyway.
            Path(mountpoint).mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        out = open(d / "launcher.out", "wb")  # noqa: SIM115 - owned by the child
        try:
            self.unshare = subprocess.Popen(
                [
                    "setpriv",
                    "--pdeathsig",
                    "SIGKILL",
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "--pid",
                    "--mount-proc",
                    "--fork",
                    "--kill-child=SIGKILL",
                    "--",
                    "sh",
                    "-c",
                    _NAMESPACE_SCRIPT,
                    "launcher",
                    str(d),
                    self.vmi_uid,
                    "1" if accounts else "0",
                    "" if self.user is None else str(self.user),
                    str(self.session_dir or ""),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        host_ns = _mount_ns(os.getpid())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.unshare.poll() is not None:
                raise LauncherError(f"launcher {self.vmi_uid} exited: {self.diagnostics()}")
            if not self.pid:
                child = next(
                    (  # unshare -> sh (PID 1 inside) -> libvirtd
                        p
                        for p in _all_pids()
                        if _comm(p) == "libvirtd" and _ppid(_ppid(p) or 0) == self.unshare.pid
                    ),
                    None,
                )
                if child and _mount_ns(child) not in (None, host_ns):
                    self.pid = child
                    self.mount_ns = _mount_ns(child) or ""
            if self.pid and self._answers():
                self.started_in = time.monotonic() - t0
                return self
            time.sleep(0.02)
        self.stop()
        raise LauncherError(
            f"libvirtd of launcher {self.vmi_uid} did not answer within {timeout}s: {self.diagnostics()}"
        )

    def _prepare_session(self) -> None:
        """The session daemon's config and state, in a directory its uid can reach."""
        assert self.user is not None
        if self.session_dir is None or not self.session_dir.exists():
            self.session_dir = Path(tempfile.mkdtemp(prefix="kvtui-launcher-"))
            self._images = {}
        s = self.session_dir
        os.chmod(s, 0o755)
        for sub in ("home", "config/libvirt", "cache", "guest"):
            (s / sub).mkdir(parents=True, exist_ok=True)
        (s / "config" / "libvirt" / "libvirtd.conf").write_text(
            f'log_outputs = "3:file:{s}/libvirtd.log"\n'
        )
        (s / "config" / "libvirt" / "qemu.conf").write_text('stdio_handler = "file"\n')
        for root, dirs, files in os.walk(s):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), self.user, self.user)
        os.chown(s, self.user, self.user)

    def _image_paths(self, image: GuestImage) -> tuple[str, str]:
        """Kernel and initrd paths QEMU can read: copies of its own for a non-root launcher
        (the image cache is usually under root's 0700 home)."""
        if self.user is None:
            return str(image.kernel), str(image.initrd)
        key = (str(image.kernel), str(image.initrd))
        if key not in self._images:
            assert self.session_dir is not None
            copies = []
            for n, source in enumerate(key):
                target = self.session_dir / "guest" / f"{n}-{Path(source).name}"
                shutil.copyfile(source, target)
                os.chown(target, self.user, self.user)
                copies.append(str(target))
            self._images[key] = (copies[0], copies[1])
        return self._images[key]

    def _answers(self) -> bool:
        sock = host_path(self.pid, "/run/libvirt/libvirt-sock")
        if not os.path.exists(sock):
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(sock)
            except OSError:
                return False
        return True

    def connection(self) -> Any:
        """A libvirt connection of the fixture's own (not kvtui's)."""
        import libvirt

        if self._conn is None:
            self._conn = libvirt.open(self.uri)
        return self._conn

    def define_guest(
        self,
        image: GuestImage,
        *,
        name: str | None = None,
        serial: str = "kubevirt",
        vcpus: int = 1,
        memory_mib: int = 128,
        vmi_uid: str | None = None,
    ) -> Guest:
        """Define and start a guest; returns at once (see `wait_for_banner`)."""
        vmi_uid = vmi_uid or (self.vmi_uid if not self.guests else str(uuidlib.uuid4()))
        name = name or self.domain_name
        private = f"{PRIVATE_DIR}/{vmi_uid}"
        if vmi_uid != self.vmi_uid:
            Path(self.host_path(private)).mkdir(parents=True, exist_ok=True)
            if self.user is not None:
                os.chown(self.host_path(private), self.user, self.user)
        log = f"{private}/virt-serial0-log"
        if serial == "kubevirt":
            sock: str | None = f"{private}/virt-serial0"
            serial_xml = SERIAL_KUBEVIRT.format(sock=escape(sock), log=escape(log))
        else:
            sock = None
            serial_xml = SERIAL_PTY.format(log=escape(log))
        kernel, initrd = self._image_paths(image)
        xml = DOMAIN_XML.format(
            name=escape(name),
            domain_uuid=uuidlib.uuid4(),
            vmi_uid=escape(vmi_uid),
            memory_mib=memory_mib,
            vcpus=vcpus,
            kernel=escape(kernel),
            initrd=escape(initrd),
            cmdline=escape(image.cmdline),
            serial=serial_xml,
        )
        guest = Guest(
            name=name,
            vmi_uid=vmi_uid,
            serial=serial,
            log_path=log,
            socket_path=sock,
            banner=image.banner.encode(),
            prompt=image.prompt.encode(),
        )
        guest.defined_at = time.monotonic()
        conn = self.connection()
        for old in conn.listAllDomains():  # a definition left from before a restart
            if old.name() == name:
                old.undefine()
        dom = conn.defineXML(xml)
        dom.create()
        self.guests.append(guest)
        return guest

    def wait_for_banner(self, guest: Guest | None = None, timeout: float = 120.0) -> float:
        """Wait until the guest's serial log shows the boot banner and the shell prompt after
        it; returns seconds since define."""
        guest = guest or self.guests[0]
        path = self.serial_log(guest)
        deadline = time.monotonic() + timeout
        data = b""
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                data = Path(path).read_bytes()
            at = data.find(guest.banner)
            if at >= 0 and data.find(guest.prompt, at) >= 0:
                guest.banner_after = time.monotonic() - guest.defined_at
                return guest.banner_after
            time.sleep(0.05)
        qemu_log = self.dir / "log" / "qemu" / f"{guest.name}.log"
        if self.session_dir is not None:
            qemu_log = self.session_dir / "cache" / "libvirt" / "qemu" / "log" / f"{guest.name}.log"
        raise LauncherError(
            f"{guest.name}: no boot banner within {timeout}s; serial log so far:\n"
            + data[-2000:].decode(errors="replace")
            + "\nqemu log:\n"
            + (qemu_log.read_text(errors="replace")[-2000:] if qemu_log.exists() else "(none)")
        )

    def alive(self) -> bool:
        """libvirtd and every guest's QEMU are running."""
        return bool(self.pid) and _alive(self.pid) and len(self.qemu_pids()) == len(self.guests)

    def restart(self, image: GuestImage, timeout: float = 120.0) -> None:
        """After `kill()`: a new daemon in a new namespace, the same guests booted again."""
        guests = list(self.guests)
        self.stop()
        self.unshare, self.pid, self.mount_ns, self.guests = None, 0, "", []
        self.start()
        for guest in guests:
            self.define_guest(
                image,
                name=guest.name,
                serial=guest.serial,
                vmi_uid=guest.vmi_uid,
            )
        for guest in self.guests:
            self.wait_for_banner(guest, timeout)

    def remove_guest(self, guest: Guest) -> None:
        """Destroy and undefine one guest."""
        import libvirt

        dom = self.connection().lookupByName(guest.name)
        with contextlib.suppress(libvirt.libvirtError):
            dom.destroy()
        dom.undefine()
        self.guests.remove(guest)

    def processes(self) -> list[int]:
        """Every process in this launcher's mount namespace (libvirtd, QEMU, ...)."""
        if not self.mount_ns:
            return []
        return [p for p in _all_pids() if _mount_ns(p) == self.mount_ns and _alive(p)]

    def qemu_pids(self) -> list[int]:
        return [p for p in self.processes() if _comm(p).startswith("qemu")]

    def kill(self, timeout: float = 10.0) -> None:
        """What deleting the pod does: SIGKILL to everything in the namespace."""
        self._close_conn()
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reap(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        """Destroy the domains (QEMU outlives libvirtd), stop libvirtd, then make sure nothing
        of this launcher is left running."""
        if self.pid and _alive(self.pid):
            try:
                conn = self.connection()
                for dom in conn.listAllDomains():
                    with contextlib.suppress(Exception):
                        if dom.isActive():
                            dom.destroy()
            except Exception:  # noqa: BLE001 - teardown goes on; leftovers get SIGKILL below
                pass
        self._close_conn()
        if self.pid and _alive(self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reap(timeout)
        if self.session_dir is not None:
            shutil.rmtree(self.session_dir, ignore_errors=True)
            self.session_dir = None

    def _reap(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.unshare is not None:
            try:
                self.unshare.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.unshare.kill()
                self.unshare.wait(5)
        left = self.processes()
        if left:
            raise LauncherError(
                f"launcher {self.vmi_uid}: still running after teardown: "
                + ", ".join(f"{p} ({_comm(p)})" for p in left)
            )

    def _close_conn(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def diagnostics(self) -> str:
        parts = []
        files = [self.dir / "launcher.out", self.dir / "log" / "libvirtd.log"]
        if self.session_dir is not None:
            files.append(self.session_dir / "libvirtd.log")
        for f in files:
            if f.exists():
                text = f.read_text(errors="replace").strip()
                if text:
                    parts.append(f"{f.name}: {text[-1500:]}")
        return "\n".join(parts) or "(no output)"


class SerialClient:
    """Reads and writes a guest's serial unix socket directly, the way virt-handler does."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.eof = False
        self._thread = threading.Thread(target=self._read, daemon=True, name="serial-client")
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                self.eof = True
                return
            with self.lock:
                self.buf += data

    def mark(self) -> int:
        with self.lock:
            return len(self.buf)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait_for(self, needle: bytes, timeout: float = 30.0, start: int = 0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                at = self.buf.find(needle, start)
            if at >= 0:
                return at
            if self.eof:
                break
            time.sleep(0.02)
        raise TimeoutError(
            f"{needle!r} not seen within {timeout}s (eof={self.eof}); got:\n"
            + bytes(self.buf[-1500:]).decode(errors="replace")
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(2)
