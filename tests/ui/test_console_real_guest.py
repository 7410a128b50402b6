"""The whole console chain with a real guest (issue 4): kvtui's console screen (Pilot) → the
demo server's console websocket → the bridge → a real QEMU (TCG) guest's KubeVirt-style serial
socket on a private session libvirtd.

Skips without libvirt-python, libvirtd, QEMU, busybox-static or a guest kernel; in CI
(CI=true) those are installed by .ci/run and a missing one fails the test instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kvtest import TEST_TIME_SCALE, api_client_for, skip_unless, vm_manifest

from screens.console import ConsoleScreen
from screens.vm_list import VmListScreen
from tui.cli import Settings
from tui.cluster.connection import Connection
from tui.console.base import ConsoleState
from tui.console.kubevirt import TAKEN_OVER, KubevirtConsole
from tui.demo.guest_image import BANNER, PROMPT
from widgets.resource_table import ResourceTable

SIZE = (100, 30)
EXIT = "ctrl+right_square_bracket"
BOOT_TIMEOUT = 120.0  # TCG on a loaded 2-core machine; ~2-8 s is usual
# TCG boots under the host's load: more room than pytest's default timeout (120 s).
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def real_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A demo cluster whose one VM boots a real guest (started before the app, as a user's
    VM would be)."""
    from tui.demo.runtime import DemoCluster

    cluster = DemoCluster(
        time_scale=TEST_TIME_SCALE, seed_data=False, real_guests=True, real_guest_limit=1
    ).start()
    try:
        skip_unless(
            cluster.real_guests is not None,
            f"the demo cannot run real guests here: {cluster.real_guests_reason}",
        )
        with api_client_for(cluster) as api:
            client.CustomObjectsApi(api).create_namespaced_custom_object(
                "kubevirt.io",
                "v1",
                "default",
                "virtualmachines",
                vm_manifest("tiny", run_strategy="Always"),
            )
        cluster.kubeconfig_path = cluster.write_kubeconfig(
            tmp_path_factory.mktemp("real") / "config"
        )
        yield cluster
    finally:
        pool = cluster.real_guests
        folder = pool.daemon.dir if pool is not None and pool.daemon is not None else None
        cluster.stop(timeout=30)
        if folder is not None:
            # Nothing of the daemon or its guests is left: no process, no directory.
            from tui.demo.libvirtd import _processes_mentioning

            assert not _processes_mentioning(str(folder)), "QEMU or libvirtd left running"
            assert not os.path.exists(folder)


def kvtui_app(kubeconfig: Path) -> Any:
    from tui.app import KvtuiApp

    connection = Connection.from_kubeconfig(str(kubeconfig))
    return KvtuiApp(
        connection,
        Settings(namespace="default"),
        kubevirt_version=connection.kubevirt_version(),
    )


def header(app: Any) -> str:
    found = app.screen.query("#console-header")
    return str(found.first().render()) if found else ""


def terminal_text(app: Any) -> str:
    screen = app.screen
    return screen.terminal.screen_text() if isinstance(screen, ConsoleScreen) else ""


async def type_text(pilot: Any, text: str) -> None:
    names = {" ": "space", "$": "dollar_sign", "(": "left_parenthesis", ")": "right_parenthesis"}
    names.update({"*": "asterisk", "-": "minus"})
    await pilot.press(*(names.get(ch, ch) for ch in text))


async def test_console_screen_to_a_real_guest_and_a_takeover(real_demo, wait_for) -> None:
    app = kvtui_app(real_demo.kubeconfig_path)
    other: KubevirtConsole | None = None
    async with app.run_test(size=SIZE) as pilot:
        table = await wait_for(
            pilot,
            lambda: isinstance(app.screen, VmListScreen) and app.screen.query_one(ResourceTable),
        )
        await wait_for(
            pilot,
            lambda: any(table.cell(k, "STATUS") == "Running" for k in table.keys()),
            timeout=30,
            what="tiny Running in the list",
        )
        await pilot.press("s")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen) and app.screen)
        try:
            await wait_for(pilot, lambda: "connected since" in header(app), what="connected")
            assert header(app).startswith("default/tiny  connected since")

            # The guest's own boot banner, from its serial port, drawn by kvtui's terminal.
            await wait_for(
                pilot,
                lambda: BANNER in terminal_text(app),
                timeout=BOOT_TIMEOUT,
                what="the real guest's boot banner",
            )
            assert "kernel=" in terminal_text(app)
            await wait_for(pilot, lambda: PROMPT.strip() in terminal_text(app), what="prompt")

            await type_text(pilot, "echo hello-$((6*7))")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "\nhello-42" in terminal_text(app), what="hello-42")

            # A second viewer (virtctl console, say) takes the console: the first is told.
            seen = bytearray()
            other = KubevirtConsole(
                Connection.from_kubeconfig(str(real_demo.kubeconfig_path)), "default", "tiny"
            )
            other.open(seen.extend, lambda change: None)
            await wait_for(pilot, lambda: TAKEN_OVER in header(app), what="takeover reported")
            notice = str(screen.query_one("#console-notice").render())
            assert "Another viewer opened this VM's console" in notice
            assert screen.transport.state is ConsoleState.DISCONNECTED

            # The guest now answers the other viewer, through the same bridge.
            await wait_for(pilot, lambda: other.state is ConsoleState.CONNECTED)
            other.write(b"echo second-$((40+2))\r")
            await wait_for(pilot, lambda: b"second-42" in seen, what="the other viewer's answer")
        finally:
            if other is not None:
                other.close()
                other.join(5)
            screen.transport.close()
            screen.transport.join(5)


