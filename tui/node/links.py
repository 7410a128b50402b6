"""Which cluster VMIs have their libvirt domain on this machine: the cluster views' "on node" key.

Decided the reliable way, as virt-handler would: `tui.node.discovery` finds every launcher
daemon on this machine, each is asked (read-only) for its domains, and each domain's KubeVirt
metadata (`<kubevirt xmlns="http://kubevirt.io"><uid>…`) names the VMI it belongs to. A VMI
whose uid is among them runs here. The VMI's `status.nodeName` being this host's name is only
a hint: it makes the next scan come sooner, it never offers the key by itself (a node name
can be an FQDN, a cloud instance id, or just wrong during a migration).

Scans run on one thread, every `rescan_every` seconds (a minute) while some screen listens,
sooner (at most every `hint_gap` seconds) when a VMI says it runs on this node and its uid is
not known yet. Nothing is scanned when libvirt-python is missing, or when kvtui is not root
and would look at the real /proc (other users' /proc/<pid>/root are closed to it): `reason`
says why in words. `proc_root` and `uri_of` are seams for tests (a fake /proc whose process
root holds a session daemon's socket, reached with a `test+unix://` URI).

Nothing here imports Textual; screens/on_node.py puts it on screen.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.node.discovery import Launcher, discover

log = logging.getLogger(__name__)

RESCAN_SECONDS = 60.0
HINT_GAP_SECONDS = 10.0
METADATA_NS = "http://kubevirt.io"
ACTIVE_STATES = (1, 2, 3, 4)  # running, blocked, paused, shutting down


@dataclass(frozen=True)
class LocalDomain:
    """A domain on this machine that carries a VMI's uid."""

    vmi_uid: str
    uri: str
    """The libvirt URI it was found through (the node view connects with the same one)."""
    uuid: str
    name: str
    active: bool
    launcher: Launcher

    @property
    def key(self) -> str:
        """Its row key in a `tui.node.model.NodeModel` over `uri`."""
        return f"{self.uri}\n{self.uuid}"


@dataclass
class Scan:
    """What one look over this machine found."""

    domains: dict[str, LocalDomain] = field(default_factory=dict)
    """By VMI uid."""
    launchers: int = 0
    denied: int = 0
    errors: list[str] = field(default_factory=list)
    """One line per launcher that could not be asked."""
    at: float = 0.0


def kubevirt_uid(metadata_xml: str) -> str:
    """The VMI uid in KubeVirt's domain metadata element (`<kubevirt><uid>…</uid>…`), or ""."""
    try:
        root = ET.fromstring(metadata_xml)
    except ET.ParseError:
        return ""
    for child in root:
        if child.tag.rsplit("}", 1)[-1] == "uid":
            return (child.text or "").strip()
    return ""


def _domain_uid(libvirt: Any, dom: Any) -> str:
    try:
        return kubevirt_uid(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS, 0))
    except libvirt.libvirtError:
        return ""  # no KubeVirt metadata: not a VMI's domain


def domains_of(libvirt: Any, uri: str, launcher: Launcher) -> list[LocalDomain]:
    """The KubeVirt domains of one daemon (read-only connection; raises libvirtError)."""
    try:
        connection = libvirt.openReadOnly(uri)
    except libvirt.libvirtError:
        connection = libvirt.open(uri)  # a daemon without a read-only mode (session)
    try:
        found = []
        for dom in connection.listAllDomains(0):
            try:
                uid = _domain_uid(libvirt, dom)
                if not uid:
                    continue
                state = dom.state()[0]
                found.append(
                    LocalDomain(
                        vmi_uid=uid,
                        uri=uri,
                        uuid=dom.UUIDString(),
                        name=dom.name(),
                        active=state in ACTIVE_STATES,
                        launcher=launcher,
                    )
                )
            except libvirt.libvirtError:
                continue  # gone between list and look
        return found
    finally:
        try:
            connection.close()
        except libvirt.libvirtError:
            pass


def scan(
    proc_root: str | os.PathLike[str] = "/proc",
    *,
    uri_of: Callable[[Launcher], str] | None = None,
) -> Scan:
    """Discover the launchers here and map every KubeVirt domain's VMI uid to it."""
    from tui.libvirt_loop import ensure_event_loop, quiet_errors

    libvirt = ensure_event_loop()
    quiet_errors()
    discovery = discover(proc_root)
    result = Scan(launchers=len(discovery.launchers), denied=len(discovery.denied))
    for launcher in discovery.launchers:
        uri = uri_of(launcher) if uri_of is not None else launcher.uri
        try:
            domains = domains_of(libvirt, uri, launcher)
        except libvirt.libvirtError as exc:
            result.errors.append(f"{launcher.label}: {exc.get_error_message() or exc}")
            continue
        for domain in domains:
            known = result.domains.get(domain.vmi_uid)
            # The same uid twice (a leftover shut-off domain next to the running one):
            # the running one is where the VMI is.
            if known is None or (domain.active and not known.active):
                result.domains[domain.vmi_uid] = domain
    result.at = time.time()
    return result


