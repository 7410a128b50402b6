"""Finding the per-VM libvirt daemons on this machine, the way KubeVirt's virt-handler does.

Every virt-launcher pod runs its own libvirt daemon (virtqemud, or libvirtd on older
releases) in the pod's mount namespace, with its socket at `/var/run/libvirt/virtqemud-sock`
there (`libvirt-sock` for libvirtd). From the node that socket is reachable through the
kernel's per-process view of a mount namespace: `/proc/<pid>/root/run/libvirt/...`, and
libvirt connects to it with `qemu+unix:///system?socket=PATH` (root daemon) or
`qemu+unix:///session?socket=PATH` (KubeVirt's non-root launchers, uid 107).

The trap (../shared/libvirt.md §4.2): an *absolute* symlink under `/proc/<pid>/root` (Debian's
`/var/run -> /run`) resolves against the caller's root, not the process's, and silently
lands on the host's `/run`. So paths inside a process's root are resolved here component
by component with `lstat`: never through the kernel's symlink walk. A symlink met on the way
is read with `readlink` and its target resolved again from the process's root (absolute) or
from its directory (relative), `..` never climbing above that root. The path handed to
libvirt is the resolved one, free of symlinks, so the kernel walks exactly what was checked.

`proc_root` is injectable so tests can build a fake `/proc` in a temporary directory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

DAEMONS = ("virtqemud", "libvirtd")
# Inside the process's root, without the `var/` detour: virt-handler uses `run/...` too.
SOCKET_PATHS = ("run/libvirt/virtqemud-sock", "run/libvirt/libvirt-sock")
MAX_SYMLINKS = 40  # as the kernel's own limit (ELOOP)


class UnsafePath(OSError):
    """A path inside a process root could not be resolved without leaving that root."""


@dataclass(frozen=True)
class Launcher:
    """One libvirt daemon found in some process's mount namespace."""

    pid: int
    """The process whose root the socket was found through (the daemon itself when seen)."""
    comm: str
    uid: int
    """The daemon's uid (the socket's owner when no daemon process was seen): 0 -> system."""
    socket: str
    """Host path of the socket: `/proc/<pid>/root/run/libvirt/...`, symlink-free."""
    mount_ns: str = ""
    host: bool = False
    """The socket is in kvtui's own mount namespace (a plain libvirt on the host)."""

    @property
    def uri(self) -> str:
        return launcher_uri(self.socket, self.uid)

    @property
    def label(self) -> str:
        return f"host {self.comm or 'libvirt'}" if self.host else f"launcher {self.pid}"


@dataclass
class Discovery:
    """What a scan found, and what it could not look at."""

    launchers: list[Launcher] = field(default_factory=list)
    denied: list[int] = field(default_factory=list)
    """Pids whose /proc/<pid>/root we may not read (not root)."""
    as_root: bool = field(default_factory=lambda: os.geteuid() == 0)

    @property
    def notes(self) -> list[str]:
        """Sentences for the user about what the scan could not see."""
        if not self.denied:
            return []
        count = len(self.denied)
        what = (
            f"cannot look inside {count} process{'es' if count != 1 else ''}' mount "
            "namespace (/proc/<pid>/root: permission denied)"
        )
        if self.as_root:
            return [f"{what}, even as root (a container or security module refuses it)"]
        return [f"{what}: run kvtui node as root to find every virt-launcher"]


def launcher_uri(socket_path: str, uid: int) -> str:
    """The libvirt URI of a daemon's socket: system for root daemons, session otherwise."""
    mode = "system" if uid == 0 else "session"
    return f"qemu+unix:///{mode}?socket={socket_path}"


def _components(path: str) -> list[str]:
    return [part for part in path.split("/") if part and part != "."]


def resolve_in_root(root: str | os.PathLike[str], path: str) -> list[str]:
    """`path` resolved inside the directory `root` as if `root` were `/`; the components.

    Every component is checked with lstat relative to `root`; symlinks are expanded by hand
    (absolute targets from `root`, `..` stopping at `root`). Raises FileNotFoundError when a
    component is missing, NotADirectoryError when a non-directory is walked through, and
    UnsafePath when there are too many symlinks.
    """
    root = os.fspath(root)
    resolved: list[str] = []
    pending = _components(path)
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        here = os.path.join(root, *resolved)  # each component so far: a checked directory
        info = os.lstat(os.path.join(here, part))
        if stat.S_ISLNK(info.st_mode):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise UnsafePath(f"too many symlinks resolving {path!r} in {root}")
            target = os.readlink(os.path.join(here, part))
            if target.startswith("/"):
                resolved = []  # absolute: from the process's root, never ours
            pending = _components(target) + pending
            continue
        if pending and not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(f"{os.path.join(here, part)} is not a directory")
        resolved.append(part)
    return resolved


def host_path(pid: int, path: str, *, proc_root: str | os.PathLike[str] = "/proc") -> str:
    """Where `path` inside process `pid`'s root is seen from here, resolved safely.

    `/var/run/kubevirt-private/UID/virt-serial0` -> `/proc/PID/root/run/kubevirt-private/...`
    when the process's `/var/run` is a symlink to `/run`. Raises OSError like `resolve_in_root`.
    """
    root = os.path.join(os.fspath(proc_root), str(pid), "root")
    return os.path.join(root, *resolve_in_root(root, path))


def _read(path: str) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def process_uid(pid_dir: str) -> int:
    """The real uid of a process (from `status`, else the owner of its /proc directory)."""
    try:
        for line in _read(os.path.join(pid_dir, "status")).splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return os.stat(pid_dir).st_uid


def _comm(pid_dir: str) -> str:
    try:
        return _read(os.path.join(pid_dir, "comm")).strip()
    except OSError:
        return ""


