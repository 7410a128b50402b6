"""What a libvirt domain means to a KubeVirt operator: pure functions, no libvirt import.

- Names: KubeVirt names a VMI's domain `<namespace>_<vmi name>` (namespaces and names are
  DNS labels, so they hold no `_`); `split_name` takes it apart.
- Metadata: KubeVirt writes `<metadata><kubevirt xmlns="http://kubevirt.io"><uid>…</uid>
  <graceperiod>…</graceperiod><migration>…</migration></kubevirt></metadata>` into every
  domain it defines (pkg/virt-launcher/virtwrap/api/schema.go, `KubeVirtMetadata`);
  libvirt stores it with a prefix (`<kubevirt:kubevirt xmlns:kubevirt=…>`). `domain_facts`
  reads it, and the devices a troubleshooter asks about, from the domain XML.
- State words: virsh's words for libvirt's state and reason numbers.
- Rates: `Rates` turns cumulative counters (cpu.time ns, block/net bytes) into per-second
  rates and keeps a short history for sparklines.

Domain XML comes from a daemon in a pod: it is parsed with ElementTree (no entity
expansion beyond the XML built-ins) and every string is still treated as untrusted text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

KUBEVIRT_NS = "http://kubevirt.io"
HISTORY = 30  # samples kept per series (sparkline width)

STATES = {
    0: "no state",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutting down",
    5: "shut off",
    6: "crashed",
    7: "pmsuspended",
}

# virsh domstate --reason words, per state (libvirt's virDomain*Reason enums).
REASONS: dict[int, dict[int, str]] = {
    1: {
        1: "booted",
        2: "migrated",
        3: "restored",
        4: "from snapshot",
        5: "unpaused",
        6: "migration canceled",
        7: "save canceled",
        8: "event wakeup",
        9: "crashed",
        10: "post-copy",
        11: "post-copy failed",
    },
    2: {},
    3: {
        1: "user",
        2: "migrating",
        3: "saving",
        4: "dumping",
        5: "I/O error",
        6: "watchdog",
        7: "from snapshot",
        8: "shutting down",
        9: "creating snapshot",
        10: "crashed",
        11: "starting up",
        12: "post-copy",
        13: "post-copy failed",
        14: "api error",
    },
    4: {1: "user"},
    5: {
        1: "shutdown",
        2: "destroyed",
        3: "crashed",
        4: "migrated",
        5: "saved",
        6: "failed",
        7: "from snapshot",
        8: "daemon",
    },
    6: {1: "panicked"},
    7: {},
}

# Lifecycle event numbers (virDomainEventType) -> words, for the status line.
EVENTS = {
    0: "defined",
    1: "undefined",
    2: "started",
    3: "suspended",
    4: "resumed",
    5: "stopped",
    6: "shut down",
    7: "pmsuspended",
    8: "crashed",
}

STATE_CATEGORY = {
    1: "running",
    2: "transitional",
    3: "transitional",
    4: "transitional",
    5: "stopped",
    6: "error",
    7: "stopped",
    0: "transitional",
}


def state_words(state: int, reason: int = 0) -> str:
    """`paused (migrating)`, `running (booted)`, `shut off`: virsh domstate --reason style."""
    words = STATES.get(state, f"state {state}")
    why = REASONS.get(state, {}).get(reason)
    return f"{words} ({why})" if why else words


def split_name(name: str) -> tuple[str, str]:
    """`ns_vm` -> ("ns", "vm"); a name without `_` is not KubeVirt's: ("", name)."""
    namespace, sep, vm = name.partition("_")
    if not sep or not namespace or not vm:
        return "", name
    return namespace, vm


@dataclass(frozen=True)
class Disk:
    target: str
    device: str = "disk"
    source: str = ""
    bus: str = ""
    driver: str = ""


@dataclass(frozen=True)
class Nic:
    mac: str
    target: str = ""
    model: str = ""
    kind: str = ""
    source: str = ""
    alias: str = ""


