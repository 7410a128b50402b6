"""Real tiny QEMU guests behind demo VMs, their serial consoles bridged as virt-handler does.

When enabled (`DemoCluster(real_guests=True)`, `KVTUI_DEMO_REAL_GUESTS=N`,
`kvtui --demo --real-guests` or `python -m tui.demo --real-guests [N]`) and the machine allows it (`guest_image.find_guest()`:
qemu-system-x86_64, libvirtd, busybox-static, a kernel; and libvirt-python), each VMI that
starts running gets a real domain, up to `limit` at once; the others keep the simulated
guest. The pieces are KubeVirt's:

- one private session libvirtd (`tui.demo.libvirtd.SessionDaemon`), started with the first
  real guest and stopped with the demo;
- a transient TCG domain named `<namespace>_<vm>` in KubeVirt's serial layout, its socket
  and log in a per-VMI directory (virt-launcher's `/var/run/kubevirt-private/<vmi-uid>`);
- the console websocket bridged to that unix socket: bytes from the viewer go to the socket,
  bytes from the socket go to the viewer, one viewer at a time (the hub cuts the old one off).

One difference from virt-handler, on purpose: the bridge dials the socket when the domain
starts and keeps it, and the output written before the first viewer ever attaches (the
boot, up to `BOOT_KEEP` bytes) is handed to that first viewer. virt-handler dials per
viewer and the boot is lost unless someone was watching; a demo user pressing `s` a second
after starting a VM should see the kernel boot, as on a hypervisor's console. Later output
with nobody attached is dropped, as on a real serial line.

The VMI stopping (stop, delete, restart) destroys its domain; the demo's shutdown destroys
them all and stops the daemon: no QEMU is left behind (`SessionDaemon.stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from tui.demo.guest_image import GuestImage, Unavailable, find_guest

__all__ = ["BOOT_KEEP", "RealGuestPool", "RealGuest", "enabled_from_env"]

log = logging.getLogger(__name__)

ENV = "KVTUI_DEMO_REAL_GUESTS"
BOOT_KEEP = 256 * 1024
DEFAULT_LIMIT = 2
_READ = 65536


def enabled_from_env() -> tuple[bool, int]:
    """(enabled, limit) from $KVTUI_DEMO_REAL_GUESTS: how many real guests at most (a
    number; 0 is off), or "true"/"yes"/"on" for the default (2)."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False, DEFAULT_LIMIT
    if value.isdigit():
        return int(value) > 0, int(value) or DEFAULT_LIMIT
    return True, DEFAULT_LIMIT


def availability() -> GuestImage | Unavailable:
    """The tiny guest, or why the demo cannot run real guests here."""
    from tui.libvirt_loop import LibvirtMissing, libvirt_module

    try:
        libvirt_module()
    except LibvirtMissing as exc:
        return Unavailable(str(exc))
    return find_guest()


