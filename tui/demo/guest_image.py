"""A tiny real guest for the demo and the tests: a Linux kernel plus a busybox initramfs.

`find_guest()` returns a `GuestImage` (kernel, initramfs, kernel command line, the banner and
prompt the guest prints) or an `Unavailable` (falsy, with the reason) when this machine
cannot run one: no `qemu-system-x86_64`, no `libvirtd`, no static busybox, or no kernel.

The kernel is looked for, in order, in the `directory` argument, `$KVTUI_GUEST_DIR`, and the
cache directory (`$XDG_CACHE_HOME/kvtui/guest`, default `~/.cache/kvtui/guest`): a file named
`vmlinuz` or `vmlinuz-*`. Debian's *cloud* kernel boots to a shell in about 2 s under TCG
(the generic one takes twice as long); `python3 -m tui.demo.guest_image --fetch` (what CI
runs) downloads it with `apt-get download` and extracts `vmlinuz` into the cache directory.

The initramfs is built here, in pure Python (a newc cpio, gzip'ed: no `cpio`, no root): the
static busybox (`busybox-static` on Debian), three device nodes, and an `/init` that mounts
/proc, /sys and /dev, prints `BANNER` with the kernel release on the serial console and runs
a shell there with the prompt `PROMPT`, again and again (PID 1 never exits, so no panic).
It is cached next to the kernel, keyed by the busybox binary and the init script.

Standard library only, so CI can run `--fetch` with the system python before any venv.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BANNER",
    "CMDLINE",
    "PROMPT",
    "GuestImage",
    "Unavailable",
    "build_initramfs",
    "cache_dir",
    "fetch_kernel",
    "find_busybox",
    "find_guest",
    "find_kernel",
]

BANNER = "=== KVTUI GUEST READY ==="
PROMPT = "kvtui-guest# "
CMDLINE = "console=ttyS0 quiet panic=-1"
KERNEL_PACKAGE = "linux-image-cloud-amd64"  # Debian's meta package; its dependency is the kernel
ENV_DIR = "KVTUI_GUEST_DIR"
ENV_BUSYBOX = "KVTUI_GUEST_BUSYBOX"
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

INIT = f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
hostname kvtui-guest
echo
echo "{BANNER} kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)s"
export PS1='{PROMPT}'
while true; do
  # cttyhack makes the console (ttyS0) the controlling tty: job control, Ctrl+C.
  setsid cttyhack /bin/sh
  echo "[init] the shell ended; a new one follows"
done
"""


@dataclass(frozen=True)
class GuestImage:
    """What a domain needs to boot the tiny guest, and what the guest prints."""

    kernel: Path
    initrd: Path
    cmdline: str = CMDLINE
    banner: str = BANNER
    prompt: str = PROMPT


@dataclass(frozen=True)
class Unavailable:
    """Why this machine cannot run the tiny guest (falsy, so `if not guest:` reads well)."""

    reason: str

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.reason


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kvtui" / "guest"


