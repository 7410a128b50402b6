"""One domain in depth, as `virsh dominfo/domstats/domblkinfo/domifaddr/domjobinfo` would show.

Every function takes a live `virDomain` and returns plain data (`Section`s of label/value
rows, or text) plus the error of each part that failed, in words: the test driver raises
`VIR_ERR_NO_SUPPORT` for jobs, the guest agent and the QEMU monitor, a domain without a
guest agent says so, and neither stops the other parts from showing. All calls are
read-only; the mutations (`suspend`, `resume`, `destroy`) are separate and the UI asks first.

Console: `console_target` decides how to reach a domain's serial console from here:
KubeVirt's layout (`<serial type='unix'>`, which libvirt 9.0 refuses to `openConsole`) goes
straight to the socket inside the launcher's mount namespace, resolved without following
absolute symlinks (`tui.node.discovery.host_path`); a pty console goes through libvirt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.libvirt_loop import libvirt_module
from tui.node.discovery import host_path, is_readable_socket
from tui.node.domains import DomainFacts, domain_facts, human_kib, state_words

MONITOR_QUERIES: tuple[tuple[str, str, bool], ...] = (
    # (title, command, HMP?)
    ("query-status", '{"execute": "query-status"}', False),
    ("info chardev", "info chardev", True),
    ("query-block", '{"execute": "query-block"}', False),
)


@dataclass
class Section:
    """A titled block of (label, value) rows, or an error saying why it is empty."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    text: str = ""


def explain(exc: BaseException) -> str:
    """A libvirt error in words a user can act on."""
    libvirt = libvirt_module()
    if isinstance(exc, libvirt.libvirtError):
        code = exc.get_error_code()
        message = " ".join((exc.get_error_message() or str(exc)).split())
        if code == libvirt.VIR_ERR_NO_SUPPORT:
            return f"not supported by this driver ({message})"
        if (
            code
            in (
                libvirt.VIR_ERR_AGENT_UNRESPONSIVE,
                getattr(libvirt, "VIR_ERR_AGENT_COMMAND_TIMEOUT", -1),
            )
            or "agent is not configured" in message
        ):
            return f"no guest agent answering ({message})"
        if code == libvirt.VIR_ERR_OPERATION_INVALID:
            return f"not possible in this state ({message})"
        return message
    return " ".join(str(exc).split()) or type(exc).__name__


def _try(section: Section, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - each part fails alone, in words
        section.error = explain(exc)
        return None


def human_bytes(value: float | int | None) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def xml(dom: Any, *, inactive: bool = False) -> str:
    libvirt = libvirt_module()
    return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0)


def overview(dom: Any, facts: DomainFacts, *, launcher_pid: int | None, uri: str) -> Section:
    section = Section("Overview")
    rows = section.rows
    info = _try(section, dom.info)
    state = _try(section, dom.state)
    rows.append(("Name", dom.name()))
    rows.append(("UUID", dom.UUIDString()))
    if state:
        rows.append(("State", state_words(state[0], state[1])))
    if facts.uid:
        rows.append(("VMI uid", facts.uid))
    if launcher_pid is not None:
        rows.append(("Launcher pid", str(launcher_pid)))
    rows.append(("Connection", uri))
    try:
        rows.append(("Domain id", str(dom.ID()) if dom.isActive() else "-"))
        rows.append(("Persistent", "yes" if dom.isPersistent() else "no"))
    except Exception:  # noqa: BLE001
        pass
    if info:
        _state, max_kib, cur_kib, vcpus, cpu_ns = info
        rows.append(("vCPUs", str(vcpus)))
        rows.append(("Memory", f"{human_kib(cur_kib)} of {human_kib(max_kib)}"))
        rows.append(("CPU time", f"{cpu_ns / 1e9:.1f} s"))
    if facts.migration:
        for key, value in facts.migration.items():
            rows.append((f"Migration {key}", value))
    if facts.grace_period:
        for key, value in facts.grace_period.items():
            rows.append((f"Grace period {key}", value))
    return section


def stats(dom: Any) -> list[Section]:
    """vCPU and memory statistics."""
    vcpu = Section("vCPUs")
    result = _try(vcpu, dom.vcpus)
    if result:
        states = {0: "offline", 1: "running", 2: "blocked"}
        for number, state, cpu_ns, host_cpu in result[0]:
            vcpu.rows.append(
                (
                    f"vCPU {number}",
                    f"{states.get(state, state)}, {cpu_ns / 1e9:.1f} s on host CPU {host_cpu}",
                )
            )
    memory = Section("Memory (balloon)")
    values = _try(memory, dom.memoryStats)
    if values:
        for key, value in sorted(values.items()):
            shown = human_kib(int(value)) if key not in ("last_update",) and value else str(value)
            if key in ("major_fault", "minor_fault", "swap_in", "swap_out", "last_update"):
                shown = str(value)
            memory.rows.append((key, shown or str(value)))
    cpu = Section("CPU time")
    totals = _try(cpu, lambda: dom.getCPUStats(True))
    if totals:
        for key, value in sorted(totals[0].items()):
            cpu.rows.append((key, f"{value / 1e9:.2f} s"))
    return [vcpu, memory, cpu]


