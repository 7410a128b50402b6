"""libvirt-python, imported on demand, and its default event loop run in one daemon thread.

Both the node view (domain lifecycle events) and the libvirt console transport (non-blocking
streams) need libvirt's event loop: without a registered implementation, remote connections
deliver no events and non-blocking streams read nothing. libvirt allows one implementation per
process and it must be registered before the first connection is opened, so every user goes
through `ensure_event_loop()`, which is idempotent and thread-safe.

libvirt-python is an optional dependency (the `node` extra): it is imported here, lazily, and a
missing module becomes `LibvirtMissing` with the words that tell the user how to install it.
"""

from __future__ import annotations

import threading
from types import ModuleType

INSTALL_HINT = (
    "libvirt-python is not installed. Install kvtui's node extra: "
    "pip install 'kvtui[node]' (it builds against the system libvirt: on Debian/Ubuntu "
    "first run 'apt-get install libvirt-dev pkg-config gcc python3-dev')"
)


class LibvirtMissing(RuntimeError):
    """libvirt-python cannot be imported; str() says how to install it."""


_lock = threading.Lock()
_thread: threading.Thread | None = None


def libvirt_module() -> ModuleType:
    """The `libvirt` module, or LibvirtMissing with installation advice."""
    try:
        import libvirt
    except ImportError as exc:
        raise LibvirtMissing(f"{INSTALL_HINT} ({exc})") from exc
    return libvirt


def _run_loop(libvirt: ModuleType) -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:  # noqa: BLE001 - the loop must outlive one bad callback
            continue


def ensure_event_loop() -> ModuleType:
    """Register libvirt's default event implementation and run it in a daemon thread, once.

    Returns the libvirt module. Call before opening any connection whose events or
    non-blocking streams will be used.
    """
    global _thread
    libvirt = libvirt_module()
    with _lock:
        if _thread is None:
            libvirt.virEventRegisterDefaultImpl()
            _thread = threading.Thread(
                target=_run_loop, args=(libvirt,), name="libvirt-events", daemon=True
            )
            _thread.start()
    return libvirt


def quiet_errors() -> None:
    """Stop libvirt printing its errors on stderr (it does by default): kvtui reports them itself.

    stderr belongs to the terminal UI while it runs; a stray libvirt line there corrupts the
    screen.
    """
    libvirt = libvirt_module()
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
