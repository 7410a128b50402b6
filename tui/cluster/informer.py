"""A list+watch cache of one kind, kept current on its own daemon thread.

The informer lists (paged), then watches from the list's resourceVersion with bookmarks,
and keeps a dict cache of the objects as plain JSON dicts. When a watch stream ends or
drops it watches again from the last resourceVersion it saw (no relist); when the server
says that version is too old (410 Gone, as an HTTP status or as a watch ERROR event) it
relists and reports only the differences. Connection failures put it in DISCONNECTED and
it retries with exponential backoff and jitter until the cluster answers again.

Listeners receive batches: events that arrive within `coalesce` seconds (50 ms) of each
other are delivered in one call, so a burst of 1,000 changes is a few calls, not 1,000;
a complete list is delivered at once (it is one batch already).
Listeners run on the informer's dispatcher thread, never on the UI thread: a Textual
screen posts a message from its listener and returns.

Threads are plain daemon `threading.Thread`s (not Textual workers, which would hold up the
app's exit); `stop()` shuts the watch socket down so it returns at once.
"""

from __future__ import annotations

import enum
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from tui.cluster.connection import DEFAULT_TIMEOUT, open_stream, send
from tui.cluster.errors import ClusterError, from_api_exception, from_status
from tui.cluster.kinds import Kind

__all__ = ["Informer", "InformerEvent", "InformerState", "Listener"]

log = logging.getLogger(__name__)

# A watch that ends this quickly without delivering anything is treated as a failure and
# backed off, so a server that accepts and immediately closes cannot make us spin.
SHORT_WATCH = 1.0
# Extra read time beyond timeoutSeconds before a silent stream counts as dead (half-open TCP).
READ_GRACE = 30.0


class InformerState(enum.Enum):
    """Where the informer is. SYNCED means the cache is complete and being kept current."""

    STARTING = "starting"
    SYNCED = "synced"
    DISCONNECTED = "disconnected"  # no answer from the cluster; retrying with backoff
    ERROR = "error"  # the cluster answered with an error (403, 404 kind not served, …)
    PAUSED = "paused"  # pause(): stream closed, cache kept; resume() catches up
    STOPPED = "stopped"


@dataclass
class InformerEvent:
    """One change. `type` is ADDED/MODIFIED/DELETED (obj set), SYNCED (after each full
    list; obj None) or STATE (state changed; obj None, `error` says why when bad)."""

    type: str
    obj: dict[str, Any] | None
    state: InformerState
    error: ClusterError | None = None


Listener = Callable[[list[InformerEvent]], None]


class _Expired(Exception):
    """The resourceVersion we watch from is gone from the server's history (410)."""


class _WatchFailed(Exception):
    """A watch ERROR event other than 410: relist after a backoff, like client-go."""

    def __init__(self, error: ClusterError) -> None:
        super().__init__(str(error))
        self.error = error


class _Subscriber:
    __slots__ = ("fn", "since", "backlog", "active")

    def __init__(self, fn: Listener, since: int, backlog: list[InformerEvent]) -> None:
        self.fn = fn
        self.since = since  # first event sequence number this listener should get
        self.backlog = backlog  # replay of the cache for listeners added late
        self.active = True


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def _rv(obj: dict[str, Any] | None) -> str | None:
    if not obj:
        return None
    return (obj.get("metadata") or {}).get("resourceVersion") or None


def _abort_stream(response: Any) -> None:
    """Unblock a thread reading `response` (from another thread)."""
    try:
        # urllib3 >= 2.3: shutdown(SHUT_RD) makes the blocked recv return at once.
        response.shutdown()
        return
    except Exception:  # noqa: BLE001 - fall back to the socket itself
        pass
    sock = None
    for holder in (getattr(response, "_connection", None), getattr(response, "connection", None)):
        sock = getattr(holder, "sock", None)
        if sock is not None:
            break
    try:
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        else:
            response.close()
    except Exception:  # noqa: BLE001 - already closed
        pass


def _chunks(response: Any) -> Iterator[bytes]:
    """Bytes as they arrive (not waiting for a full buffer: watch events are small)."""
    if hasattr(response, "read1"):
        while True:
            data = response.read1(65536)
            if not data:
                return
            yield data
    else:  # urllib3 1.x
        yield from response.stream(None, decode_content=True)