def block(dom: Any, facts: DomainFacts) -> list[Section]:
    """Each disk: size (capacity/allocation/physical) and I/O counters."""
    sections = []
    for disk in facts.disks:
        if not disk.target:
            continue
        section = Section(f"{disk.target} ({disk.device}, {disk.bus or '?'})")
        section.rows.append(("Source", disk.source or "-"))
        if disk.driver:
            section.rows.append(("Format", disk.driver))
        info = _try(section, lambda t=disk.target: dom.blockInfo(t))
        if info:
            capacity, allocation, physical = info
            section.rows.append(("Capacity", human_bytes(capacity)))
            section.rows.append(("Allocation", human_bytes(allocation)))
            section.rows.append(("Physical", human_bytes(physical)))
        io = _try(section, lambda t=disk.target: dom.blockStats(t))
        if io:
            rd_req, rd_bytes, wr_req, wr_bytes, errs = io
            section.rows.append(("Read", f"{human_bytes(rd_bytes)} in {rd_req} requests"))
            section.rows.append(("Written", f"{human_bytes(wr_bytes)} in {wr_req} requests"))
            section.rows.append(("Errors", str(errs)))
        sections.append(section)
    if not sections:
        sections.append(Section("Disks", error="the domain has no disks"))
    return sections


def interfaces(dom: Any, facts: DomainFacts) -> list[Section]:
    """Each NIC: MAC, model, source, counters, and addresses (lease, agent, ARP)."""
    libvirt = libvirt_module()
    addresses: dict[str, list[str]] = {}
    notes: list[str] = []
    sources = (
        ("lease", libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE),
        ("agent", libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT),
        ("arp", getattr(libvirt, "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP", 2)),
    )
    for label, source in sources:
        try:
            found = dom.interfaceAddresses(source, 0) or {}
        except Exception as exc:  # noqa: BLE001
            notes.append(f"{label}: {explain(exc)}")
            continue
        for _name, entry in found.items():
            mac = (entry.get("hwaddr") or "").lower()
            for address in entry.get("addrs") or []:
                text = f"{address.get('addr')}/{address.get('prefix')} ({label})"
                addresses.setdefault(mac, []).append(text)
    sections = []
    for nic in facts.nics:
        section = Section(f"{nic.alias or nic.target or nic.mac} ({nic.kind})")
        section.rows.append(("MAC", nic.mac))
        if nic.model:
            section.rows.append(("Model", nic.model))
        if nic.source:
            section.rows.append(("Source", nic.source))
        if nic.target:
            section.rows.append(("Host device", nic.target))
        for address in addresses.get(nic.mac.lower(), []):
            section.rows.append(("Address", address))
        if nic.target:
            values = _try(section, lambda t=nic.target: dom.interfaceStats(t))
            if values:
                rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop = (
                    values
                )
                section.rows.append(
                    (
                        "Received",
                        f"{human_bytes(rx_bytes)}, {rx_packets} packets, {rx_errs} errors, {rx_drop} dropped",
                    )
                )
                section.rows.append(
                    (
                        "Sent",
                        f"{human_bytes(tx_bytes)}, {tx_packets} packets, {tx_errs} errors, {tx_drop} dropped",
                    )
                )
        sections.append(section)
    if not sections:
        sections.append(Section("Interfaces", error="the domain has no interfaces"))
    if notes:
        sections.append(Section("Address sources", rows=[("", note) for note in notes]))
    return sections


JOB_TYPES = {0: "none", 1: "bounded", 2: "unbounded", 3: "completed", 4: "failed", 5: "cancelled"}
JOB_OPERATIONS = {
    0: "unknown",
    1: "start",
    2: "save",
    3: "restore",
    4: "incoming migration",
    5: "outgoing migration",
    6: "snapshot",
    7: "snapshot revert",
    8: "dump",
    9: "backup",
}