def _mount_ns(pid_dir: str) -> str:
    try:
        return os.readlink(os.path.join(pid_dir, "ns", "mnt"))
    except OSError:
        return ""


def _pids(proc_root: str) -> list[int]:
    try:
        names = os.listdir(proc_root)
    except OSError:
        return []
    return sorted(int(name) for name in names if name.isdigit())


def discover(proc_root: str | os.PathLike[str] = "/proc") -> Discovery:
    """Scan every process for a libvirt socket in its mount namespace.

    One Launcher per socket (by device and inode): every process of a namespace sees the
    same socket, and the host's processes all see the host's. The daemon process itself
    (virtqemud / libvirtd) is preferred as the launcher's pid, then the lowest pid.
    Processes that vanish mid-scan are skipped; unreadable ones are counted in `denied`.
    """
    proc = os.fspath(proc_root)
    own_ns = _mount_ns(os.path.join(proc, "self"))
    result = Discovery()
    by_inode: dict[tuple[int, int], Launcher] = {}
    seen_ns: dict[str, tuple[int, int] | None] = {}
    for pid in _pids(proc):
        pid_dir = os.path.join(proc, str(pid))
        comm = _comm(pid_dir)
        mount_ns = _mount_ns(pid_dir)
        if mount_ns and mount_ns in seen_ns and comm not in DAEMONS:
            continue  # same namespace, same view: the first process already looked
        found = _find_socket(pid_dir, result, pid)
        if found is None and result.as_root and pid in result.denied and not _may_hold(comm):
            # Root is refused only by a container or security module, and then for processes
            # like the sandbox's own init: noise, unless it could be a launcher's daemon.
            result.denied.remove(pid)
        if mount_ns:
            seen_ns.setdefault(mount_ns, found[0] if found else None)
        if found is None:
            continue
        inode, socket_path, sock_uid = found
        current = by_inode.get(inode)
        is_daemon = comm in DAEMONS
        if current is not None and (current.comm in DAEMONS or not is_daemon):
            continue
        try:
            uid = process_uid(pid_dir) if is_daemon else sock_uid
        except OSError:
            continue
        by_inode[inode] = Launcher(
            pid=pid,
            comm=comm,
            uid=uid,
            socket=socket_path,
            mount_ns=mount_ns,
            host=bool(own_ns) and mount_ns == own_ns,
        )
    result.launchers = sorted(by_inode.values(), key=lambda launcher: launcher.pid)
    return result


def _may_hold(comm: str) -> bool:
    """Could this process be (part of) a virt-launcher with a libvirt socket to find?"""
    return comm in DAEMONS or comm.startswith(("virt-launcher", "virtlogd", "qemu"))


def _find_socket(
    pid_dir: str, result: Discovery, pid: int
) -> tuple[tuple[int, int], str, int] | None:
    root = os.path.join(pid_dir, "root")
    for candidate in SOCKET_PATHS:
        try:
            parts = resolve_in_root(root, candidate)
            path = os.path.join(root, *parts)
            info = os.lstat(path)
        except PermissionError:
            if pid not in result.denied:
                result.denied.append(pid)
            return None
        except OSError:
            continue
        if stat.S_ISSOCK(info.st_mode):
            return (info.st_dev, info.st_ino), path, info.st_uid
    return None


def serial_log_path(socket_host_path: str) -> str:
    """KubeVirt's serial log sits next to the socket: `virt-serial0` -> `virt-serial0-log`."""
    return socket_host_path + "-log"


def is_readable_socket(path: str | os.PathLike[str]) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except OSError:
        return False


def _boot_time(proc: str) -> float | None:
    try:
        for line in _read(os.path.join(proc, "stat")).splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _guest_name(cmdline: bytes) -> str:
    """The domain name QEMU was started for: `-name guest=NAME,debug-threads=on` (or `-name NAME`)."""
    args = cmdline.split(b"\0")
    for index, arg in enumerate(args[:-1]):
        if arg == b"-name":
            value = args[index + 1].decode("utf-8", errors="replace")
            # QEMU's option syntax doubles a comma inside a value.
            parts = value.replace(",,", "\0").split(",")
            first = next((p for p in parts if p.startswith("guest=")), parts[0])
            return first.removeprefix("guest=").replace("\0", ",")
    return ""


def qemu_start_times(
    proc_root: str | os.PathLike[str] = "/proc", mount_ns: str = ""
) -> dict[str, float]:
    """When each QEMU process started (epoch seconds), by the domain name it runs.

    Only QEMU processes in mount namespace `mount_ns` (when given): a launcher's own. This
    gives the domains' uptime, which libvirt does not report.
    """
    proc = os.fspath(proc_root)
    boot = _boot_time(proc)
    if boot is None:
        return {}
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[str, float] = {}
    for pid in _pids(proc):
        pid_dir = os.path.join(proc, str(pid))
        if not _comm(pid_dir).startswith("qemu"):
            continue
        if mount_ns and _mount_ns(pid_dir) != mount_ns:
            continue
        try:
            with open(os.path.join(pid_dir, "cmdline"), "rb") as handle:
                name = _guest_name(handle.read())
            stat_line = _read(os.path.join(pid_dir, "stat"))
            # Fields after "(comm)": state is field 3, starttime field 22.
            start_ticks = int(stat_line.rsplit(")", 1)[1].split()[19])
        except (OSError, ValueError, IndexError):
            continue
        if name:
            found[name] = boot + start_ticks / ticks
    return found


__all__ = [
    "Discovery",
    "Launcher",
    "UnsafePath",
    "discover",
    "host_path",
    "launcher_uri",
    "qemu_start_times",
    "resolve_in_root",
    "serial_log_path",
]