class RealGuest:
    """The console side of one real guest, shaped like `SimulatedGuest` for the hub.

    `feed()` forwards the viewer's bytes to the serial socket (the answer comes back through
    the pump, not as a return value); `on_connect()` hands the first viewer the boot output
    kept so far. Keys typed before the socket is dialled are dropped.
    """

    def __init__(self) -> None:
        self.domain: str | None = None
        self.socket_path: str | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._boot = bytearray()
        self._keeping_boot = True  # keeping output for the first viewer
        self.connected = asyncio.Event()
        self.bytes_from_guest = 0

    def on_connect(self) -> bytes:
        if not self._keeping_boot:
            return b""
        self._keeping_boot = False
        data, self._boot = bytes(self._boot), bytearray()
        return data

    def feed(self, data: bytes) -> bytes:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.write(data)
        return b""

    def tick(self) -> bytes:
        return b""

    async def pump(
        self, send: Callable[[bytes], Awaitable[None]], has_viewer: Callable[[], bool]
    ) -> None:
        """Dial the serial socket (it appears as QEMU starts) and move its output to `send`
        while a viewer is attached; returns when the guest's side ends."""
        assert self.socket_path is not None
        reader, writer = await self._dial(self.socket_path)
        self._writer = writer
        self.connected.set()
        try:
            while True:
                data = await reader.read(_READ)
                if not data:
                    return
                self.bytes_from_guest += len(data)
                if has_viewer():
                    await send(data)
                elif self._keeping_boot:
                    self._boot += data
                    if len(self._boot) > BOOT_KEEP:
                        del self._boot[: len(self._boot) - BOOT_KEEP]
        finally:
            self._writer = None
            writer.close()

    @staticmethod
    async def _dial(path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        for _ in range(600):  # QEMU creates the socket as it starts; 30 s at most
            try:
                return await asyncio.open_unix_connection(path, limit=_READ)
            except (FileNotFoundError, ConnectionRefusedError):
                await asyncio.sleep(0.05)
        raise OSError(f"QEMU never listened on {path}")


class RealGuestPool:
    """Starts and stops real guests for VMIs, up to `limit` at once, on one session daemon.

    Blocking libvirt calls run in worker threads (`asyncio.to_thread`): the demo's loop
    serves the API meanwhile.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, *, guest: GuestImage | None = None) -> None:
        self.limit = limit
        found = guest if guest is not None else availability()
        self.guest: GuestImage | None = found if isinstance(found, GuestImage) else None
        self.reason = "" if self.guest is not None else str(found)
        self.daemon: Any = None
        self._daemon_lock = asyncio.Lock()
        self._claimed: set[str] = set()  # VMI uids with a real guest (starting or running)
        self._domains: dict[str, str] = {}  # uid -> domain name
        self._creating: dict[str, asyncio.Future[None]] = {}  # uid -> createXML in a thread
        self._destroying: dict[str, asyncio.Task[None]] = {}  # domain name -> its destroy
        self.daemon_start_seconds: float | None = None
        self.closed = False

    @property
    def available(self) -> bool:
        return self.guest is not None

    def claim(self, uid: str) -> bool:
        """Reserve a slot for this VMI; False when unavailable or full."""
        if (
            self.closed
            or self.guest is None
            or uid in self._claimed
            or len(self._claimed) >= self.limit
        ):
            return False
        self._claimed.add(uid)
        return True

    async def _ensure_daemon(self) -> Any:
        async with self._daemon_lock:
            if self.closed:
                raise RuntimeError("the demo is shutting down")
            if self.daemon is None:
                from tui.demo.libvirtd import SessionDaemon

                daemon = await asyncio.to_thread(SessionDaemon().start)
                self.daemon = daemon
                self.daemon_start_seconds = daemon.start_seconds
                log.info("real guests: session libvirtd at %s", daemon.uri)
            return self.daemon

    async def start(self, vmi: dict[str, Any], guest: RealGuest) -> None:
        """Define and start the VMI's domain; fills in `guest`'s domain and socket path."""
        from tui.demo.libvirtd import domain_xml

        meta = vmi.get("metadata") or {}
        uid, namespace, name = meta["uid"], meta.get("namespace", ""), meta.get("name", "")
        daemon = await self._ensure_daemon()
        domain = f"{namespace}_{name}"
        pending = self._destroying.get(domain)
        if pending is not None:  # a restart: the old domain of that name must be gone first
            with contextlib.suppress(Exception):
                await pending
        folder = daemon.vmi_dir(uid)
        sock = folder / "virt-serial0"
        assert self.guest is not None
        image = daemon.guest_copy(self.guest)
        xml = domain_xml(
            domain,
            image,
            sock,
            serial_log=folder / "virt-serial0-log",
            uid=uid,
            namespace=namespace,
        )

        def create() -> None:
            conn = daemon.connect()
            with contextlib.suppress(Exception):  # a leftover of an earlier run of this VMI
                conn.lookupByName(domain).destroy()
            conn.createXML(xml, 0)

        self._domains[uid] = domain
        # Shielded: a VMI stopping meanwhile cancels us, not the creation, which release()
        # waits for before destroying the domain.
        creating = asyncio.ensure_future(asyncio.to_thread(create))
        self._creating[uid] = creating
        try:
            await asyncio.shield(creating)
        finally:
            if creating.done() and self._creating.get(uid) is creating:
                del self._creating[uid]
        guest.domain, guest.socket_path = domain, str(sock)

    def release(self, uid: str) -> None:
        """The VMI stopped: destroy its domain (in the background) and free the slot."""
        self._claimed.discard(uid)
        domain = self._domains.pop(uid, None)
        creating = self._creating.pop(uid, None)
        if domain is None or self.daemon is None:
            return
        daemon = self.daemon

        def destroy() -> None:
            with contextlib.suppress(Exception):
                daemon.connect().lookupByName(domain).destroy()

        async def destroy_when_created() -> None:
            if creating is not None:
                with contextlib.suppress(Exception):
                    await creating
            await asyncio.to_thread(destroy)

        task = asyncio.get_running_loop().create_task(destroy_when_created())
        self._destroying[domain] = task
        task.add_done_callback(
            lambda t: (
                self._destroying.pop(domain, None) if self._destroying.get(domain) is t else None
            )
        )

    async def close(self) -> None:
        """Destroy every domain and stop the daemon (nothing of it keeps running)."""
        self.closed = True
        for task in [*self._creating.values(), *self._destroying.values()]:
            with contextlib.suppress(Exception):
                await task
        self._claimed.clear()
        self._domains.clear()
        async with self._daemon_lock:  # a daemon being started is stopped too
            daemon, self.daemon = self.daemon, None
        if daemon is not None:
            await asyncio.to_thread(daemon.stop)