@dataclass(frozen=True)
class Serial:
    kind: str  # "unix", "pty", "file", ...
    path: str = ""  # the unix socket path (mode bind) or the pty
    log: str = ""  # <log file=...>
    port: str = "0"


@dataclass(frozen=True)
class DomainFacts:
    """What the XML says that the list and details show."""

    uid: str = ""
    migration: dict[str, str] = field(default_factory=dict)
    grace_period: dict[str, str] = field(default_factory=dict)
    vcpus: int = 0
    memory_kib: int = 0
    current_memory_kib: int = 0
    disks: tuple[Disk, ...] = ()
    nics: tuple[Nic, ...] = ()
    serials: tuple[Serial, ...] = ()
    console_kind: str = ""

    @property
    def kubevirt(self) -> bool:
        return bool(self.uid)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kib(element: ET.Element | None) -> int:
    if element is None or not (element.text or "").strip():
        return 0
    try:
        value = int((element.text or "0").strip())
    except ValueError:
        return 0
    unit = (element.get("unit") or "KiB").lower()
    factors = {
        "b": 1 / 1024,
        "bytes": 1 / 1024,
        "k": 1,
        "kib": 1,
        "kb": 1000 / 1024,
        "m": 1024,
        "mib": 1024,
        "mb": 1000**2 / 1024,
        "g": 1024**2,
        "gib": 1024**2,
        "gb": 1000**3 / 1024,
        "t": 1024**3,
        "tib": 1024**3,
    }
    return int(value * factors.get(unit, 1))


def kubevirt_metadata(root: ET.Element) -> tuple[str, dict[str, str], dict[str, str]]:
    """(VMI uid, migration fields, grace period fields) from a domain's `<metadata>`."""
    metadata = root.find("metadata")
    if metadata is None:
        return "", {}, {}
    for child in metadata:
        if _local(child.tag) != "kubevirt":
            continue
        if child.tag.startswith("{") and not child.tag.startswith("{" + KUBEVIRT_NS + "}"):
            continue
        uid = ""
        sections: dict[str, dict[str, str]] = {"migration": {}, "graceperiod": {}}
        for item in child:
            name = _local(item.tag)
            if name == "uid":
                uid = (item.text or "").strip()
            elif name in sections:
                sections[name] = {_local(sub.tag): (sub.text or "").strip() for sub in item}
        return uid, sections["migration"], sections["graceperiod"]
    return "", {}, {}