def test_stopping_the_vm_destroys_its_domain(real_demo) -> None:
    """Runs after the console test: the VM's domain exists, then goes with the VM."""
    import time

    pool = real_demo.real_guests
    deadline = time.monotonic() + 60
    while pool.daemon is None or not pool._domains:  # noqa: SLF001 - run alone: still starting
        assert time.monotonic() < deadline, "the VM's domain never started"
        time.sleep(0.1)
    conn = pool.daemon.connect()
    while not any(d.name() == "default_tiny" for d in conn.listAllDomains()):
        assert time.monotonic() < deadline, "the VM's domain never started"
        time.sleep(0.1)
    assert conn.lookupByName("default_tiny").isActive()
    with api_client_for(real_demo) as api:
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            "kubevirt.io",
            "v1",
            "default",
            "virtualmachines",
            "tiny",
            {"spec": {"runStrategy": "Halted"}},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not any(d.name() == "default_tiny" for d in conn.listAllDomains()):
            return
        time.sleep(0.1)
    pytest.fail("the domain of the stopped VM still exists")


async def test_a_libvirt_console_held_by_another_viewer_is_taken_only_when_confirmed(
    real_demo, wait_for
) -> None:
    """libvirt knows when someone holds a console: the screen says so, and Ctrl+] r asks
    before cutting them off (plain libvirt domain, pty console, no need to wait for a boot)."""
    import time

    from tui.console.libvirt import HELD_BY_ANOTHER, LibvirtStreamConsole
    from tui.demo.libvirtd import domain_xml

    pool = real_demo.real_guests
    deadline = time.monotonic() + 60
    while pool.daemon is None:  # started with the VM's real guest
        assert time.monotonic() < deadline, "no daemon"
        time.sleep(0.1)
    daemon = pool.daemon
    dom = daemon.connect().createXML(
        domain_xml("plain-held", daemon.guest_copy(pool.guest), None), 0
    )
    holder_states: list[Any] = []
    holder = LibvirtStreamConsole(daemon.uri, "plain-held")
    holder.open(lambda data: None, holder_states.append)
    app = kvtui_app(real_demo.kubeconfig_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: holder.state is ConsoleState.CONNECTED)
            await wait_for(pilot, lambda: isinstance(app.screen, VmListScreen))
            mine = LibvirtStreamConsole(daemon.uri, "plain-held")
            screen = app.consoles.open("default", "plain-held", transport=mine)
            await wait_for(pilot, lambda: HELD_BY_ANOTHER in header(app), what="held")
            notice = str(screen.query_one("#console-notice").render())
            assert "Another viewer holds this console" in notice
            assert "libvirt stream" in header(app)

            await pilot.press(EXIT, "r")
            await pilot.pause(0.5)
            notice = str(screen.query_one("#console-notice").render())
            assert "press Ctrl+] r again" in notice
            assert holder.state is ConsoleState.CONNECTED, "nobody cut off before confirming"

            await pilot.press(EXIT, "r")
            await wait_for(pilot, lambda: "connected since" in header(app), what="taken over")
            await wait_for(pilot, lambda: holder.state is ConsoleState.DISCONNECTED)
            assert holder_states[-1].reason == TAKEN_OVER
            mine.close()
            mine.join(5)
    finally:
        holder.close()
        holder.join(5)
        try:
            dom.destroy()
        except Exception:  # noqa: BLE001
            pass
