"""The KubeVirt serial console: a websocket to the VMI's `console` subresource.

Wire protocol (kubevirt-api.md §5): a GET upgrade to
`/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/console`
with subprotocol `plain.kubevirt.io`, the normal API credentials, and binary frames of raw
serial bytes both ways. There is no resize message and no server ping.

What this transport adds on top, and why:

- **Waiting for the VM.** virt-api answers 400 "VMI is not running" until the VMI is
  Running; virtctl retries every second for up to 5 minutes, and so do we, with the time
  left in the state's reason so the screen shows a countdown. 404, 409, 401 and 403 are
  final and get plain words.
- **Keepalive.** The console has no server pings, and idle load balancers cut idle sockets;
  we ping every `heartbeat` seconds (a missed pong is a network failure).
- **Why it dropped.** KubeVirt allows one console session per VMI: a new viewer makes
  virt-handler close the old stream, and the old client's socket ends without a close frame.
  A VM that stops ends it the same way. So on a drop we ask the API about the VMI: gone,
  not Running or a new uid means "VM stopped"; still Running means "taken over by another
  viewer"; a socket error (reset, missed pong) is "network: ...".
- **Reconnecting.** After a network failure or a close frame, with backoff; after "VM
  stopped", by waiting for the VM to run again (a restart makes a new VMI); **never after a
  takeover** — two viewers reconnecting automatically would cut each other off forever. The
  user's `reconnect()` always tries at once.
- **Recording.** `log=PATH` appends the guest's output bytes to a file as they arrive
  (`cat` replays it). Only output: typed passwords are not echoed by the guest, so they
  stay out of the file.

Everything runs on one asyncio loop on a daemon thread; the callbacks come from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from tui.console.base import ConsoleState
from tui.console.threaded import AsyncioConsole

if TYPE_CHECKING:
    from tui.cluster.connection import Connection

__all__ = ["CONSOLE_PATH", "SUBPROTOCOL", "KubevirtConsole"]

log = logging.getLogger(__name__)

SUBPROTOCOL = "plain.kubevirt.io"
CONSOLE_PATH = (
    "/apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/console"
)
VMI_PATH = "/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}"
VM_PATH = "/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}"

TAKEN_OVER = "taken over by another viewer"
VM_STOPPED = "VM stopped"

# VM printableStatus values on the way to Running: a console opened right after a start
# finds no VMI yet (404) and should wait rather than give up.
_STARTING = {"Starting", "Provisioning", "WaitingForVolumeBinding", "Running", "Migrating"}
# 5xx answers are often a virt-handler or apiserver hiccup: worth retrying.
_TRANSIENT = {500, 502, 503, 504}


class Refused(Exception):
    """The server answered the console request with an HTTP status instead of 101."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class _Final(Exception):
    """Give up until the user asks again (the reason is the text to show)."""


def _status_message(body: bytes, fallback: str) -> str:
    """The `message` of a Kubernetes Status body, else the body's first line, else `fallback`."""
    text = body.decode("utf-8", "replace").strip()
    try:
        doc = json.loads(text) if text else None
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("message"):
        text = str(doc["message"])
    text = " ".join(text.split())[:300]
    return text or fallback


def _describe(exc: BaseException) -> str:
    """A short human description of a transport error."""
    if isinstance(exc, aiohttp.ServerTimeoutError):  # also a TimeoutError: ask first
        return str(exc) or "timed out"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error.strerror or str(exc.os_error)
        return f"cannot connect to {exc.host}:{exc.port}: {cause}"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _clock(at: datetime | None = None) -> str:
    return (at or datetime.now()).strftime("%H:%M:%S")


def _countdown(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.999))
    return f"{seconds // 60}:{seconds % 60:02d}"


