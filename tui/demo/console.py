"""The VMI serial console websocket, as virt-api and virt-handler serve it, over simulated guests.

Wire protocol (brief §5): subprotocol `plain.kubevirt.io`, binary frames of raw serial bytes
both ways, text frames from the client dropped, one session per VMI (a new viewer cuts the
old one off without a close frame). Output produced while nobody is attached is lost, as on
a real serial socket: a viewer who attaches after boot sees a blank screen until they type.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tui.cluster import kinds as K
from tui.demo import errors
from tui.demo.errors import ApiError
from tui.demo.guest import SimulatedGuest, credentials_from_userdata
from tui.demo.real_guests import RealGuest, RealGuestPool
from tui.demo.store import Store

log = logging.getLogger(__name__)

SUBPROTOCOL = "plain.kubevirt.io"


@dataclass
class GuestSession:
    guest: SimulatedGuest | RealGuest
    viewer: web.WebSocketResponse | None = None
    viewer_request: web.Request | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def send(self, data: bytes) -> None:
        ws = self.viewer
        if not data or ws is None or ws.closed:
            return
        try:
            await ws.send_bytes(data)
        except (ConnectionResetError, RuntimeError):
            self.viewer = None


def guest_for(vmi: dict[str, Any]) -> SimulatedGuest:
    """A simulated guest shaped by the VMI: hostname, cloud-init credentials, IPs, OS."""
    meta = vmi.get("metadata", {})
    spec = vmi.get("spec", {})
    user_data = None
    for vol in spec.get("volumes") or []:
        source = vol.get("cloudInitNoCloud") or vol.get("cloudInitConfigDrive")
        if source and source.get("userData"):
            user_data = source["userData"]
    creds = credentials_from_userdata(user_data)
    status = vmi.get("status", {})
    ifaces = status.get("interfaces") or []
    os_info = status.get("guestOSInfo") or {}
    kwargs: dict[str, Any] = {}
    if os_info.get("prettyName"):
        kwargs["os_name"] = os_info["prettyName"]
    if os_info.get("kernelRelease"):
        kwargs["kernel"] = os_info["kernelRelease"]
    return SimulatedGuest(
        vm_name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        hostname=spec.get("hostname") or meta.get("name"),
        user=creds[0] if creds else None,
        password=creds[1] if creds else None,
        ips=[i["ipAddress"] for i in ifaces if i.get("ipAddress")],
        macs=[i["mac"] for i in ifaces if i.get("mac")],
        **kwargs,
    )


class ConsoleHub:
    """One guest per running VMI, and at most one viewer attached to each.

    The guest is simulated, or with `real_guests` (a `RealGuestPool`, up to its limit) a real
    QEMU domain whose serial socket the websocket is bridged to (see tui/demo/real_guests.py).
    """

    def __init__(
        self, store: Store, *, time_scale: float = 1.0, real_guests: RealGuestPool | None = None
    ) -> None:
        self.store = store
        self.time_scale = time_scale
        self.real_guests = real_guests
        self.sessions: dict[str, GuestSession] = {}
        self.closed = False

    # -- lifecycle, driven by the simulated virt-handler --------------------------------

    def vmi_running(self, vmi: dict[str, Any]) -> None:
        """The VMI's domain started: boot its guest (output goes to whoever is attached)."""
        uid = vmi["metadata"]["uid"]
        if uid in self.sessions or self.closed:
            return
        loop = asyncio.get_running_loop()
        if self.real_guests is not None and self.real_guests.claim(uid):
            real = GuestSession(RealGuest())
            self.sessions[uid] = real
            real.tasks.append(loop.create_task(self._run_real(real, vmi)))
            return
        session = GuestSession(guest_for(vmi))
        self.sessions[uid] = session
        session.tasks.append(loop.create_task(self._boot(session)))
        session.tasks.append(loop.create_task(self._tick(session)))

    async def _run_real(self, session: GuestSession, vmi: dict[str, Any]) -> None:
        """Start the VMI's real guest and bridge its serial socket; if it cannot start, a
        simulated guest stands in (and the viewer is told why)."""
        assert self.real_guests is not None and isinstance(session.guest, RealGuest)
        guest = session.guest
        try:
            await self.real_guests.start(vmi, guest)
            await guest.pump(session.send, lambda: session.viewer is not None)
            # The guest's side ended while its VMI runs on: it powered itself off (QEMU
            # exited). Say so and drop the viewer, as virt-handler's stream would end.
            await session.send(
                b"\r\n[kvtui demo] the guest powered off; stop and start the VM to boot it again\r\n"
            )
            if session.viewer_request is not None and session.viewer_request.transport:
                session.viewer_request.transport.close()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the demo goes on with a simulated guest
            log.warning("real guest for %s failed: %s", vmi["metadata"].get("name"), exc)
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        self.real_guests.release(vmi["metadata"]["uid"])
        session.guest = guest_for(vmi)
        note = f"\r\n[kvtui demo] the real guest could not start ({reason}); a simulated one stands in\r\n"
        await session.send(note.encode())
        loop = asyncio.get_running_loop()
        session.tasks.append(loop.create_task(self._boot(session)))
        session.tasks.append(loop.create_task(self._tick(session)))

    def vmi_stopped(self, vmi: dict[str, Any]) -> None:
        """The domain is gone: the viewer's socket drops, as when virt-handler's stream ends."""
        session = self.sessions.pop(vmi["metadata"]["uid"], None)
        if session is None:
            return
        for task in session.tasks:
            task.cancel()
        if self.real_guests is not None:
            self.real_guests.release(vmi["metadata"]["uid"])
        if session.viewer_request is not None and session.viewer_request.transport is not None:
            session.viewer_request.transport.close()

    async def _boot(self, session: GuestSession) -> None:
        for delay, chunk in session.guest.boot_chunks():
            await asyncio.sleep(delay * self.time_scale)
            await session.send(chunk)

    async def _tick(self, session: GuestSession) -> None:
        while True:
            await asyncio.sleep(1.0)
            await session.send(session.guest.tick())

    def _session_for(self, vmi: dict[str, Any]) -> GuestSession:
        uid = vmi["metadata"]["uid"]
        session = self.sessions.get(uid)
        if session is None:
            # A VMI that was running before the hub knew it (seeded): its guest booted long ago.
            session = GuestSession(guest_for(vmi))
            session.guest.boot_chunks()
            self.sessions[uid] = session
            session.tasks.append(asyncio.get_running_loop().create_task(self._tick(session)))
        return session

    # -- the websocket ------------------------------------------------------------------

    async def handle(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        vmi = self.store.peek(K.VMIS, namespace, name)
        if vmi is None:
            raise errors.not_found(K.VMIS, name)
        phase = (vmi.get("status") or {}).get("phase")
        if phase == "Failed":
            raise errors.conflict(K.VMIS, name, "VMI is in failed status")
        if phase != "Running" or vmi["metadata"].get("deletionTimestamp"):
            raise ApiError(400, "VMI is not running")
        devices = ((vmi.get("spec") or {}).get("domain") or {}).get("devices") or {}
        if devices.get("autoattachSerialConsole") is False:
            raise ApiError(400, "No serial consoles are present.")
        session = self._session_for(vmi)
        ws = web.WebSocketResponse(protocols=(SUBPROTOCOL,), autoping=True, heartbeat=None)
        await ws.prepare(request)
        previous = session.viewer_request
        if previous is not None and previous.transport is not None:
            # virt-handler closes the old stream: the old client sees the socket drop (1006).
            previous.transport.close()
        session.viewer = ws
        session.viewer_request = request
        await session.send(session.guest.on_connect())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    await session.send(session.guest.feed(msg.data))
                elif msg.type == WSMsgType.ERROR:
                    break
                # Text frames are dropped, as virt-handler's binary reader does.
        finally:
            if session.viewer is ws:
                session.viewer = None
                session.viewer_request = None
            with contextlib.suppress(Exception):
                await ws.close()
        return ws

    async def close(self) -> None:
        self.closed = True  # VMIs that start while the simulator winds down get no guest
        tasks: list[asyncio.Task[Any]] = []
        for uid in list(self.sessions):
            session = self.sessions.pop(uid)
            for task in session.tasks:
                task.cancel()
            tasks += session.tasks
            if session.viewer is not None:
                with contextlib.suppress(Exception):
                    await session.viewer.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.real_guests is not None:
            await self.real_guests.close()  # destroys the domains, stops the daemon
