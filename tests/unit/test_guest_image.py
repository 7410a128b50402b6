"""The tiny guest's pieces without running anything: the initramfs read back, the kernel taken
out of a .deb, static-binary detection, the reasons a machine can't run it, the domain XML."""

from __future__ import annotations

import gzip
import io
import os
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tui.console.libvirt import serial_socket_paths
from tui.demo import guest_image
from tui.demo.guest_image import (
    BANNER,
    PROMPT,
    GuestImage,
    Unavailable,
    extract_vmlinuz,
    find_guest,
    initramfs_bytes,
)
from tui.demo.libvirtd import domain_xml


def read_cpio(data: bytes) -> dict[str, tuple[int, bytes, tuple[int, int]]]:
    """name -> (mode, content, (rdev major, minor)) of a newc archive."""
    entries = {}
    offset = 0
    while True:
        assert data[offset : offset + 6] == b"070701", f"bad magic at {offset}"
        fields = [int(data[offset + 6 + 8 * i : offset + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rmajor, rminor, namesize = (
            fields[1],
            fields[6],
            fields[9],
            fields[10],
            fields[11],
        )
        offset += 110
        name = data[offset : offset + namesize - 1].decode()
        offset += namesize
        offset += -offset % 4
        content = data[offset : offset + size]
        offset += size
        offset += -offset % 4
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, content, (rmajor, rminor))


def test_initramfs_holds_busybox_the_console_nodes_and_an_init_that_never_exits() -> None:
    data = initramfs_bytes(b"\x7fELF fake busybox")
    assert data == initramfs_bytes(b"\x7fELF fake busybox"), "same inputs, same bytes"
    entries = read_cpio(gzip.decompress(data))
    assert entries["bin/busybox"][1] == b"\x7fELF fake busybox"
    assert entries["bin/busybox"][0] == 0o100755
    assert entries["bin/sh"] == (0o120777, b"busybox", (0, 0))
    assert entries["dev/console"][0] & 0o170000 == 0o020000
    assert entries["dev/console"][2] == (5, 1)
    assert entries["dev/ttyS0"][2] == (4, 64)
    init = entries["init"][1].decode()
    assert entries["init"][0] == 0o100755
    assert init.startswith("#!/bin/busybox sh\n")
    assert BANNER in init and f"PS1='{PROMPT}'" in init
    assert "while true; do" in init, "PID 1 must never exit (kernel panic)"


def test_static_elf_detection() -> None:
    assert not guest_image._is_static_elf(Path(__file__))  # noqa: SLF001
    dynamic = Path("/bin/ls")
    if dynamic.exists():
        assert not guest_image._is_static_elf(dynamic)  # noqa: SLF001
    busybox = guest_image.find_busybox()
    if busybox is not None:
        assert guest_image._is_static_elf(busybox)  # noqa: SLF001


def make_deb(path: Path, members: dict[str, bytes]) -> Path:
    """A .deb (ar: debian-binary, control.tar.xz, data.tar.xz) holding `members`."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:xz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    parts = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", b""),
        ("data.tar.xz", tar_buffer.getvalue()),
    ]
    out = bytearray(b"!<arch>\n")
    for name, content in parts:
        out += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(content):<10}`\n".encode()
        out += content
        if len(content) % 2:
            out += b"\n"
    path.write_bytes(bytes(out))
    return path


def test_the_kernel_is_taken_out_of_its_deb(tmp_path: Path) -> None:
    deb = make_deb(
        tmp_path / "linux-image.deb",
        {
            "./usr/share/doc/x": b"doc",
            "./boot/System.map-6.1.0-9-cloud-amd64": b"map",
            "./boot/vmlinuz-6.1.0-9-cloud-amd64": b"KERNEL" * 100,
        },
    )
    dest = tmp_path / "guest"
    kernel = extract_vmlinuz(deb, dest)
    assert kernel == dest / "vmlinuz" and kernel.read_bytes() == b"KERNEL" * 100
    assert (dest / "vmlinuz.version").read_text() == "6.1.0-9-cloud-amd64\n"
    assert guest_image.find_kernel(dest) == kernel
    with pytest.raises(ValueError, match="no boot/vmlinuz"):
        extract_vmlinuz(make_deb(tmp_path / "empty.deb", {"./etc/x": b""}), dest)


def test_reasons_when_the_machine_cannot_run_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    present = {"qemu-system-x86_64": "/usr/bin/qemu", "libvirtd": "/usr/sbin/libvirtd"}
    monkeypatch.setattr(guest_image, "which", lambda name: present.get(name))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("KVTUI_GUEST_DIR", raising=False)
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"not elf")
    monkeypatch.setenv("KVTUI_GUEST_BUSYBOX", str(busybox))
    monkeypatch.setattr(guest_image, "find_busybox", lambda: None)

    result = find_guest()
    assert isinstance(result, Unavailable) and not result
    assert result.reason == "no statically linked busybox (Debian: busybox-static)"

    monkeypatch.setattr(guest_image, "find_busybox", lambda: busybox)
    result = find_guest(tmp_path / "kernels")
    assert not result and "no guest kernel (vmlinuz) in " in str(result)
    assert str(tmp_path / "kernels") in str(result) and "--fetch" in str(result)

    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "vmlinuz-6.1").write_bytes(b"k")
    result = find_guest(tmp_path / "kernels")
    assert isinstance(result, GuestImage)
    assert result.kernel == tmp_path / "kernels" / "vmlinuz-6.1"
    assert result.initrd.parent == tmp_path / "kernels" and result.initrd.is_file()
    assert find_guest(tmp_path / "kernels").initrd == result.initrd, "built once, reused"

    del present["libvirtd"]
    assert "libvirtd is not installed" in str(find_guest(tmp_path / "kernels"))
    assert find_guest(tmp_path / "kernels", need_libvirtd=False)
    del present["qemu-system-x86_64"]
    assert "qemu-system-x86_64 is not installed" in str(find_guest(tmp_path / "kernels"))


def test_domain_xml_is_tcg_with_kubevirts_serial_layout(tmp_path: Path) -> None:
    guest = GuestImage(kernel=tmp_path / "vmlinuz", initrd=tmp_path / "initrd")
    sock = tmp_path / "it's <odd>" / "virt-serial0"
    xml = domain_xml(
        "ns_vm&co", guest, sock, serial_log=tmp_path / "log", uid="u-1", namespace="ns"
    )
    root = ET.fromstring(xml)
    assert root.get("type") == "qemu", "never KVM"
    assert root.findtext("name") == "ns_vm&co"
    assert root.findtext("os/kernel") == str(guest.kernel)
    assert root.findtext("os/cmdline") == guest.cmdline
    serial = root.find("devices/serial")
    assert serial is not None and serial.get("type") == "unix"
    assert serial.find("source").get("mode") == "bind"
    assert serial.find("log").get("file") == str(tmp_path / "log")
    console = root.find("devices/console")
    assert console is not None and console.get("type") == "pty"
    assert console.find("target").get("type") == "serial"
    assert root.findtext("metadata/{http://kubevirt.io}kubevirt/{http://kubevirt.io}uid") == "u-1"
    assert serial_socket_paths(xml) == [str(sock)]

    plain = ET.fromstring(domain_xml("plain", guest, None))
    assert plain.find("devices/serial").get("type") == "pty"
    assert serial_socket_paths(domain_xml("plain", guest, None)) == []


def test_fetch_is_a_no_op_when_the_kernel_is_there(tmp_path: Path) -> None:
    (tmp_path / "vmlinuz").write_bytes(b"k")
    assert guest_image.fetch_kernel(tmp_path) == tmp_path / "vmlinuz"


def test_the_module_runs_with_the_standard_library_only() -> None:
    """CI runs `python3 -m tui.demo.guest_image --fetch` with the system python, no venv."""
    import subprocess

    code = (
        "import sys; sys.modules['yaml'] = None; sys.modules['aiohttp'] = None; "
        "import tui.demo.guest_image"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, env={**os.environ})


def test_real_guests_are_asked_for_with_the_demo_only(capsys: pytest.CaptureFixture) -> None:
    from tui.cli import parse_settings

    assert parse_settings(["--demo", "--real-guests"]).real_guests
    assert not parse_settings(["--demo"]).real_guests
    with pytest.raises(SystemExit):
        parse_settings(["--real-guests"])
    assert "--real-guests works with --demo only" in capsys.readouterr().err


def test_real_guests_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.demo.real_guests import enabled_from_env

    cases = [("", (False, 2)), ("0", (False, 2)), ("1", (True, 1)), ("yes", (True, 2))]
    for value, expected in cases:
        monkeypatch.setenv("KVTUI_DEMO_REAL_GUESTS", value)
        assert enabled_from_env() == expected
    monkeypatch.setenv("KVTUI_DEMO_REAL_GUESTS", "3")
    assert enabled_from_env() == (True, 3)


def test_a_demo_that_cannot_run_real_guests_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.demo import real_guests
    from tui.demo.runtime import DemoCluster

    monkeypatch.setattr(real_guests, "availability", lambda: Unavailable("no QEMU here"))
    demo = DemoCluster(seed_data=False, real_guests=True).start()
    try:
        assert demo.real_guests is None and demo.real_guests_reason == "no QEMU here"
        assert demo.console is not None and demo.console.real_guests is None
    finally:
        demo.stop()
