"""Finding virt-launcher libvirt daemons through a fake /proc: sockets, symlink traps, denials.

The fake tree mirrors what the kernel shows: /proc/<pid>/{comm,status,ns/mnt,root/...}. The
absolute-symlink trap (../shared/libvirt.md §4.2) is set up with targets that *exist on the
real filesystem*, so a resolver that let the kernel follow them would find the wrong socket.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tui.node.discovery import (
    UnsafePath,
    discover,
    host_path,
    launcher_uri,
    resolve_in_root,
)

ROOT = Path(__file__).resolve().parents[2]


def make_socket(path: Path, uid: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, 0o660 | stat.S_IFSOCK)
    if uid is not None and os.geteuid() == 0:
        os.chown(path, uid, uid)
    return path


def make_process(proc: Path, pid: int, *, comm: str, uid: int = 0, mnt: str | None = None) -> Path:
    """/proc/<pid> with comm, status, ns/mnt and an empty root directory; returns root."""
    pid_dir = proc / str(pid)
    (pid_dir / "ns").mkdir(parents=True)
    (pid_dir / "comm").write_text(comm + "\n")
    (pid_dir / "status").write_text(f"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
    (pid_dir / "ns" / "mnt").symlink_to(f"mnt:[{mnt or 4026530000 + pid}]")
    root = pid_dir / "root"
    root.mkdir()
    return root


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    (proc / "self" / "ns" / "mnt").symlink_to("mnt:[1]")
    return proc


def test_resolve_maps_absolute_symlink_into_the_process_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "run" / "kubevirt-private" / "u1").mkdir(parents=True)
    (root / "var").mkdir()
    (root / "var" / "run").symlink_to("/run")  # Debian's absolute /var/run -> /run
    parts = resolve_in_root(root, "/var/run/kubevirt-private/u1")
    assert parts == ["run", "kubevirt-private", "u1"]


def test_resolve_never_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "run").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "run" / "up").symlink_to("../../../../../../..")
    assert resolve_in_root(root, "run/up") == []  # clamped at the root
    # An absolute target that exists on *our* filesystem is not where it leads inside.
    (root / "run" / "abs").symlink_to(str(outside))
    with pytest.raises(FileNotFoundError):
        resolve_in_root(root, "run/abs")


def test_resolve_symlink_loop_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "a").symlink_to("/b")
    (root / "b").symlink_to("/a")
    with pytest.raises(UnsafePath):
        resolve_in_root(root, "a/x")


def test_resolve_through_a_file_is_not_a_directory(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "run").write_text("not a dir")
    with pytest.raises(NotADirectoryError):
        resolve_in_root(root, "run/libvirt/virtqemud-sock")


def test_host_path_of_kubevirt_serial(proc: Path) -> None:
    root = make_process(proc, 4242, comm="virt-launcher")
    (root / "var").mkdir()
    (root / "var" / "run").symlink_to("/run")
    sock = make_socket(root / "run" / "kubevirt-private" / "uid-1" / "virt-serial0")
    path = host_path(4242, "/var/run/kubevirt-private/uid-1/virt-serial0", proc_root=proc)
    assert path == str(sock)
    assert "/var/" not in path


def test_discovers_root_and_non_root_launchers(proc: Path) -> None:
    # A root launcher: the monitor process and the daemon share a mount namespace.
    root_a = make_process(proc, 100, comm="virt-launcher-m", mnt="700")
    make_process(proc, 105, comm="virtqemud", mnt="700")
    shutil.rmtree(proc / "105" / "root")
    (proc / "105" / "root").symlink_to(root_a)  # same namespace, same root
    make_socket(root_a / "run" / "libvirt" / "virtqemud-sock")
    # A non-root launcher (KubeVirt's uid 107) with libvirtd's socket name.
    root_b = make_process(proc, 200, comm="libvirtd", uid=107, mnt="800")
    make_socket(root_b / "run" / "libvirt" / "libvirt-sock", uid=107)
    # A process with no libvirt at all.
    make_process(proc, 300, comm="bash")

    found = discover(proc)

    assert [(x.pid, x.comm, x.uid) for x in found.launchers] == [
        (105, "virtqemud", 0),
        (200, "libvirtd", 107),
    ]
    a, b = found.launchers
    assert a.uri == f"qemu+unix:///system?socket={proc}/105/root/run/libvirt/virtqemud-sock"
    assert b.uri == f"qemu+unix:///session?socket={proc}/200/root/run/libvirt/libvirt-sock"
    assert found.denied == [] and found.notes == []


def test_same_socket_seen_by_many_processes_is_one_launcher(proc: Path) -> None:
    host_root = make_process(proc, 1, comm="init", mnt="1")
    make_socket(host_root / "run" / "libvirt" / "libvirt-sock")
    for pid in (2, 3, 4):
        make_process(proc, pid, comm="sshd", mnt="1")
        shutil.rmtree(proc / str(pid) / "root")
        (proc / str(pid) / "root").symlink_to(host_root)
    make_process(proc, 50, comm="libvirtd", mnt="1")
    shutil.rmtree(proc / "50" / "root")
    (proc / "50" / "root").symlink_to(host_root)

    found = discover(proc)

    assert len(found.launchers) == 1
    launcher = found.launchers[0]
    assert (launcher.pid, launcher.comm, launcher.host, launcher.label) == (
        50,
        "libvirtd",
        True,
        "host libvirtd",
    )


def test_absolute_symlink_trap_does_not_find_the_callers_socket(proc: Path, tmp_path: Path) -> None:
    # A socket on *our* side at an absolute path...
    ours = make_socket(tmp_path / "hostrun" / "libvirt" / "virtqemud-sock")
    # ...and a launcher whose /run is an absolute symlink to that same path string.
    root = make_process(proc, 400, comm="virtqemud")
    (root / "run").symlink_to(str(ours.parent.parent))
    assert (root / "run" / "libvirt" / "virtqemud-sock").exists()  # the kernel would follow

    found = discover(proc)

    assert found.launchers == []


def test_var_run_symlink_inside_the_launcher_is_followed_within_it(proc: Path) -> None:
    root = make_process(proc, 500, comm="virtqemud")
    (root / "run").mkdir()
    (root / "run" / "libvirt").symlink_to("/var/lib/sockets")  # absolute, inside the launcher
    make_socket(root / "var" / "lib" / "sockets" / "virtqemud-sock")

    found = discover(proc)

    assert [x.socket for x in found.launchers] == [
        f"{proc}/500/root/var/lib/sockets/virtqemud-sock"
    ]


def test_a_regular_file_is_not_a_socket(proc: Path) -> None:
    root = make_process(proc, 600, comm="virtqemud")
    (root / "run" / "libvirt").mkdir(parents=True)
    (root / "run" / "libvirt" / "virtqemud-sock").write_text("")
    assert discover(proc).launchers == []


def test_vanished_process_is_skipped(proc: Path) -> None:
    make_process(proc, 700, comm="virtqemud")
    shutil.rmtree(proc / "700" / "root")  # exited between listdir and the look inside
    (proc / "701").mkdir()  # half gone: nothing readable
    assert discover(proc).launchers == []


def test_launcher_uri() -> None:
    assert launcher_uri("/p/s", 0) == "qemu+unix:///system?socket=/p/s"
    assert launcher_uri("/p/s", 107) == "qemu+unix:///session?socket=/p/s"


SCRIPT = """
import json, os, sys
sys.path.insert(0, {root!r})
from tui.node.discovery import discover
if os.geteuid() == 0:  # as root: drop to nobody after the imports (root reads everything)
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
found = discover({proc!r})
print(json.dumps({{"denied": found.denied, "notes": found.notes,
                  "launchers": [x.pid for x in found.launchers]}}))