class Informer:
    """List+watch cache of one kind, in one namespace or all, with an optional labelSelector.

    `api_client` is a kubernetes ApiClient (a `Connection` is accepted too). Counters
    `list_count` and `watch_count` say how many full lists and watch requests were made.
    """

    def __init__(
        self,
        api_client: Any,
        kind: Kind,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        watch_timeout: int = 300,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        page_size: int = 500,
        coalesce: float = 0.05,
        request_timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.api_client = getattr(api_client, "api_client", api_client)
        self.kind = kind
        self.namespace = namespace if kind.namespaced else None
        self.label_selector = label_selector
        self.watch_timeout = int(watch_timeout)
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.page_size = page_size
        self.coalesce = coalesce
        self.request_timeout = request_timeout

        self.state = InformerState.STARTING
        self.last_error: ClusterError | None = None
        self.resource_version: str | None = None
        self.list_count = 0
        self.watch_count = 0

        self._cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._pending: list[tuple[int, InformerEvent]] = []
        self._seq = 0
        self._subscribers: list[_Subscriber] = []
        self._listed = False

        self._stopping = threading.Event()
        self._paused = threading.Event()
        self._kick = threading.Event()  # interrupts backoff sleeps (stop, pause, resume)
        self._closing = False  # tells the dispatcher to flush and exit
        # A complete list is in: deliver it now, there is nothing to wait for (coalescing
        # is for watch events, which come one by one).
        self._list_done = False
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.namespace or "all namespaces"
        return f"Informer({self.kind.key} in {where}, {self.state.value})"

    # ------------------------------------------------------------------ public API

    @property
    def what(self) -> str:
        """The resource phrase for messages: "virtualmachines in vm-prod"."""
        if not self.kind.namespaced:
            return self.kind.plural
        return f"{self.kind.plural} in {self.namespace or 'all namespaces'}"

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        """Subscribe to batches of events; returns the unsubscribe function.

        A listener added after the first list first gets the current cache as ADDED
        events (and SYNCED if synced), then every change after that, exactly once.
        """
        with self._wake:
            backlog: list[InformerEvent] = []
            if self._listed:
                if self.state is not InformerState.STARTING:
                    backlog.append(InformerEvent("STATE", None, self.state, self.last_error))
                backlog.extend(
                    InformerEvent("ADDED", obj, self.state) for obj in self._cache.values()
                )
                if self.state is InformerState.SYNCED:
                    backlog.append(InformerEvent("SYNCED", None, self.state))
            sub = _Subscriber(fn, self._seq + 1, backlog)
            self._subscribers.append(sub)
            self._wake.notify_all()

        def unsubscribe() -> None:
            with self._wake:
                sub.active = False
                if sub in self._subscribers:
                    self._subscribers.remove(sub)

        return unsubscribe

    def start(self) -> None:
        """Start the list+watch thread and the dispatcher thread (once)."""
        if self._thread is not None:
            return
        name = f"informer-{self.kind.plural}-{self.namespace or 'all'}"
        self._dispatcher = threading.Thread(
            target=self._dispatch_loop, name=name + "-d", daemon=True
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._dispatcher.start()
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop both threads; returns within about `timeout` seconds whatever the network does."""
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._kick.set()
        self._abort_current()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self._set_state(InformerState.STOPPED)
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        if self._dispatcher is not None:
            self._dispatcher.join(max(0.0, deadline - time.monotonic()))

    def pause(self) -> None:
        """Close the watch but keep the cache (e.g. the screen is hidden)."""
        self._paused.set()
        self._kick.set()
        self._abort_current()

    def resume(self) -> None:
        """Watch again from the last resourceVersion (a 410 relists and reports differences)."""
        self._paused.clear()
        self._kick.set()

    def drop_connection(self) -> None:
        """Cut the current watch stream as a network failure would (for tests and "refresh").

        The informer watches again from the last resourceVersion it saw.
        """
        self._abort_current()

    def items(self) -> list[dict[str, Any]]:
        """A snapshot of the cached objects."""
        with self._lock:
            return list(self._cache.values())

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        """One cached object, or None."""
        with self._lock:
            return self._cache.get((namespace or "", name))

    @property
    def synced(self) -> bool:
        return self.state is InformerState.SYNCED

    def wait_synced(self, timeout: float = 10.0) -> bool:
        """Block until the first list is in (tests and the CLI; never on the UI thread)."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while not self._listed or self.state is not InformerState.SYNCED:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping.is_set():
                    return False
                self._wake.wait(min(left, 0.1))
        return True

    # ------------------------------------------------------------------ events

    def _emit(
        self, etype: str, obj: dict[str, Any] | None, error: ClusterError | None = None
    ) -> None:
        # Caller holds the lock: cache update and enqueue are one step, so a late
        # listener's replay and its first live event never overlap.
        self._seq += 1
        self._pending.append((self._seq, InformerEvent(etype, obj, self.state, error)))
        self._wake.notify_all()

    def _set_state(self, state: InformerState, error: ClusterError | None = None) -> None:
        with self._wake:
            if self.state is InformerState.STOPPED:
                return
            if error is not None:
                self.last_error = error
            if state is self.state and error is None:
                return
            self.state = state
            self._emit("STATE", None, error)

    def _dispatch_loop(self) -> None:
        while True:
            with self._wake:
                while (
                    not self._pending
                    and not any(s.backlog for s in self._subscribers)
                    and not self._closing
                ):
                    self._wake.wait()
                closing = self._closing
                list_done, self._list_done = self._list_done, False
            if not closing and not list_done:
                # Let a burst accumulate into one batch.
                time.sleep(self.coalesce)
            with self._wake:
                batch, self._pending = self._pending, []
                deliveries = []
                for sub in self._subscribers:
                    events = sub.backlog + [e for seq, e in batch if seq >= sub.since]
                    sub.backlog = []
                    if events:
                        deliveries.append((sub, events))
            for sub, events in deliveries:
                if not sub.active:
                    continue
                try:
                    sub.fn(events)
                except Exception:  # noqa: BLE001 - one bad listener must not stop the rest
                    log.exception("informer listener failed for %s", self.what)
            if closing:
                with self._wake:
                    if not self._pending:
                        return

    # ------------------------------------------------------------------ list + watch

    def _run(self) -> None:
        backoff = self.backoff_initial
        need_list = True
        expired_in_a_row = 0
        while not self._stopping.is_set():
            if self._paused.is_set():
                self._set_state(InformerState.PAUSED)
                self._sleep(1.0)
                continue
            try:
                if need_list:
                    self._list()
                    need_list = False
                    backoff = self.backoff_initial
                started = time.monotonic()
                delivered = self._watch()
                expired_in_a_row = 0
                if delivered or time.monotonic() - started >= SHORT_WATCH:
                    backoff = self.backoff_initial
                elif not self._interrupted():
                    # Accepted and closed at once with nothing in it: don't spin.
                    self._sleep(self._jitter(backoff))
                    backoff = min(backoff * 2, self.backoff_max)
            except _Expired:
                need_list = True
                expired_in_a_row += 1
                if expired_in_a_row > 1:
                    # A fresh list's version expiring again: the server is not coping.
                    self._sleep(self._jitter(backoff))
                    backoff = min(backoff * 2, self.backoff_max)
            except _WatchFailed as failed:
                need_list = True
                backoff = self._fail(failed.error, backoff)
            except ClusterError as error:
                backoff = self._fail(error, backoff)
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                log.exception("informer for %s crashed; retrying", self.what)
                backoff = self._fail(ClusterError("Error", str(exc)), backoff)

    def _fail(self, error: ClusterError, backoff: float) -> float:
        if self._interrupted():
            return backoff
        self._set_state(
            InformerState.DISCONNECTED if error.transport else InformerState.ERROR, error
        )
        delay = error.retry_after if error.retry_after else self._jitter(backoff)
        self._sleep(delay)
        return min(backoff * 2, self.backoff_max)

    def _jitter(self, delay: float) -> float:
        # ±20% so a fleet of informers reconnecting to a restarted server spreads out.
        return min(delay, self.backoff_max) * random.uniform(0.8, 1.2)

    def _interrupted(self) -> bool:
        return self._stopping.is_set() or self._paused.is_set()

    def _sleep(self, seconds: float) -> None:
        self._kick.wait(seconds)
        self._kick.clear()

    def _abort_current(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            _abort_stream(stream)

    def _query(self, **extra: Any) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        query.update({k: v for k, v in extra.items() if v is not None})
        return query

    def _list(self) -> None:
        path = self.kind.path(self.namespace)
        objects: dict[tuple[str, str], dict[str, Any]] = {}
        token: str | None = None
        list_rv: str | None = None
        restarted = False
        while True:
            query = self._query(limit=self.page_size or None, **{"continue": token})
            try:
                answer = send(
                    self.api_client, "GET", path, query=query, timeout=self.request_timeout
                ).json()
            except ApiException as exc:
                if exc.status == 410 and token and not restarted:
                    # The continue token expired mid-way: start over (client-go does too).
                    objects, token, list_rv, restarted = {}, None, None, True
                    continue
                raise from_api_exception(exc, "list", self.what, kind=self.kind.kind) from exc
            except ValueError as exc:
                raise ClusterError("Bad answer", f"list {path}: {exc}") from exc
            answer = answer or {}
            meta = answer.get("metadata") or {}
            if list_rv is None:
                list_rv = meta.get("resourceVersion") or None
            for item in answer.get("items") or []:
                # List items of built-in kinds come without apiVersion/kind; watch events
                # carry them. Fill them in so every cached object looks the same.
                item.setdefault("apiVersion", self.kind.api_version)
                item.setdefault("kind", self.kind.kind)
                objects[_key(item)] = item
            token = meta.get("continue") or None
            if not token:
                break
            if self._stopping.is_set():
                return

        with self._wake:
            self.list_count += 1
            old = self._cache
            for key, obj in objects.items():
                before = old.get(key)
                if before is None:
                    self._emit("ADDED", obj)
                elif _rv(before) != _rv(obj) or before != obj:
                    self._emit("MODIFIED", obj)
            for key, obj in old.items():
                if key not in objects:
                    self._emit("DELETED", obj)
            self._cache = objects
            self.resource_version = list_rv
            self._listed = True
            self.last_error = None
            if self.state is InformerState.STOPPED:
                return
            if self.state is not InformerState.SYNCED:
                self.state = InformerState.SYNCED
                self._emit("STATE", None)
            self._emit("SYNCED", None)
            self._list_done = True

    def _watch(self) -> bool:
        """One watch request; returns whether any event arrived. Raises _Expired (410),
        _WatchFailed (other ERROR events), ClusterError (could not open the stream)."""
        path = self.kind.path(self.namespace)
        query = self._query(
            watch="true",
            resourceVersion=self.resource_version,
            allowWatchBookmarks="true",
            timeoutSeconds=self.watch_timeout,
        )
        timeout = (self.request_timeout[0], self.watch_timeout + READ_GRACE)
        try:
            response = open_stream(self.api_client, path, query=query, timeout=timeout)
        except ApiException as exc:
            if exc.status == 410:
                raise _Expired() from exc
            raise from_api_exception(exc, "watch", self.what, kind=self.kind.kind) from exc
        self.watch_count += 1
        with self._lock:
            if self._interrupted():
                response.close()
                return False
            self._stream = response
        # The stream is open: whatever happened before, we are current again (the watch
        # replays everything since our resourceVersion).
        if self._listed:
            self._set_state(InformerState.SYNCED)
            with self._lock:
                self.last_error = None
        delivered = False
        try:
            buffer = b""
            for chunk in _chunks(response):
                if b"\n" not in chunk:
                    buffer += chunk
                    continue
                # Split a chunk once (a burst brings dozens of events in one read), not
                # once per event: that copied the rest of the chunk for every line.
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    if line.strip():
                        delivered = self._handle(line) or delivered
            if buffer.strip():
                delivered = self._handle(buffer) or delivered
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            # A dropped stream (reset, cut, read timeout on a half-open connection): watch
            # again from where we are; only a failure to reconnect counts as disconnected.
            if not self._interrupted():
                log.debug("watch of %s dropped: %s", self.what, exc)
        finally:
            with self._lock:
                self._stream = None
            try:
                response.close()
                response.release_conn()
            except Exception:  # noqa: BLE001
                pass
        return delivered

    def _handle(self, line: bytes) -> bool:
        """Apply one watch event line; returns whether it was a change event."""
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"bad watch event: {line[:200]!r}") from exc
        etype = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            return False
        if etype == "BOOKMARK":
            rv = _rv(obj)
            if rv:
                with self._lock:
                    self.resource_version = rv
            return False
        if etype == "ERROR":
            code = obj.get("code")
            if code == 410 or obj.get("reason") in ("Expired", "Gone"):
                raise _Expired()
            raise _WatchFailed(from_status(obj, code, "watch", self.what, kind=self.kind.kind))
        if etype not in ("ADDED", "MODIFIED", "DELETED"):
            return False
        key = _key(obj)
        rv = _rv(obj)
        with self._wake:
            if rv:
                self.resource_version = rv
            before = self._cache.get(key)
            if etype == "DELETED":
                if before is None:
                    return True  # never seen: nothing to tell listeners
                del self._cache[key]
                self._emit("DELETED", obj)
                return True
            if before is not None and rv and _rv(before) == rv:
                return True  # replayed after a resume: already applied
            self._cache[key] = obj
            # Normalise so listeners can trust the type: ADDED means new to them.
            self._emit("ADDED" if before is None else "MODIFIED", obj)
        return True
