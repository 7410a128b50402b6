"""Live domains across libvirt connections: one `Source` per URI, a `NodeModel` over them.

Threads. Each Source owns one thread: it connects (retrying with backoff), lists domains,
and refreshes their statistics every `interval` seconds with `getAllDomainStats`, one call
for all domains. libvirt's event loop (`tui.libvirt_loop`, one thread for the process)
delivers lifecycle events and the connection's close callback; those only record what
happened and wake the source's thread, which asks libvirt again. Nothing here blocks the UI:
the UI reads `rows()` snapshots when the model's `listener` says something changed.

A daemon that goes away (its launcher pod deleted, libvirtd killed) closes the connection:
the source turns LOST, its rows are kept but marked `stale` (the UI greys them), and it
keeps trying to reconnect. Discovered launchers are looked for again every
`rediscover_every` seconds, so new VMs on the node appear without a restart.

The test driver answers `getAllDomainStats` with the state only; for domains whose stats
lack `cpu.time` the source falls back to `info()`, `blockStats` and `interfaceStats`.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tui.libvirt_loop import ensure_event_loop, libvirt_module, quiet_errors
from tui.node.discovery import Discovery, Launcher, discover, qemu_start_times
from tui.node.domains import (
    EVENTS,
    DomainFacts,
    Rates,
    cpu_percent,
    domain_facts,
    split_name,
    state_words,
)

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 2.0
MIN_INTERVAL = 0.5
MAX_INTERVAL = 60.0
RETRY_BACKOFF = (1.0, 10.0)  # first retry after 1 s, doubling up to 10 s
RELIST_EVERY = 15  # refreshes between full relists (events make most of them unneeded)


class SourceState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    STOPPED = "stopped"


@dataclass(frozen=True)
class DomainRow:
    """One domain as the list shows it (a snapshot: safe to read on any thread)."""

    key: str
    source: str
    uri: str
    uuid: str
    name: str
    namespace: str
    vm: str
    state: int
    reason: int
    vcpus: int = 0
    memory_kib: int = 0
    max_memory_kib: int = 0
    cpu: float | None = None
    block_read: float | None = None
    block_write: float | None = None
    net_rx: float | None = None
    net_tx: float | None = None
    cpu_history: tuple[float, ...] = ()
    block_history: tuple[float, ...] = ()
    net_history: tuple[float, ...] = ()
    vmi_uid: str = ""
    launcher_pid: int | None = None
    running_since: float | None = None
    """Wall-clock time the domain was seen starting (exact) or first seen running."""
    since_exact: bool = False
    stale: bool = False
    facts: DomainFacts = field(default_factory=DomainFacts)

    @property
    def state_text(self) -> str:
        return state_words(self.state, self.reason)

    @property
    def kubevirt(self) -> bool:
        return bool(self.namespace) or self.facts.kubevirt

    @property
    def block_rate(self) -> float | None:
        if self.block_read is None and self.block_write is None:
            return None
        return (self.block_read or 0.0) + (self.block_write or 0.0)

    @property
    def net_rate(self) -> float | None:
        if self.net_rx is None and self.net_tx is None:
            return None
        return (self.net_rx or 0.0) + (self.net_tx or 0.0)


@dataclass(frozen=True)
class NodeEvent:
    """A lifecycle event, or a source connecting/vanishing, for the status line."""

    at: float
    source: str
    text: str
    seq: int = 0  # numbered by the model, in arrival order


@dataclass
class _Domain:
    uuid: str
    name: str
    facts: DomainFacts
    state: int = 0
    reason: int = 0
    vcpus: int = 0
    memory_kib: int = 0
    max_memory_kib: int = 0
    rates: Rates = field(default_factory=Rates)
    running_since: float | None = None
    since_exact: bool = False


def _stat_sum(stats: dict[str, Any], prefix: str, fields: tuple[str, ...]) -> float | None:
    count = stats.get(f"{prefix}.count")
    if count is None:
        return None
    total = 0.0
    for index in range(int(count)):
        for name in fields:
            value = stats.get(f"{prefix}.{index}.{name}")
            if isinstance(value, int | float):
                total += value
    return total


class Source:
    """One libvirt connection and its domains, kept fresh by its own thread."""

    def __init__(
        self,
        uri: str,
        *,
        launcher: Launcher | None = None,
        interval: Callable[[], float] = lambda: DEFAULT_INTERVAL,
        on_change: Callable[[], None] = lambda: None,
        on_event: Callable[[NodeEvent], None] = lambda _event: None,
        read_only: bool = False,
        proc_root: str | os.PathLike[str] | None = None,
    ) -> None:
        """`proc_root`: where to find this source's QEMU processes for uptimes (None: nowhere)."""
        self.uri = uri
        self.want_read_only = read_only
        self.proc_root = proc_root
        self.launcher = launcher
        self.label = launcher.label if launcher is not None else uri
        self.state = SourceState.CONNECTING
        self.error = ""
        self.read_only = False
        self.lost_at: float | None = None
        self.gone = False  # a discovered launcher no longer found on the node
        self.connection: Any = None
        self.refresh_seconds: float | None = None  # last stats refresh duration
        self._interval = interval
        self._on_change = on_change
        self._on_event = on_event
        self._domains: dict[str, _Domain] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._relist = True
        self._stale_xml: set[str] = set()  # UUIDs whose XML changed (an event said so)
        self._generation = 0  # bumped per connection, so late callbacks of an old one are ignored
        self._thread: threading.Thread | None = None
        self._callback_ids: list[int] = []

    @property
    def key(self) -> str:
        return self.uri

    @property
    def launcher_pid(self) -> int | None:
        return self.launcher.pid if self.launcher is not None else None

    # ---- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"libvirt-source {self.label}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.signal_stop()
        self.join(timeout)

    def signal_stop(self) -> None:
        """Ask the thread to end (returns at once; see `join`)."""
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float = 5.0) -> None:
        """Wait for the thread (a call stuck on a dead remote may outlast `timeout`), close."""
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._disconnect()
        self.state = SourceState.STOPPED

    def wake(self, relist: bool = False) -> None:
        """Refresh now (and list the domains again)."""
        if relist:
            self._relist = True
        self._wake.set()

    # ---- snapshots ------------------------------------------------------------------------

    def rows(self) -> list[DomainRow]:
        stale = self.state is not SourceState.CONNECTED
        with self._lock:
            return [self._row(domain, stale) for domain in self._domains.values()]

    def _row(self, d: _Domain, stale: bool) -> DomainRow:
        namespace, vm = split_name(d.name)
        rates = d.rates
        return DomainRow(
            key=f"{self.key}\n{d.uuid}",
            source=self.label,
            uri=self.uri,
            uuid=d.uuid,
            name=d.name,
            namespace=namespace,
            vm=vm,
            state=d.state,
            reason=d.reason,
            vcpus=d.vcpus,
            memory_kib=d.memory_kib,
            max_memory_kib=d.max_memory_kib,
            cpu=None if stale else cpu_percent(rates.rate("cpu"), d.vcpus),
            block_read=None if stale else rates.rate("rd"),
            block_write=None if stale else rates.rate("wr"),
            net_rx=None if stale else rates.rate("rx"),
            net_tx=None if stale else rates.rate("tx"),
            cpu_history=tuple(cpu_percent(v, d.vcpus) or 0.0 for v in rates.series("cpu")),
            block_history=_sum_series(rates.series("rd"), rates.series("wr")),
            net_history=_sum_series(rates.series("rx"), rates.series("tx")),
            vmi_uid=d.facts.uid,
            launcher_pid=self.launcher_pid,
            running_since=d.running_since,
            since_exact=d.since_exact,
            stale=stale,
            facts=d.facts,
        )

    def domain(self, uuid: str) -> Any:
        """The live virDomain for `uuid` (raises libvirtError / RuntimeError when unreachable)."""
        connection = self.connection
        if connection is None or self.state is not SourceState.CONNECTED:
            raise RuntimeError(f"not connected to {self.label}: {self.error or 'connecting'}")
        return connection.lookupByUUIDString(uuid)

    # ---- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = RETRY_BACKOFF[0]
        libvirt = libvirt_module()
        refreshes = 0
        while not self._stop.is_set():
            if self.connection is None:
                try:
                    self._connect(libvirt)
                    backoff = RETRY_BACKOFF[0]
                except Exception as exc:  # noqa: BLE001 - any failure: say it, retry
                    self._lost(_message(exc), retry_in=backoff)
                    self._wake.wait(backoff)
                    self._wake.clear()
                    backoff = min(backoff * 2, RETRY_BACKOFF[1])
                    continue
            try:
                if self._relist or refreshes % RELIST_EVERY == 0:
                    self._list(libvirt)
                started = time.monotonic()
                self._refresh(libvirt)
                self.refresh_seconds = time.monotonic() - started
                refreshes += 1
            except Exception as exc:  # noqa: BLE001 - a dead daemon, or a domain that vanished
                if self._alive():
                    log.info("refresh of %s failed: %s", self.uri, exc)
                    self._relist = True
                else:
                    self._disconnect()
                    self._lost(_message(exc), retry_in=backoff)
                    continue
            self._on_change()
            self._wake.wait(max(MIN_INTERVAL, self._interval()))
            self._wake.clear()

    def _alive(self) -> bool:
        connection = self.connection
        if connection is None:
            return False
        try:
            return connection.isAlive() == 1
        except Exception:  # noqa: BLE001
            return False

    def _connect(self, libvirt: Any) -> None:
        self.state = SourceState.CONNECTING
        self._on_change()
        try:
            if self.want_read_only:
                connection = libvirt.openReadOnly(self.uri)
            else:
                connection = libvirt.open(self.uri)
            self.read_only = self.want_read_only
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in (
                libvirt.VIR_ERR_AUTH_FAILED,
                libvirt.VIR_ERR_OPERATION_DENIED,
                libvirt.VIR_ERR_ACCESS_DENIED,
            ):
                raise
            connection = libvirt.openReadOnly(self.uri)
            self.read_only = True
        self._generation += 1
        generation = self._generation
        try:
            connection.setKeepAlive(5, 3)
        except libvirt.libvirtError:
            pass  # local drivers have no keepalive
        try:
            connection.registerCloseCallback(self._closed, generation)
        except libvirt.libvirtError:
            pass
        self._callback_ids = []
        try:
            self._callback_ids.append(
                connection.domainEventRegisterAny(
                    None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, generation
                )
            )
        except libvirt.libvirtError as exc:
            log.info("no lifecycle events from %s: %s", self.uri, exc)
        self.connection = connection
        self.state = SourceState.CONNECTED
        was_lost = self.lost_at is not None
        self.error = ""
        self.lost_at = None
        self._relist = True
        with self._lock:
            self._stale_xml.update(self._domains)  # a new daemon may have redefined them
        if was_lost:
            self._event("connected again")

    def _disconnect(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        self._generation += 1
        for callback_id in self._callback_ids:
            try:
                connection.domainEventDeregisterAny(callback_id)
            except Exception:  # noqa: BLE001
                pass
        self._callback_ids = []
        try:
            connection.unregisterCloseCallback()
        except Exception:  # noqa: BLE001
            pass
        try:
            connection.close()
        except Exception:  # noqa: BLE001
            pass

    def _lost(self, message: str, retry_in: float) -> None:
        first = self.state is not SourceState.LOST or self.lost_at is None
        self.state = SourceState.LOST
        self.error = message
        if first:
            self.lost_at = time.time()
            if self._domains:
                self._event(f"connection lost: {message}")
        self._on_change()

    def _closed(self, _connection: Any, reason: int, generation: Any) -> None:
        """libvirt's close callback (event-loop thread): the daemon went away."""
        if generation != self._generation or self._stop.is_set():
            return
        reasons = {0: "error", 1: "end of file", 2: "keepalive timeout", 3: "client closed"}
        self.state = SourceState.LOST
        self.error = f"connection closed ({reasons.get(reason, reason)})"
        if self.lost_at is None:
            self.lost_at = time.time()
            self._event(f"daemon went away: {self.error}")
        self._on_change()
        # The source's thread notices the dead connection on its next call and reconnects.
        self.wake()

    def _lifecycle(
        self, _connection: Any, domain: Any, event: int, detail: int, generation: Any
    ) -> None:
        """A domain started, stopped, paused... (event-loop thread): note it, refresh soon."""
        if generation != self._generation:
            return
        try:
            name = domain.name()
            uuid = domain.UUIDString()
        except Exception:  # noqa: BLE001
            name, uuid = "?", ""
        with self._lock:
            known = self._domains.get(uuid)
            if known is not None and event == 2:  # started: now we know when
                known.running_since = time.time()
                known.since_exact = True
        self._event(f"{name} {EVENTS.get(event, f'event {event}')}")
        if uuid:
            self._stale_xml.add(uuid)  # started/defined domains get new pty paths, aliases
        self.wake(relist=True)

    def _event(self, text: str) -> None:
        self._on_event(NodeEvent(time.time(), self.label, text))

    # ---- libvirt calls (the source's thread) -------------------------------------------------

    def _list(self, libvirt: Any) -> None:
        connection = self.connection
        domains = connection.listAllDomains(0)
        current: dict[str, Any] = {}
        for dom in domains:
            try:
                current[dom.UUIDString()] = dom
            except libvirt.libvirtError:
                continue
        with self._lock:
            known = dict(self._domains)
        stale_xml, self._stale_xml = self._stale_xml, set()
        fresh: dict[str, _Domain] = {}
        for uuid, dom in current.items():
            old = known.get(uuid)
            try:
                name = dom.name()
                state, reason = dom.state()
                # The XML changes as a domain starts (pty paths, aliases): read it again
                # for the domains an event named, not for every domain on each event.
                xml_needed = old is None or uuid in stale_xml
                facts = domain_facts(dom.XMLDesc(0)) if xml_needed else old.facts
            except libvirt.libvirtError:
                continue  # gone between list and look
            entry = old or _Domain(uuid=uuid, name=name, facts=facts)
            entry.name = name
            entry.facts = facts
            self._set_state(entry, state, reason)
            if not entry.vcpus:
                entry.vcpus = facts.vcpus
                entry.max_memory_kib = facts.memory_kib
                entry.memory_kib = facts.current_memory_kib or facts.memory_kib
            fresh[uuid] = entry
        self._exact_uptimes(fresh)
        with self._lock:
            self._domains = fresh
        self._relist = False

    def _exact_uptimes(self, domains: dict[str, _Domain]) -> None:
        """Start times from the QEMU processes, when they run where we can see them."""
        if self.proc_root is None:
            return
        waiting = [d for d in domains.values() if d.state in (1, 2, 3, 4) and not d.since_exact]
        if not waiting:
            return
        mount_ns = self.launcher.mount_ns if self.launcher is not None else ""
        try:
            started = qemu_start_times(self.proc_root, mount_ns)
        except OSError:
            return
        for domain in waiting:
            if domain.name in started:
                domain.running_since = started[domain.name]
                domain.since_exact = True

    @staticmethod
    def _set_state(entry: _Domain, state: int, reason: int) -> None:
        running = state in (1, 2, 3, 4)
        if running and entry.running_since is None:
            entry.running_since = time.time()
        elif not running:
            entry.running_since = None
            entry.since_exact = False
        entry.state, entry.reason = state, reason

    def _refresh(self, libvirt: Any) -> None:
        connection = self.connection
        wanted = (
            libvirt.VIR_DOMAIN_STATS_STATE
            | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
            | libvirt.VIR_DOMAIN_STATS_BALLOON
            | libvirt.VIR_DOMAIN_STATS_VCPU
            | libvirt.VIR_DOMAIN_STATS_INTERFACE
            | libvirt.VIR_DOMAIN_STATS_BLOCK
        )
        records = connection.getAllDomainStats(wanted, 0)
        now = time.monotonic()
        seen: set[str] = set()
        with self._lock:
            domains = self._domains
        for dom, stats in records:
            try:
                uuid = dom.UUIDString()
            except libvirt.libvirtError:
                continue
            entry = domains.get(uuid)
            if entry is None:
                self._relist = True  # a domain we have not listed yet
                continue
            seen.add(uuid)
            state = stats.get("state.state", entry.state)
            reason = stats.get("state.reason", entry.reason)
            active = state in (1, 2, 3, 4)
            if active and "cpu.time" not in stats:
                stats = self._fallback(dom, entry, stats)
            with self._lock:
                self._set_state(entry, state, reason)
                if "vcpu.current" in stats:
                    entry.vcpus = int(stats["vcpu.current"])
                if "balloon.current" in stats:
                    entry.memory_kib = int(stats["balloon.current"])
                if "balloon.maximum" in stats:
                    entry.max_memory_kib = int(stats["balloon.maximum"])
                if active:
                    entry.rates.sample(
                        now,
                        {
                            "cpu": stats.get("cpu.time"),
                            "rd": _stat_sum(stats, "block", ("rd.bytes",)),
                            "wr": _stat_sum(stats, "block", ("wr.bytes",)),
                            "rx": _stat_sum(stats, "net", ("rx.bytes",)),
                            "tx": _stat_sum(stats, "net", ("tx.bytes",)),
                        },
                    )
                else:
                    entry.rates = Rates()
        if set(domains) - seen:
            self._relist = True  # one went away without an event reaching us

    def _fallback(self, dom: Any, entry: _Domain, stats: dict[str, Any]) -> dict[str, Any]:
        """Counters from per-domain calls, for drivers whose bulk stats hold only the state."""
        libvirt = libvirt_module()
        out = dict(stats)
        try:
            _state, max_kib, cur_kib, vcpus, cpu_time = dom.info()
            out.setdefault("cpu.time", cpu_time)
            out.setdefault("vcpu.current", vcpus)
            out.setdefault("balloon.current", cur_kib)
            out.setdefault("balloon.maximum", max_kib)
        except libvirt.libvirtError:
            return out
        disks = [d.target for d in entry.facts.disks if d.target]
        out["block.count"] = len(disks)
        for index, target in enumerate(disks):
            try:
                _rd_req, rd_bytes, _wr_req, wr_bytes, _errs = dom.blockStats(target)
            except libvirt.libvirtError:
                continue
            out[f"block.{index}.rd.bytes"] = rd_bytes
            out[f"block.{index}.wr.bytes"] = wr_bytes
        nics = [n.target for n in entry.facts.nics if n.target]
        out["net.count"] = len(nics)
        for index, target in enumerate(nics):
            try:
                values = dom.interfaceStats(target)
            except libvirt.libvirtError:
                continue
            out[f"net.{index}.rx.bytes"] = values[0]
            out[f"net.{index}.tx.bytes"] = values[4]
        return out


def _sum_series(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    if not a and not b:
        return ()
    n = max(len(a), len(b))
    a = (0.0,) * (n - len(a)) + a
    b = (0.0,) * (n - len(b)) + b
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _local(uri: str, launcher: Launcher | None) -> bool:
    """Whether the domains' QEMU processes run on this machine, where /proc shows them."""
    if launcher is not None:
        return True
    return uri.startswith(("qemu:///", "qemu+unix:///"))


def _message(exc: BaseException) -> str:
    get = getattr(exc, "get_error_message", None)
    text = get() if callable(get) else ""
    return " ".join(str(text or exc or type(exc).__name__).split())


class NodeModel:
    """Every source kvtui node watches: `--uri`s plus discovered launchers."""

    def __init__(
        self,
        uris: list[str] | tuple[str, ...] = (),
        *,
        discover_launchers: bool = False,
        proc_root: str | os.PathLike[str] = "/proc",
        interval: float = DEFAULT_INTERVAL,
        rediscover_every: float = 5.0,
        listener: Callable[[], None] = lambda: None,
        read_only: bool = False,
    ) -> None:
        self.uris = list(dict.fromkeys(uris))
        self.read_only = read_only
        self.discover_launchers = discover_launchers
        self.proc_root = proc_root
        self.interval = interval
        self.rediscover_every = rediscover_every
        self.listener = listener
        self.sources: dict[str, Source] = {}
        self.discovery: Discovery | None = None
        self.events: deque[NodeEvent] = deque(maxlen=200)
        self._seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._discover_thread: threading.Thread | None = None

    def set_interval(self, seconds: float) -> float:
        """Change the stats refresh interval (clamped); returns the value in force."""
        self.interval = min(MAX_INTERVAL, max(MIN_INTERVAL, seconds))
        for source in self.sources_list():
            source.wake()
        return self.interval

    def sources_list(self) -> list[Source]:
        with self._lock:
            return list(self.sources.values())

    def start(self) -> None:
        """Register libvirt's event loop, then connect every source (in their threads)."""
        ensure_event_loop()
        quiet_errors()
        for uri in self.uris:
            self._add(uri, None)
        if self.discover_launchers:
            # The first scan runs on the discovery thread too: /proc can be large.
            self._discover_thread = threading.Thread(
                target=self._discover_loop, name="libvirt-discovery", daemon=True
            )
            self._discover_thread.start()

    def signal_stop(self) -> None:
        """Ask every thread to end, without waiting (the app is quitting)."""
        self._stop.set()
        for source in self.sources_list():
            source.signal_stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every source together: one shared deadline, not one per source."""
        self._stop.set()
        sources = self.sources_list()
        for source in sources:
            source.signal_stop()
        deadline = time.monotonic() + timeout
        for source in sources:
            source.join(max(0.0, deadline - time.monotonic()))

    def _add(self, uri: str, launcher: Launcher | None) -> Source:
        with self._lock:
            source = self.sources.get(uri)
            if source is not None:
                return source
            source = Source(
                uri,
                launcher=launcher,
                interval=lambda: self.interval,
                on_change=self.listener,
                on_event=self._note_event,
                read_only=self.read_only,
                proc_root=self.proc_root if _local(uri, launcher) else None,
            )
            self.sources[uri] = source
        source.start()
        return source

    def _note_event(self, event: NodeEvent) -> None:
        with self._lock:
            self._seq += 1
            self.events.append(replace(event, seq=self._seq))
        self.listener()

    def recent_events(self) -> list[NodeEvent]:
        """The last events, oldest first (a copy: the deque grows on other threads)."""
        with self._lock:
            return list(self.events)

    def rediscover(self) -> Discovery:
        """Scan /proc again: new launchers get a source, vanished ones are marked gone."""
        found = discover(self.proc_root)
        uris = set()
        local_uri = any(_local(uri, None) for uri in self.uris)
        for launcher in found.launchers:
            if launcher.host and local_uri:
                continue  # the host's own libvirt, already named with --uri qemu:///...
            uris.add(launcher.uri)
            self._add(launcher.uri, launcher)
        for source in self.sources_list():
            if source.launcher is None:
                continue
            gone = source.uri not in uris
            if gone != source.gone:
                source.gone = gone
                if gone:
                    self._note_event(NodeEvent(time.time(), source.label, "launcher gone"))
        self.discovery = found  # last: whoever sees it sees the sources it led to
        self.listener()
        return found

    def _discover_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.rediscover()
            except Exception:  # noqa: BLE001 - a scan must never end the loop
                log.exception("discovery failed")
            self._stop.wait(self.rediscover_every)

    def forget_gone(self) -> int:
        """Drop sources that are lost and whose launcher is gone; how many were dropped."""
        dropped = []
        with self._lock:
            for uri, source in list(self.sources.items()):
                if source.gone and source.state is not SourceState.CONNECTED:
                    dropped.append(self.sources.pop(uri))
        for source in dropped:
            source.stop()
        if dropped:
            self.listener()
        return len(dropped)

    def rows(self) -> list[DomainRow]:
        rows: list[DomainRow] = []
        for source in self.sources_list():
            source_rows = source.rows()
            if source.gone:
                source_rows = [replace(row, stale=True) for row in source_rows]
            rows.extend(source_rows)
        return rows

    def source(self, key: str) -> Source | None:
        with self._lock:
            return self.sources.get(key)

    def lost_sources(self) -> list[Source]:
        return [s for s in self.sources_list() if s.state is SourceState.LOST]