"""


def test_permission_denied_is_a_note_not_a_crash() -> None:
    """An unprivileged user cannot read root-owned process roots: counted, explained."""
    import json

    base = Path(tempfile.mkdtemp(prefix="kvtui-proc-"))
    try:
        base.chmod(0o755)
        proc = base / "proc"
        (proc / "self" / "ns").mkdir(parents=True)
        open_root = make_process(proc, 10, comm="virtqemud", uid=65534)
        make_socket(open_root / "run" / "libvirt" / "virtqemud-sock")
        closed_root = make_process(proc, 20, comm="virtqemud")
        make_socket(closed_root / "run" / "libvirt" / "virtqemud-sock")
        for path in [base, *base.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o055)
        closed_root.chmod(0o700)
        (open_root / "run" / "libvirt" / "virtqemud-sock").chmod(0o666)
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(root=str(ROOT), proc=str(proc))],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        )
        result = json.loads(out.stdout)
    finally:
        shutil.rmtree(base)
    assert result["launchers"] == [10]
    assert result["denied"] == [20]
    assert "run kvtui node as root" in result["notes"][0]


def _qemu(proc: Path, pid: int, name_arg: str, start_ticks: int, mnt: str) -> None:
    make_process(proc, pid, comm="qemu-system-x86", mnt=mnt)
    args = ["/usr/bin/qemu-system-x86_64", "-name", name_arg, "-S", "-machine", "q35"]
    (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in args) + b"\0")
    fields = ["S"] + ["0"] * 18 + [str(start_ticks)] + ["0"] * 30
    (proc / str(pid) / "stat").write_text(f"{pid} (qemu-system-x86) {' '.join(fields)}\n")


def test_qemu_start_times_by_guest_name_in_one_namespace(proc: Path) -> None:
    (proc / "stat").write_text("cpu 1 2 3\nbtime 1700000000\nprocesses 5\n")
    ticks = os.sysconf("SC_CLK_TCK")
    _qemu(proc, 900, "guest=prod_web-01,debug-threads=on", 50 * ticks, mnt="700")
    _qemu(proc, 901, "guest=odd,,name,debug-threads=on", 70 * ticks, mnt="700")
    _qemu(proc, 902, "guest=elsewhere", 10 * ticks, mnt="800")
    make_process(proc, 903, comm="bash", mnt="700")

    from tui.node.discovery import qemu_start_times

    assert qemu_start_times(proc, "mnt:[700]") == {
        "prod_web-01": 1700000050.0,
        "odd,name": 1700000070.0,
    }
    assert set(qemu_start_times(proc)) == {"prod_web-01", "odd,name", "elsewhere"}
    (proc / "stat").unlink()
    assert qemu_start_times(proc) == {}  # no boot time: nothing to say


def test_refused_as_root_only_counts_processes_that_could_be_launchers() -> None:
    """Root refused by a container or LSM: a daemon it cannot look into is worth a note, the
    sandbox's own init (PID 1 here is such a process) is not."""
    import json

    script = SCRIPT.replace(
        "found = discover(",
        "os.geteuid = lambda: 0  # the scan believes it runs as root\nfound = discover(",
    )
    base = Path(tempfile.mkdtemp(prefix="kvtui-proc-"))
    try:
        base.chmod(0o755)
        proc = base / "proc"
        (proc / "self" / "ns").mkdir(parents=True)
        init_root = make_process(proc, 1, comm="process_api")
        daemon_root = make_process(proc, 30, comm="virtqemud")
        make_socket(daemon_root / "run" / "libvirt" / "virtqemud-sock")
        for path in [base, *base.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o055)
        init_root.chmod(0o700)
        daemon_root.chmod(0o700)
        out = subprocess.run(
            [sys.executable, "-c", script.format(root=str(ROOT), proc=str(proc))],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        )
        result = json.loads(out.stdout)
    finally:
        shutil.rmtree(base)
    assert result["denied"] == [30]
    assert "even as root" in result["notes"][0]