class KubevirtConsole(AsyncioConsole):
    """The serial console of one VMI over the KubeVirt websocket (see the module docstring).

    `wait_timeout`: how long to wait for the VM to be Running (virtctl's default, 5 min).
    `retry_interval`: seconds between attempts while waiting (virtctl: 1 s).
    `heartbeat`: websocket ping interval, seconds (None: no pings).
    `backoff`: (first, maximum) delay in seconds between reconnects after network failures.
    `log`: a file to append the guest's output to.
    """

    name = "KubeVirt websocket"

    def __init__(
        self,
        connection: Connection,
        namespace: str,
        vm: str,
        *,
        log: str | os.PathLike[str] | None = None,
        wait_timeout: float = 300.0,
        retry_interval: float = 1.0,
        heartbeat: float | None = 15.0,
        backoff: tuple[float, float] = (1.0, 30.0),
        connect_timeout: float = 15.0,
        takeover_check: float = 1.5,
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        self.vm = vm
        self.wait_timeout = wait_timeout
        self.heartbeat = heartbeat
        self.connect_timeout = connect_timeout
        # A guest that powers itself off ends the stream a moment before its VMI leaves
        # Running: look again for this long before calling a drop a takeover.
        self.takeover_check = takeover_check
        self.url = connection.ws_url(CONSOLE_PATH.format(ns=namespace, name=vm))
        # The kubeconfig's proxy-url, as the client's own requests use it.
        configuration = getattr(connection.api_client, "configuration", None)
        self._proxy: str | None = getattr(configuration, "proxy", None) or None
        super().__init__(log, retry_interval=retry_interval, backoff=backoff)
        self._outbox: asyncio.Queue[bytes] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._http: aiohttp.ClientSession | None = None
        self.give_up_at: float | None = None
        """While WAITING: the `time.monotonic()` at which waiting ends."""

    def __repr__(self) -> str:
        return f"KubevirtConsole({self.namespace}/{self.vm}, {self.state.value})"

    # ---- the ConsoleTransport interface (the rest is AsyncioConsole's) --------------------

    def _thread_name(self) -> str:
        return f"console {self.namespace}/{self.vm}"

    def write(self, data: bytes) -> None:
        """Send bytes to the guest; dropped unless connected."""
        self._call_in_loop(self._enqueue, data)

    def reconnect(self) -> None:
        """Connect again now: after a takeover, a final error, or to replace a live session.

        Resets the wait timeout and the backoff. No-op once closed.
        """
        super().reconnect()

    def _close_unopened(self) -> None:
        # Never opened: nothing runs, only the log file to let go of.
        self._log.close()

    def _enqueue(self, data: bytes) -> None:
        if self._outbox is not None and self._ws is not None and not self._ws.closed:
            self._outbox.put_nowait(data)

    def _emit(self, state: ConsoleState, reason: str = "", retry_in: float | None = None) -> None:
        if state is not ConsoleState.WAITING:
            self.give_up_at = None
        super()._emit(state, reason, retry_in)

    # ---- the life of the connection ---------------------------------------------------

    async def _main(self) -> None:
        self._outbox = asyncio.Queue()
        try:
            context = await asyncio.to_thread(self.connection.ssl_context)
        except (OSError, ssl.SSLError, ValueError) as exc:
            # A broken CA or client certificate file: nothing to retry until it changes.
            self._emit(ConsoleState.DISCONNECTED, f"TLS settings of the kubeconfig: {exc}")
            await asyncio.Event().wait()  # until close()
            return
        connector = aiohttp.TCPConnector(ssl=context if context is not None else False)
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.connect_timeout, sock_connect=self.connect_timeout
        )
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, raise_for_status=self._check_status
        ) as http:
            self._http = http
            try:
                while True:
                    await self._attempts()
                    # Given up, or taken over: the reason is on screen; wait for the user.
                    await self._wait_for_kick()
            finally:
                ws, self._ws = self._ws, None
                if ws is not None and not ws.closed:
                    # Polite close frame, bounded (ClientWSTimeout below) so close() is prompt.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(ws.close())

    @staticmethod
    async def _check_status(response: aiohttp.ClientResponse) -> None:
        """Turn any HTTP error into `Refused` with the server's own words.

        aiohttp's handshake error drops the body, and the body is where KubeVirt says why
        ("VMI is not running", "VMI is in failed status", "No serial consoles are present.").
        """
        if response.status < 400:
            return
        try:
            body = await asyncio.wait_for(response.read(), 5.0)
        except Exception:  # noqa: BLE001 - the status alone still says something
            body = b""
        response.release()
        raise Refused(response.status, _status_message(body, response.reason or ""))

    async def _attempts(self) -> None:
        """Connect, run sessions and retry until a final outcome (reported before returning)."""
        stopped_at: str | None = None  # set after "VM stopped": we wait for it to run again
        wait_started: float | None = None
        delay = self.backoff[0]
        reconnecting = False
        while True:
            if not reconnecting or self.state is not ConsoleState.WAITING:
                self._emit(
                    ConsoleState.CONNECTING, "reconnecting" if reconnecting else "connecting"
                )
            reconnecting = True
            try:
                ws = await self._connect()
            except Refused as refusal:
                try:
                    waiting = await self._judge_refusal(refusal, after_stop=stopped_at is not None)
                except _Final as final:
                    self._emit(ConsoleState.DISCONNECTED, str(final))
                    return
                if waiting is None:  # transient server error
                    reason = f"server error {refusal.status}: {refusal.message}"
                    delay, kicked = await self._retry_after(reason, delay)
                    if kicked:
                        wait_started = None
                    continue
                now = time.monotonic()
                if wait_started is None:
                    wait_started = now
                    self.give_up_at = now + self.wait_timeout
                left = wait_started + self.wait_timeout - now
                if left <= 0:
                    minutes = self.wait_timeout / 60
                    span = f"{minutes:g} min" if minutes >= 1 else f"{self.wait_timeout:g} s"
                    detail = f" ({waiting})" if waiting else ""
                    self._emit(
                        ConsoleState.DISCONNECTED,
                        f"gave up after {span}: the VM did not run{detail}"
                        if stopped_at is None
                        else f"{VM_STOPPED} at {stopped_at}; it did not run again within {span}",
                    )
                    return
                # Starts with "waiting" so it reads as the state itself in a header.
                if stopped_at is not None:
                    text = f"{VM_STOPPED} at {stopped_at}; waiting for it to run again"
                else:
                    text = "waiting for the VM to run" + (f" ({waiting})" if waiting else "")
                self._emit(
                    ConsoleState.WAITING,
                    f"{text}, giving up in {_countdown(left)}",
                    retry_in=self.retry_interval,
                )
                self.give_up_at = wait_started + self.wait_timeout
                if await self._sleep(min(self.retry_interval, left)):
                    wait_started, delay = None, self.backoff[0]
                continue
            except _Final as final:
                self._emit(ConsoleState.DISCONNECTED, str(final))
                return
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                delay, kicked = await self._retry_after(f"network: {_describe(exc)}", delay)
                if kicked:
                    wait_started = None
                continue

            # Connected.
            delay, wait_started, stopped_at = self.backoff[0], None, None
            kind, reason = await self._session(ws)
            if kind == "user":
                continue
            if kind == "takeover":
                self._emit(ConsoleState.DISCONNECTED, reason)
                return
            if kind == "stopped":
                stopped_at = _clock()
                self._emit(ConsoleState.DISCONNECTED, reason, retry_in=self.retry_interval)
                await self._sleep(self.retry_interval)
                continue
            # network or server close: try again after a pause
            delay, _ = await self._retry_after(reason, delay)

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        """One websocket handshake (raises Refused, _Final or a transport error)."""
        try:
            # auth_headers() may run an exec credential plugin: not on the loop.
            headers = await asyncio.to_thread(self.connection.auth_headers)
        except Exception as exc:  # noqa: BLE001 - a failing plugin says why in its message
            raise _Final(f"cannot get credentials: {exc}") from exc
        try:
            assert self._http is not None
            return await self._http.ws_connect(
                self.url,
                protocols=(SUBPROTOCOL,),
                headers=headers,
                heartbeat=self.heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                server_hostname=self.connection.tls_server_name,
                proxy=self._proxy,
                max_msg_size=0,
            )
        except aiohttp.ClientConnectorCertificateError as exc:
            raise _Final(
                f"TLS: the server's certificate is not trusted: {exc.certificate_error}"
            ) from exc
        except aiohttp.ClientSSLError as exc:
            raise _Final(f"TLS: {exc}") from exc
        except aiohttp.WSServerHandshakeError as exc:
            # A 101 that is not a proper websocket answer (a proxy in the way, say).
            raise _Final(f"the server did not open a websocket: {exc.message}") from exc

    async def _judge_refusal(self, refusal: Refused, *, after_stop: bool) -> str | None:
        """What a refusal means: wait (a str: where the VM is, e.g. "Starting", or ""), a
        transient error (None), or give up (raises _Final)."""
        status, message = refusal.status, refusal.message
        where = f"{self.namespace}/{self.vm}"
        if status == 400 and "not running" in message.lower():
            # Say where it is stuck (Starting, ErrorUnschedulable, Paused, ...): waiting five
            # minutes for an unschedulable VM is only reasonable if one can see that.
            vm = await self._get(VM_PATH)
            printable = (
                (vm.get("status") or {}).get("printableStatus") if isinstance(vm, dict) else None
            )
            return str(printable or "")
        if status == 404:
            if after_stop:
                return ""
            vm = await self._get(VM_PATH)
            if vm is False:
                raise _Final(f"VM {where} not found")
            status_ = (vm.get("status") or {}) if isinstance(vm, dict) else {}
            printable = status_.get("printableStatus")
            starting = printable in _STARTING or any(
                r.get("action") == "Start" for r in status_.get("stateChangeRequests") or []
            )
            if starting:
                return str(printable or "Starting")
            raise _Final(f"VM {where} has no running instance (is it started?)")
        if status == 409:
            raise _Final(message)
        if status == 401:
            raise _Final(
                "not authenticated: the cluster rejected the credentials (401); "
                "refresh the kubeconfig's login"
            )
        if status == 403:
            raise _Final(
                f"not allowed to open this console (403): {message}. Needs 'get' on "
                f"virtualmachineinstances/console in namespace {self.namespace}"
            )
        if status in _TRANSIENT:
            return None
        raise _Final(f"refused ({status}): {message}")

    async def _get(self, path_template: str) -> dict[str, Any] | bool | None:
        """GET one object: the dict, False when it does not exist, None when we can't tell."""
        url = self.connection.server + path_template.format(ns=self.namespace, name=self.vm)
        try:
            headers = await asyncio.to_thread(self.connection.auth_headers)
            assert self._http is not None
            async with self._http.get(
                url,
                headers={**headers, "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(total=5.0),
                server_hostname=self.connection.tls_server_name,
                proxy=self._proxy,
            ) as response:
                return await response.json(content_type=None)
        except Refused as refusal:
            return False if refusal.status == 404 else None
        except Exception as exc:  # noqa: BLE001 - unknown is an answer too
            log.debug("GET %s failed: %s", url, exc)
            return None

    async def _session(self, ws: aiohttp.ClientWebSocketResponse) -> tuple[str, str]:
        """Pump bytes until the socket ends; returns (kind, reason) of the end.

        kind: "user" (reconnect asked), "takeover", "stopped", "network".
        """
        assert self._kick is not None and self._outbox is not None
        self._ws = ws
        self.connections += 1
        while not self._outbox.empty():  # keys typed before a drop are stale now
            self._outbox.get_nowait()
        self._kick.clear()
        vmi_task = asyncio.ensure_future(self._get(VMI_PATH))
        writer = asyncio.ensure_future(self._writer(ws))
        user = False

        async def watch_kick() -> None:
            nonlocal user
            assert self._kick is not None
            await self._kick.wait()
            self._kick.clear()
            user = True
            await ws.close()

        kicker = asyncio.ensure_future(watch_kick())
        self._emit(ConsoleState.CONNECTED, "connected")
        close_frame: tuple[Any, Any] | None = None
        error: BaseException | None = None
        try:
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.BINARY:
                    self._deliver(msg.data)
                elif msg.type is aiohttp.WSMsgType.TEXT:
                    # virt-handler never sends text; if something does, show it anyway.
                    self._deliver(msg.data.encode("utf-8", "replace"))
                elif msg.type is aiohttp.WSMsgType.CLOSE:
                    close_frame = (msg.data, msg.extra)
                elif msg.type is aiohttp.WSMsgType.ERROR:
                    error = msg.data if isinstance(msg.data, BaseException) else ws.exception()
                    break
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                    # The socket ended. ws.exception() is not asked on purpose: after an
                    # EOF aiohttp tries to send a close frame itself and records *that*
                    # failure ("Cannot write to closing transport"), which says nothing
                    # about why the peer went away. Only ERROR messages are network errors.
                    break
        finally:
            self._ws = None
            for task in (writer, kicker):
                task.cancel()
            with contextlib.suppress(Exception):
                await ws.close()
        connected_vmi = vmi_task.result() if vmi_task.done() else None
        if not vmi_task.done():
            vmi_task.cancel()
        if user:
            return "user", "reconnecting"
        return await self._classify_drop(close_frame, error, connected_vmi)

    async def _writer(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        assert self._outbox is not None
        while True:
            data = await self._outbox.get()
            # Coalesce what piled up (a paste, fast typing) into one frame.
            while not self._outbox.empty():
                data += self._outbox.get_nowait()
            try:
                await ws.send_bytes(data)
            except (ConnectionError, RuntimeError, aiohttp.ClientError):
                return  # the reader sees the drop and reports it

    async def _classify_drop(
        self,
        close_frame: tuple[Any, Any] | None,
        error: BaseException | None,
        connected_vmi: dict[str, Any] | bool | None,
    ) -> tuple[str, str]:
        """Why did the socket end? Ask the API about the VMI (see the module docstring)."""
        old_uid = (
            ((connected_vmi.get("metadata") or {}).get("uid"))
            if isinstance(connected_vmi, dict)
            else None
        )

        def state_of(vmi: dict[str, Any] | bool | None) -> str:
            if vmi is None:
                return "unknown"
            if vmi is False:
                return "gone"
            assert isinstance(vmi, dict)
            meta = vmi.get("metadata") or {}
            if old_uid and meta.get("uid") and meta.get("uid") != old_uid:
                return "replaced"
            phase = (vmi.get("status") or {}).get("phase")
            if meta.get("deletionTimestamp") or phase != "Running":
                return "stopped"
            return "running"

        state = state_of(await self._get(VMI_PATH))
        if error is None and close_frame is None and state == "running":
            # Looks like a takeover; a guest that powered itself off takes a moment to
            # leave Running, so look again before saying so.
            deadline = time.monotonic() + self.takeover_check
            while state == "running" and time.monotonic() < deadline:
                await asyncio.sleep(min(0.5, self.takeover_check))
                state = state_of(await self._get(VMI_PATH))
        if state in ("gone", "stopped"):
            return "stopped", VM_STOPPED
        if state == "replaced":
            return "stopped", "VM restarted"
        if error is not None:
            return "network", f"network: {_describe(error)}"
        if state == "unknown":
            return "network", "network: the connection ended and the API does not answer"
        if close_frame is not None:
            code, text = close_frame
            detail = f" ({text})" if text else ""
            return "network", f"closed by the server: code {code}{detail}"
        return "takeover", TAKEN_OVER