def search_dirs(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    dirs = []
    if directory is not None:
        dirs.append(Path(directory))
    if os.environ.get(ENV_DIR):
        dirs.append(Path(os.environ[ENV_DIR]))
    dirs.append(cache_dir())
    return dirs


def which(program: str) -> str | None:
    """`shutil.which` that also looks in the sbin directories (libvirtd lives there)."""
    return shutil.which(program, path=os.environ.get("PATH", "") + os.pathsep + _SYSTEM_PATH)


def find_kernel(directory: str | os.PathLike[str] | None = None) -> Path | None:
    """The first `vmlinuz` (or newest `vmlinuz-*`) in the search directories."""
    for folder in search_dirs(directory):
        plain = folder / "vmlinuz"
        if plain.is_file():
            return plain
        versioned = sorted(p for p in folder.glob("vmlinuz-*") if p.is_file())
        if versioned:
            return versioned[-1]
    return None


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (statically linked)."""
    try:
        with path.open("rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
                return False
            order = "little" if head[5] == 1 else "big"
            phoff = int.from_bytes(head[32:40], order)
            phentsize = int.from_bytes(head[54:56], order)
            phnum = int.from_bytes(head[56:58], order)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    for i in range(phnum):
        if int.from_bytes(table[i * phentsize : i * phentsize + 4], order) == 3:  # PT_INTERP
            return False
    return True


def find_busybox() -> Path | None:
    """A statically linked busybox ($KVTUI_GUEST_BUSYBOX, then PATH, then /bin/busybox)."""
    candidates = [os.environ.get(ENV_BUSYBOX), which("busybox"), "/bin/busybox"]
    for candidate in candidates:
        if candidate and _is_static_elf(Path(candidate)):
            return Path(candidate)
    return None


# ---- the initramfs ----------------------------------------------------------------------------


class _Cpio:
    """A newc ("070701") cpio archive written entry by entry."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.inode = 1
        self.mtime = int(time.time())

    def _pad(self) -> None:
        self.out.write(b"\0" * (-self.out.tell() % 4))

    def add(
        self, name: str, mode: int, data: bytes = b"", *, nlink: int = 1, rdev: tuple = (0, 0)
    ) -> None:
        encoded = name.encode() + b"\0"
        fields = (
            self.inode,
            mode,
            0,  # uid
            0,  # gid
            nlink,
            self.mtime,
            len(data),
            0,  # dev major
            0,  # dev minor
            rdev[0],
            rdev[1],
            len(encoded),
            0,  # checksum (unused by newc)
        )
        self.inode += 1
        self.out.write(b"070701" + "".join(f"{v:08X}" for v in fields).encode() + encoded)
        self._pad()
        self.out.write(data)
        self._pad()

    def directory(self, name: str) -> None:
        self.add(name, 0o040755, nlink=2)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        self.add(name, 0o100000 | perm, data)

    def symlink(self, name: str, target: str) -> None:
        self.add(name, 0o120777, target.encode())

    def chardev(self, name: str, major: int, minor: int, perm: int = 0o600) -> None:
        self.add(name, 0o020000 | perm, rdev=(major, minor))

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return self.out.getvalue()


def initramfs_bytes(busybox: bytes, init: str = INIT) -> bytes:
    """The gzip'ed cpio: busybox, /dev nodes for the console, and `/init`."""
    cpio = _Cpio()
    for folder in ("bin", "dev", "proc", "sys", "tmp", "root", "etc"):
        cpio.directory(folder)
    cpio.chardev("dev/console", 5, 1)
    cpio.chardev("dev/ttyS0", 4, 64)
    cpio.chardev("dev/null", 1, 3, 0o666)
    cpio.file("bin/busybox", busybox, 0o755)
    cpio.symlink("bin/sh", "busybox")
    cpio.file("init", init.encode(), 0o755)
    # mtime=0: the same inputs give the same bytes.
    return gzip.compress(cpio.finish(), compresslevel=6, mtime=0)


def build_initramfs(busybox: Path, out_dir: Path) -> Path:
    """Build (or reuse) the initramfs in `out_dir`, named by a hash of its inputs."""
    data = busybox.read_bytes()
    digest = hashlib.sha256(data + INIT.encode()).hexdigest()[:16]
    target = out_dir / f"initramfs-{digest}.cpio.gz"
    if target.is_file():
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".initramfs-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(initramfs_bytes(data))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


# ---- the whole check ---------------------------------------------------------------------------


def find_guest(
    directory: str | os.PathLike[str] | None = None, *, need_libvirtd: bool = True
) -> GuestImage | Unavailable:
    """The tiny guest, built if needed, or why this machine cannot run it."""
    if which("qemu-system-x86_64") is None:
        return Unavailable("qemu-system-x86_64 is not installed (Debian: qemu-system-x86)")
    if need_libvirtd and which("libvirtd") is None:
        return Unavailable(
            "libvirtd is not installed (Debian: libvirt-daemon libvirt-daemon-driver-qemu)"
        )
    busybox = find_busybox()
    if busybox is None:
        return Unavailable("no statically linked busybox (Debian: busybox-static)")
    kernel = find_kernel(directory)
    if kernel is None:
        where = ", ".join(str(d) for d in search_dirs(directory))
        return Unavailable(
            f"no guest kernel (vmlinuz) in {where}; "
            "'python3 -m tui.demo.guest_image --fetch' downloads Debian's cloud kernel"
        )
    out_dir = kernel.parent
    if not os.access(out_dir, os.W_OK):
        out_dir = cache_dir()
    try:
        initrd = build_initramfs(busybox, out_dir)
    except OSError as exc:
        return Unavailable(f"cannot build the guest initramfs in {out_dir}: {exc}")
    return GuestImage(kernel=kernel, initrd=initrd)


# ---- fetching the kernel -------------------------------------------------------------------------


def _ar_members(data: bytes):
    """(name, bytes) of each member of an ar archive (a .deb)."""
    if not data.startswith(b"!<arch>\n"):
        raise ValueError("not an ar archive")
    offset = 8
    while offset + 60 <= len(data):
        header = data[offset : offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        offset += 60
        yield name, data[offset : offset + size]
        offset += size + (size % 2)


def extract_vmlinuz(deb: Path, dest: Path) -> Path:
    """Copy `boot/vmlinuz-*` out of a kernel .deb into `dest` as `vmlinuz`."""
    for name, member in _ar_members(deb.read_bytes()):
        if not name.startswith("data.tar"):
            continue
        with tarfile.open(fileobj=io.BytesIO(member), mode="r|*") as archive:
            for entry in archive:
                base = entry.name.lstrip("./")
                if base.startswith("boot/vmlinuz-") and entry.isfile():
                    source = archive.extractfile(entry)
                    assert source is not None
                    dest.mkdir(parents=True, exist_ok=True)
                    tmp = dest / ".vmlinuz.part"
                    with tmp.open("wb") as f:
                        shutil.copyfileobj(source, f)
                    tmp.chmod(0o644)
                    target = dest / "vmlinuz"
                    os.replace(tmp, target)
                    (dest / "vmlinuz.version").write_text(base.split("vmlinuz-", 1)[1] + "\n")
                    return target
    raise ValueError(f"{deb}: no boot/vmlinuz-* inside")


def fetch_kernel(dest: Path | None = None, package: str = KERNEL_PACKAGE) -> Path:
    """Download Debian's cloud kernel with apt-get and keep only its vmlinuz (idempotent)."""
    dest = dest or cache_dir()
    existing = find_kernel(dest)
    if existing is not None and existing.parent == dest:
        return existing
    if which("apt-get") is None:
        raise RuntimeError("apt-get is not available: put a vmlinuz in " + str(dest))
    depends = subprocess.run(
        ["apt-cache", "depends", package], capture_output=True, text=True, check=True
    ).stdout
    real = next(
        (
            line.split(":", 1)[1].strip()
            for line in depends.splitlines()
            if line.strip().startswith("Depends:") and "linux-image-" in line
        ),
        package,
    )
    with tempfile.TemporaryDirectory(prefix="kvtui-kernel-") as tmp:
        command = ["apt-get", "download", "-q", real]
        if os.geteuid() == 0:  # root: no "_apt cannot access" warning for a private dir
            command[1:1] = ["-o", "APT::Sandbox::User=root"]
        subprocess.run(command, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        debs = sorted(Path(tmp).glob("*.deb"))
        if not debs:
            raise RuntimeError(f"apt-get download {real} left no .deb")
        return extract_vmlinuz(debs[0], dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m tui.demo.guest_image",
        description="Find (or --fetch) the kernel and build the initramfs of kvtui's tiny guest.",
    )
    parser.add_argument("--fetch", action="store_true", help="download the kernel if missing")
    parser.add_argument("--dir", help=f"kernel directory (default: ${ENV_DIR} or {cache_dir()})")
    args = parser.parse_args(argv)
    if args.fetch:
        started = time.monotonic()
        try:
            kernel = fetch_kernel(Path(args.dir) if args.dir else None)
        except (OSError, RuntimeError, ValueError, subprocess.CalledProcessError) as exc:
            print(f"kvtui guest: cannot fetch the kernel: {exc}", file=sys.stderr)
            return 1
        print(f"kernel: {kernel} ({time.monotonic() - started:.1f} s)")
    guest = find_guest(args.dir)
    if not guest:
        print(f"kvtui guest: unavailable: {guest}", file=sys.stderr)
        return 1
    print(f"kernel: {guest.kernel}\ninitrd: {guest.initrd}\ncmdline: {guest.cmdline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