def domain_facts(xml: str) -> DomainFacts:
    """Parse a domain's XML; anything malformed gives empty facts, never an exception."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return DomainFacts()
    uid, migration, grace = kubevirt_metadata(root)
    vcpu = root.find("vcpu")
    try:
        vcpus = int(vcpu.get("current") or vcpu.text or 0) if vcpu is not None else 0
    except ValueError:
        vcpus = 0
    disks = []
    nics = []
    serials = []
    console_kind = ""
    devices = root.find("devices")
    for device in devices if devices is not None else ():
        tag = device.tag
        if tag == "disk":
            target = device.find("target")
            source = device.find("source")
            driver = device.find("driver")
            src = ""
            if source is not None:
                src = (
                    source.get("file")
                    or source.get("dev")
                    or source.get("volume")
                    or source.get("name")
                    or ""
                )
            disks.append(
                Disk(
                    target=(target.get("dev") if target is not None else "") or "",
                    device=device.get("device") or "disk",
                    source=src,
                    bus=(target.get("bus") if target is not None else "") or "",
                    driver=(driver.get("type") if driver is not None else "") or "",
                )
            )
        elif tag == "interface":
            mac = device.find("mac")
            target = device.find("target")
            model = device.find("model")
            source = device.find("source")
            alias = device.find("alias")
            src = ""
            if source is not None:
                src = source.get("network") or source.get("bridge") or source.get("dev") or ""
            nics.append(
                Nic(
                    mac=(mac.get("address") if mac is not None else "") or "",
                    target=(target.get("dev") if target is not None else "") or "",
                    model=(model.get("type") if model is not None else "") or "",
                    kind=device.get("type") or "",
                    source=src,
                    alias=(alias.get("name") if alias is not None else "") or "",
                )
            )
        elif tag == "serial":
            source = device.find("source")
            log = device.find("log")
            target = device.find("target")
            path = ""
            if source is not None:
                path = source.get("path") or ""
            path = path or device.get("tty") or ""
            serials.append(
                Serial(
                    kind=device.get("type") or "",
                    path=path,
                    log=(log.get("file") if log is not None else "") or "",
                    port=(target.get("port") if target is not None else "0") or "0",
                )
            )
        elif tag == "console" and not console_kind:
            console_kind = device.get("type") or ""
    return DomainFacts(
        uid=uid,
        migration=migration,
        grace_period=grace,
        vcpus=vcpus,
        memory_kib=_kib(root.find("memory")),
        current_memory_kib=_kib(root.find("currentMemory")),
        disks=tuple(disks),
        nics=tuple(nics),
        serials=tuple(serials),
        console_kind=console_kind,
    )


# ---- rates --------------------------------------------------------------------------------


class Rates:
    """Per-second rates of cumulative counters, with a short history per series.

    `sample(now, counters)` with counters like {"cpu": ns, "block": bytes, "net": bytes};
    a counter that goes backwards (a restarted guest, a replugged NIC) restarts its rate
    instead of producing a negative one.
    """

    def __init__(self, history: int = HISTORY) -> None:
        self._last: dict[str, tuple[float, float]] = {}
        self.current: dict[str, float | None] = {}
        self.history: dict[str, deque[float]] = {}
        self._size = history

    def sample(self, now: float, counters: dict[str, float | None]) -> None:
        for name, value in counters.items():
            if value is None:
                self.current[name] = None
                continue
            last = self._last.get(name)
            self._last[name] = (now, value)
            if last is None or now <= last[0] or value < last[1]:
                self.current.setdefault(name, None)
                continue
            rate = (value - last[1]) / (now - last[0])
            self.current[name] = rate
            series = self.history.get(name)
            if series is None:
                series = self.history[name] = deque(maxlen=self._size)
            series.append(rate)

    def rate(self, name: str) -> float | None:
        return self.current.get(name)

    def series(self, name: str) -> tuple[float, ...]:
        return tuple(self.history.get(name, ()))


def cpu_percent(ns_per_second: float | None, vcpus: int) -> float | None:
    """CPU use as a share of the domain's vCPUs (100% = every vCPU busy), like virt-top's %CPU
    divided by the vCPU count."""
    if ns_per_second is None:
        return None
    return max(0.0, ns_per_second / 1e9 / max(1, vcpus) * 100.0)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Iterable[float], width: int = 8) -> str:
    """The last `width` values as block characters scaled to their own maximum."""
    data = list(values)[-width:]
    if not data:
        return ""
    top = max(data)
    if top <= 0:
        return SPARKS[0] * len(data)
    return "".join(SPARKS[min(len(SPARKS) - 1, int(v / top * (len(SPARKS) - 1)))] for v in data)


def human_rate(value: float | None) -> str:
    """Bytes per second, short: `0`, `812B`, `1.4K`, `23M` (per second implied by the column)."""
    if value is None:
        return ""
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            if unit == "B":
                return f"{value:.0f}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return ""


def human_kib(kib: int) -> str:
    """Memory in KiB -> `512Mi`, `2Gi`, `1.5Gi`."""
    if kib <= 0:
        return ""
    mib = kib / 1024
    if mib < 1024:
        return f"{mib:.0f}Mi"
    gib = mib / 1024
    return f"{gib:.0f}Gi" if gib == int(gib) or gib >= 10 else f"{gib:.1f}Gi"


def human_duration(seconds: float | None) -> str:
    """`45s`, `12m`, `3h4m`, `5d2h`: as kubectl's ages."""
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60}s" if s < 600 else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60}m"
    return f"{s // 86400}d{(s % 86400) // 3600}h"