def unavailable_reason(proc_root: str | os.PathLike[str], euid: int | None = None) -> str:
    """Why no scan can find anything here ("" when it can)."""
    # Found, not imported: this runs on the UI thread, the import (~40 ms) on the scan's.
    try:
        missing = importlib.util.find_spec("libvirt") is None
    except ValueError:  # in sys.modules as None: imports of it fail
        missing = True
    if missing:
        return "libvirt-python is not installed (the node extra: pip install 'kvtui[node]')"
    euid = os.geteuid() if euid is None else euid
    if euid != 0 and os.path.realpath(os.fspath(proc_root)) == "/proc":
        return (
            "kvtui is not running as root: the virt-launcher daemons' /proc/<pid>/root "
            "cannot be read"
        )
    return ""


class NodeLinks:
    """VMI uid -> its domain on this machine, kept fresh by a thread while someone listens."""

    def __init__(
        self,
        proc_root: str | os.PathLike[str] = "/proc",
        *,
        uri_of: Callable[[Launcher], str] | None = None,
        node_name: str | None = None,
        rescan_every: float = RESCAN_SECONDS,
        hint_gap: float = HINT_GAP_SECONDS,
        euid: int | None = None,
        first_delay: float = 0.0,
    ) -> None:
        """`first_delay`: seconds before the first scan (kvtui's start-up has the
        interpreter busy with the first lists; a hint or rescan() cuts it short)."""
        from tui.node.cluster import this_node

        self.proc_root = proc_root
        self.uri_of = uri_of
        self.node_name = node_name if node_name is not None else this_node()
        self.rescan_every = rescan_every
        self.hint_gap = hint_gap
        self.first_delay = first_delay
        self.reason = unavailable_reason(proc_root, euid)
        self.last: Scan | None = None
        self.scans = 0
        self._domains: dict[str, LocalDomain] = {}
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._hinted: set[str] = set()  # uids whose hint already asked for a scan
        self._requested = False  # a hint asked for a scan (kept hint_gap after the last)
        self._forced = False  # rescan(): now

    # ---- asking ----------------------------------------------------------------------

    def find(self, vmi_uid: str) -> LocalDomain | None:
        """The domain of VMI `vmi_uid` on this machine, per the last scan."""
        if not vmi_uid:
            return None
        with self._lock:
            return self._domains.get(vmi_uid)

    def hint(self, vmi_uid: str, node: str) -> None:
        """A VMI says it runs on `node`: when that is this host and its uid is unknown, scan soon.

        Once per uid: a VMI that names this node but whose domain is not here (the name is
        wrong, or the launcher is still starting) does not make the scans continuous.
        """
        if self.reason or not vmi_uid or not node or vmi_uid in self._hinted:
            return
        if node.split(".", 1)[0] != self.node_name.split(".", 1)[0]:
            return
        if self.find(vmi_uid) is not None:
            return
        self._hinted.add(vmi_uid)
        self._requested = True  # the thread keeps hint_gap between scans
        self._wake.set()

    @property
    def scanned(self) -> bool:
        return self.last is not None

    # ---- listening -------------------------------------------------------------------

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (from the scan thread) after each scan; returns the unsubscriber.

        The first subscriber starts the scans; they stop when the last one leaves."""
        with self._lock:
            self._listeners.append(callback)
            start = self._thread is None and not self.reason
            if start:
                self._thread = threading.Thread(
                    target=self._run, name="node-links scan", daemon=True
                )
        if start:
            self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)
                last = not self._listeners
            if last:
                self._wake.set()  # the thread sees nobody listens and ends

        return unsubscribe

    def rescan(self) -> None:
        """Scan again now (when the scans run), whatever the gap since the last one."""
        self._forced = True
        self._wake.set()

    def _listening(self) -> bool:
        with self._lock:
            if self._listeners:
                return True
            self._thread = None  # under the lock: a new subscriber starts a new thread
            return False

    def _run(self) -> None:
        if self.first_delay > 0 and self._wake.wait(self.first_delay):
            self._wake.clear()
        while self._listening():
            self._requested = self._forced = False
            try:
                result = scan(self.proc_root, uri_of=self.uri_of)
            except Exception as exc:  # noqa: BLE001 - a scan must never end the thread
                log.warning("scanning for launchers failed: %s", exc)
                result = Scan(errors=[str(exc)], at=time.time())
            with self._lock:
                changed = self._domains != result.domains
                self._domains = result.domains
                self.last = result
                self.scans += 1
                listeners = list(self._listeners)
            if changed:
                self._hinted.clear()  # a new picture: hints may ask again
            if changed or self.scans == 1:
                for callback in listeners:
                    try:
                        callback()
                    except Exception:  # noqa: BLE001 - a listener's trouble is its own
                        log.exception("node-links listener failed")
            self._sleep(result.at)

    def _sleep(self, last: float) -> None:
        """Until the next scan is due: rescan_every, or hint_gap after a hint, or forced."""
        due = last + self.rescan_every
        while True:
            with self._lock:
                if not self._listeners:
                    return
            now = time.time()
            if self._forced or now >= due:
                return
            if self._requested:
                due = min(due, last + self.hint_gap)
                if now >= due:
                    return
            self._wake.wait(due - now)
            self._wake.clear()


__all__ = ["LocalDomain", "NodeLinks", "Scan", "kubevirt_uid", "scan", "unavailable_reason"]