def job(dom: Any) -> Section:
    """The job in progress (`virsh domjobinfo`): migration progress and speed."""
    section = Section("Job")
    stats = _try(section, lambda: dom.jobStats(0))
    if stats is None:
        info = _try(section, dom.jobInfo)
        if info is None:
            return section
        section.error = ""
        names = (
            "type",
            "time elapsed (ms)",
            "time remaining (ms)",
            "data total",
            "data processed",
            "data remaining",
            "memory total",
            "memory processed",
            "memory remaining",
            "file total",
            "file processed",
            "file remaining",
        )
        stats = dict(zip(names, info, strict=False))
    kind = stats.get("type", 0)
    section.rows.append(("Type", JOB_TYPES.get(kind, str(kind))))
    if "operation" in stats:
        section.rows.append(("Operation", JOB_OPERATIONS.get(stats["operation"], "?")))
    if kind == 0:
        section.text = "No job is running (a live migration would show its progress here)."
        return section
    total = stats.get("data_total") or stats.get("data total")
    processed = stats.get("data_processed") or stats.get("data processed")
    if total:
        section.rows.append(
            ("Progress", f"{(processed or 0) / total * 100:.1f}% of {human_bytes(total)}")
        )
    for key, value in sorted(stats.items()):
        if key in ("type", "operation"):
            continue
        shown = (
            human_bytes(value)
            if "bytes" in key
            or key.startswith(
                ("data", "memory_t", "memory_p", "memory_r", "disk_t", "disk_p", "disk_r")
            )
            else str(value)
        )
        section.rows.append((key, shown))
    return section


def guest_agent(dom: Any) -> Section:
    """What the guest agent reports (OS, hostname, users, filesystems), when there is one."""
    section = Section("Guest agent")
    info = _try(section, lambda: dom.guestInfo(0, 0))
    if info:
        for key, value in sorted(info.items()):
            section.rows.append((key, str(value)))
    return section


def monitor(dom: Any) -> list[Section]:
    """The read-only QEMU monitor queries (QMP, and HMP `info chardev`)."""
    sections = []
    try:
        import libvirt_qemu
    except ImportError as exc:
        return [Section("QEMU monitor", error=f"libvirt_qemu is not available: {exc}")]
    for title, command, hmp in MONITOR_QUERIES:
        section = Section(title)
        flags = libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP if hmp else 0
        reply = _try(section, lambda c=command, f=flags: libvirt_qemu.qemuMonitorCommand(dom, c, f))
        if reply is not None:
            if hmp:
                section.text = reply
            else:
                try:
                    section.text = json.dumps(json.loads(reply).get("return", reply), indent=2)
                except (ValueError, AttributeError):
                    section.text = reply
        sections.append(section)
    return sections


# ---- console --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleTarget:
    """How to reach a domain's serial console from this machine."""

    kind: str  # "unix" (the socket), "libvirt" (openConsole), or "" (none)
    socket: str = ""  # host path of the unix socket
    log: str = ""  # host path of the serial log file, when there is one
    note: str = ""  # why the console may not work, in words


def _host(
    path: str, launcher_pid: int | None, proc_root: str | os.PathLike[str]
) -> tuple[str, str]:
    """(host path, problem) for a path inside the launcher's mount namespace."""
    if launcher_pid is None:
        return path, ""
    try:
        return host_path(launcher_pid, path, proc_root=proc_root), ""
    except OSError as exc:
        where = os.path.join(os.fspath(proc_root), str(launcher_pid), "root") + path
        return where, f"{where}: {exc.strerror or exc}"


def console_target(
    facts: DomainFacts,
    *,
    launcher_pid: int | None,
    proc_root: str | os.PathLike[str] = "/proc",
) -> ConsoleTarget:
    """The console route: KubeVirt's unix serial socket directly, or libvirt's openConsole."""
    serial = next(iter(facts.serials), None)
    if serial is None:
        return ConsoleTarget("", note="the domain has no serial device")
    if serial.kind == "unix" and serial.path:
        socket, problem = _host(serial.path, launcher_pid, proc_root)
        log = ""
        if serial.log:
            log, _ = _host(serial.log, launcher_pid, proc_root)
        if not problem and not is_readable_socket(socket):
            problem = f"no socket at {socket}"
        return ConsoleTarget("unix", socket=socket, log=log, note=problem)
    if serial.kind == "pty":
        log = ""
        if serial.log:
            log, _ = _host(serial.log, launcher_pid, proc_root)
        return ConsoleTarget("libvirt", log=log)
    return ConsoleTarget(
        "", note=f"serial type {serial.kind!r} has no interactive console kvtui can open"
    )


def read_log_tail(path: str, limit: int = 256 * 1024) -> bytes:
    """The last `limit` bytes of a serial log (opened without following a final symlink)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        size = os.fstat(fd).st_size
        os.lseek(fd, max(0, size - limit), os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def refresh_facts(dom: Any) -> DomainFacts:
    return domain_facts(dom.XMLDesc(0))


# ---- mutations (asked for and confirmed in the UI) ---------------------------------------------

ACTIONS = {
    "suspend": ("Suspend", "virsh suspend {name}", False),
    "resume": ("Resume", "virsh resume {name}", False),
    "destroy": ("Destroy (hard power-off)", "virsh destroy {name}", True),
}


def perform(dom: Any, action: str) -> None:
    """Run one of ACTIONS on the domain (raises libvirtError)."""
    if action == "suspend":
        dom.suspend()
    elif action == "resume":
        dom.resume()
    elif action == "destroy":
        dom.destroy()
    else:
        raise ValueError(f"unknown action {action!r}")
