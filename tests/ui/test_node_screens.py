"""`kvtui node` in Pilot against real libvirt: the test driver with the KubeVirt-style fixture.

The list (namespace/VM split, filter, sort), the details tabs, the confirm dialogs before a
mutation, a daemon vanishing under the list (a real session libvirtd, killed), the serial
console of a KubeVirt-style domain over a real unix socket, and the serial log tail.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kvtest import skip_unless

from screens.console import ConsoleScreen
from screens.dialogs import ConfirmDialog
from screens.node_app import NodeApp, run_node_app
from screens.node_details import NodeDetailsScreen, SerialLogScreen, clean_log_text
from screens.node_list import NodeEventsScreen, NodeListScreen, interval_step, node_sort_key
from tui.node.model import SourceState
from widgets.resource_table import ResourceTable

try:
    import libvirt
except ImportError:
    libvirt = None

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "node" / "kubevirt-node.xml"
URI = f"test://{FIXTURE}"
SIZE = (160, 40)
WEB_UID = "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e01"


@pytest.fixture(autouse=True)
def needs_libvirt() -> None:
    skip_unless(libvirt is not None, "libvirt-python is not installed (pip install '.[node]')")


def list_screen(app: NodeApp) -> NodeListScreen:
    screen = app.screen_stack[1] if len(app.screen_stack) > 1 else app.screen
    assert isinstance(screen, NodeListScreen)
    return screen


def table_rows(app: NodeApp) -> list[tuple[str, ...]]:
    table = list_screen(app).query_one(ResourceTable)
    return [tuple(table.row_text(key)) for key in table.visible_keys()]


def names(app: NodeApp) -> list[tuple[str, str]]:
    return [(cells[0], cells[1]) for cells in table_rows(app)]


def notices(app: NodeApp) -> list[str]:
    """The toasts shown (their text wraps on screen, so read them whole)."""
    return [n.message for n in app._notifications]  # noqa: SLF001 - no public accessor


async def loaded(pilot, wait_for, count: int = 4) -> None:
    await wait_for(pilot, lambda: len(table_rows(pilot.app)) == count, what=f"{count} rows")


async def test_list_shows_namespaces_vms_and_uids(wait_for, screen_text) -> None:
    app = run_node_app([URI], interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, wait_for)
        assert names(app) == [
            ("-", "plain-libvirt-guest"),
            ("dev", "build-box"),
            ("prod", "db-01"),
            ("prod", "web-01"),
        ]
        columns = list_screen(app).query_one(ResourceTable).column_names
        web = dict(zip(columns, table_rows(app)[3], strict=True))
        assert web["STATE"] == "running"
        assert web["VMI UID"] == WEB_UID
        assert web["MEM"] == "2Gi" and table_rows(app)[2][4] == "6Gi/8Gi"
        # Rates and sparklines once two samples are in.
        await wait_for(pilot, lambda: "%" in table_rows(app)[3][6], what="CPU%")
        text = screen_text(app)
        assert "Domains on this node [4]" in text and "4 running" in text


async def test_filter_and_sort(wait_for, screen_text) -> None:
    app = run_node_app([URI], interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, wait_for)
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "node-filter")
        await pilot.press(*"prod")
        await wait_for(pilot, lambda: len(table_rows(app)) == 2, what="filtered to prod")
        assert "</prod>" in screen_text(app) and "[2/4]" in screen_text(app)
        await pilot.press("enter")  # keep the filter, keys back to the list
        await pilot.press("escape")  # clears it
        await wait_for(pilot, lambda: len(table_rows(app)) == 4, what="filter cleared")
        await pilot.press("N")  # sort by VM
        await wait_for(pilot, lambda: names(app)[0][1] == "build-box", what="sorted by VM")
        await pilot.press("N")
        await wait_for(pilot, lambda: names(app)[0][1] == "web-01", what="reversed")


async def test_details_tabs(wait_for, screen_text) -> None:
    app = run_node_app([URI], interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, wait_for)
        await pilot.press("N", "N")  # web-01 first
        await wait_for(pilot, lambda: names(app)[0][1] == "web-01")
        await pilot.press("g")  # the cursor follows its row when the order changes: to the top
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeDetailsScreen), what="details")
        details = app.screen
        assert isinstance(details, NodeDetailsScreen)
        await wait_for(pilot, lambda: "block" in details.loaded, what="details loaded")
        tabs = details.tab_text
        assert WEB_UID in tabs["overview"]
        assert "KubeVirt serial socket" in tabs["overview"]
        assert "no socket at /var/run/kubevirt-private/" in tabs["overview"]
        assert "vda" in tabs["block"] and "Capacity" in tabs["block"]
        assert "02:6f:a1:00:00:01" in tabs["interfaces"]
        assert "not supported by this driver" in tabs["job"]
        assert "not supported by this driver" in tabs["agent"]
        assert "Press m" in tabs["monitor"]
        await pilot.press("2")
        await wait_for(pilot, lambda: "<name>prod_web-01</name>" in screen_text(app), what="XML")
        await pilot.press("slash")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "nd-search")
        await pilot.press(*"nocloud.iso", "enter")  # case-insensitive
        await wait_for(pilot, lambda: details.matches, what="a match")
        assert len(details.matches) == 1
        await pilot.press("m")
        await wait_for(
            pilot,
            lambda: (
                "query-status" in details.tab_text["monitor"]
                and "not supported" in details.tab_text["monitor"]
            ),
            what="monitor answers",
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeListScreen), what="back")


async def test_mutations_ask_first_and_warn_about_kubevirt(wait_for, screen_text) -> None:
    app = run_node_app([URI], interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, wait_for)
        await pilot.press("N", "N")
        await wait_for(pilot, lambda: names(app)[0][1] == "web-01")
        await pilot.press("g")  # the cursor follows its row when the order changes: to the top

        def state() -> str:
            return table_rows(app)[0][2]

        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="dialog")
        text = screen_text(app)
        assert "Suspend this libvirt domain?" in text
        assert "prod/web-01" in text and "KubeVirt owns these domains" in text
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeListScreen))
        await pilot.pause(1.2)
        assert state() == "running"  # nothing happened

        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("c")  # the equivalent command
        await wait_for(pilot, lambda: "virsh -c" in screen_text(app), what="command shown")
        assert "suspend prod_web-01" in screen_text(app)
        await pilot.press("y")
        await wait_for(pilot, lambda: state() == "paused (user)", what="paused")
        await wait_for(pilot, lambda: "prod_web-01 suspended" in screen_text(app), what="event")

        await pilot.press("Z", "y")
        await wait_for(pilot, lambda: state().startswith("running"), what="resumed")

        # e: the event history, newest first.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeEventsScreen), what="events")
        events = app.screen.query_one(ResourceTable)
        await wait_for(pilot, lambda: events.row_count >= 2, what="two events")
        texts = [events.cell(key, "EVENT") for key in events.visible_keys()]
        assert texts[:2] == ["prod_web-01 resumed", "prod_web-01 suspended"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeListScreen))

        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Destroy" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeListScreen))


async def test_readonly_hides_mutations(wait_for, screen_text) -> None:
    app = run_node_app([URI], interval=0.5, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, wait_for)
        assert "Suspend" not in screen_text(app)
        await pilot.press("z")
        await pilot.pause(0.3)
        assert isinstance(app.screen, NodeListScreen)
        assert app.model.sources_list()[0].read_only


async def test_interval_keys(wait_for, screen_text) -> None:
    app = run_node_app([URI], interval=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, wait_for)
        await pilot.press("plus")
        assert app.model.interval == 1.0
        await wait_for(pilot, lambda: "refresh every 1s" in screen_text(app))
        await pilot.press("minus", "minus")
        assert app.model.interval == 5.0
    assert interval_step(60, 1) == 60 and interval_step(0.5, -1) == 0.5


async def test_default_test_driver_starts(wait_for, screen_text) -> None:
    """What `kvtui node --uri test:///default` opens: one plain domain, no banner."""
    app = run_node_app(["test:///default"], discover=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, wait_for, 1)
        text = screen_text(app)
        assert "kvtui node" in text and "test" in text and "running" in text
        assert not list_screen(app).query_one("#node-banner").display


async def test_unreachable_uri_says_why(wait_for, screen_text) -> None:
    app = run_node_app(["test:///nonexistent/node.xml"], discover=False, interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: "cannot connect to test:///nonexistent/node.xml" in screen_text(app)
        )


async def test_nothing_discovered_is_said(wait_for, screen_text, tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "1" / "root").mkdir(parents=True)
    app = run_node_app([], discover=True, proc_root=proc)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: "no virt-launcher libvirt daemons found" in screen_text(app),
            what="the empty-node banner",
        )


# ---- a daemon vanishing ---------------------------------------------------------------------


async def test_vanished_daemon_greys_rows_and_shows_a_banner(wait_for, screen_text) -> None:
    from libvirt_session import session_daemon

    with session_daemon(FIXTURE) as daemon:
        app = run_node_app([daemon.uri], interval=0.5)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, wait_for)
            daemon.kill()
            await wait_for(
                pilot,
                lambda: "vanished" in screen_text(app) and "(stale)" in screen_text(app),
                what="banner and stale rows",
            )
            screen = list_screen(app)
            assert screen.query_one("#node-banner").display
            assert all(row[2].endswith("(stale)") for row in table_rows(app))
            assert "4 stale" in screen_text(app)
            await pilot.press("z")  # nothing to do on a stale row, and no crash
            await pilot.pause(0.2)
            assert isinstance(app.screen, NodeListScreen)
            daemon.start()
            source = app.model.sources_list()[0]
            await wait_for(pilot, lambda: source.state is SourceState.CONNECTED, timeout=20)
            await wait_for(
                pilot,
                lambda: (
                    not screen.query_one("#node-banner").display
                    and "(stale)" not in screen_text(app)
                ),
                what="fresh again",
            )


# ---- console and serial log over a fixture whose paths are real -------------------------------


@pytest.fixture
def live_fixture() -> Iterator[tuple[str, Path]]:
    """The fixture with web-01's serial socket and log in a short temp dir (unix path limit)."""
    base = Path(tempfile.mkdtemp(prefix="kvn-"))
    private = f"/var/run/kubevirt-private/{WEB_UID}"
    xml = FIXTURE.read_text().replace(private, str(base))
    path = base / "node.xml"
    path.write_text(xml)
    try:
        yield f"test://{path}", base
    finally:
        shutil.rmtree(base, ignore_errors=True)


class SerialServer:
    """A unix socket that behaves like QEMU's serial chardev: greets, echoes what arrives."""

    def __init__(self, path: Path) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(1)
        self.received = bytearray()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(b"guest login: ")
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                self.received += data
                conn.sendall(data.replace(b"\r", b"\r\n"))

    def close(self) -> None:
        self.server.close()


async def test_console_goes_straight_to_the_serial_socket(
    wait_for, screen_text, live_fixture
) -> None:
    uri, base = live_fixture
    server = SerialServer(base / "virt-serial0")
    try:
        app = run_node_app([uri], interval=0.5)
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot, wait_for)
            await pilot.press("N", "N")
            await wait_for(pilot, lambda: names(app)[0][1] == "web-01")
            await pilot.press("g")
            await pilot.press("s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConsoleScreen), what="console")
            await wait_for(pilot, lambda: "guest login:" in screen_text(app), what="greeting")
            assert "prod/web-01" in screen_text(app)
            await pilot.press(*"root", "enter")
            await wait_for(pilot, lambda: b"root\r" in bytes(server.received), what="typed")
            await pilot.press("ctrl+right_square_bracket", "q")
            await wait_for(pilot, lambda: isinstance(app.screen, NodeListScreen), what="left")
            # A domain without a socket says so instead of opening a console that waits.
            await pilot.press("j", "j")
            await wait_for(pilot, lambda: list_screen(app).selected().vm == "db-01")
            await pilot.press("s")
            await wait_for(
                pilot, lambda: any("No serial console socket" in n for n in notices(app))
            )
    finally:
        server.close()


async def test_serial_log_tail(wait_for, screen_text, live_fixture) -> None:
    uri, base = live_fixture
    log = base / "virt-serial0-log"
    log.write_bytes(b"[    0.000000] Linux version 6.1\r\n\x1b[1mbold\x1b[0m boot\r\nlogin: ")
    app = run_node_app([uri], interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, wait_for)
        await pilot.press("N", "N")
        await wait_for(pilot, lambda: names(app)[0][1] == "web-01")
        await pilot.press("g")  # the cursor follows its row when the order changes: to the top
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, SerialLogScreen), what="log")
        screen = app.screen
        await wait_for(pilot, lambda: "Linux version 6.1" in screen.text, what="log text")
        assert "bold boot" in screen.text and "\x1b" not in screen.text
        with log.open("ab") as handle:
            handle.write(b"root\r\nWelcome\r\n")
        await wait_for(pilot, lambda: "Welcome" in screen.text, what="followed")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeListScreen))


def test_clean_log_text_and_sort_keys() -> None:
    assert clean_log_text(b"a\x1b[31mred\x1b[0m\r\nb\x07") == ["ared", "b^G"]
    assert node_sort_key("BLOCK/s", "  812B ▁▂") < node_sort_key("BLOCK/s", "  1.4K ▁▂")
    assert node_sort_key("CPU%", " 9.0% ▁") < node_sort_key("CPU%", "10.0% ▁")
    assert node_sort_key("MEM", "512Mi") < node_sort_key("MEM", "2Gi/8Gi")
    assert node_sort_key("UPTIME", "~5m") < node_sort_key("UPTIME", "1h2m")


# ---- correlation with a cluster (--kubeconfig): the demo cluster's VMIs ----------------------


def _domain(name: str, uuid: str, uid: str) -> str:
    return f"""  <domain type='test'>
    <name>{name}</name>
    <uuid>{uuid}</uuid>
    <memory unit='MiB'>256</memory>
    <vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <metadata><kubevirt xmlns="http://kubevirt.io"><uid>{uid}</uid></kubevirt></metadata>
  </domain>
"""


async def test_domains_show_their_vmi_from_the_cluster(
    wait_for, screen_text, kubeconfig: Path, api, tmp_path: Path
) -> None:
    from kubernetes import client

    from tui.cluster.connection import Connection
    from tui.node.cluster import NodeCluster

    vmis = client.CustomObjectsApi(api).list_cluster_custom_object(
        "kubevirt.io", "v1", "virtualmachineinstances"
    )["items"]
    running = [v for v in vmis if (v.get("status") or {}).get("nodeName")][:2]
    assert len(running) == 2, "the demo seeds running VMIs"
    here = running[0]["status"]["nodeName"]
    domains = [
        _domain(
            f"{v['metadata']['namespace']}_{v['metadata']['name']}",
            f"00000000-0000-4000-8000-00000000000{i}",
            v["metadata"]["uid"],
        )
        for i, v in enumerate(running)
    ]
    domains.append(
        _domain("ghost_orphan", "00000000-0000-4000-8000-000000000009", "not-in-the-cluster")
    )
    path = tmp_path / "node.xml"
    path.write_text("<node>\n" + "".join(domains) + "</node>\n")

    connection = Connection.from_kubeconfig(str(kubeconfig))
    cluster = NodeCluster(connection, node_name=here)
    app = run_node_app([f"test://{path}"], cluster=cluster, discover=False, interval=0.5)
    try:
        async with app.run_test(size=(200, 40)) as pilot:
            await loaded(pilot, wait_for, 3)
            screen = list_screen(app)
            columns = screen.query_one(ResourceTable).column_names
            assert columns[3:5] == ["CLUSTER", "NODE"]

            def by_vm() -> dict[str, dict[str, str]]:
                return {row[1]: dict(zip(columns, row, strict=True)) for row in table_rows(app)}

            await wait_for(pilot, lambda: by_vm()["orphan"]["CLUSTER"] == "no VMI", what="join")
            first, second = (by_vm()[v["metadata"]["name"]] for v in running)
            assert first["CLUSTER"].startswith(running[0]["status"]["phase"])
            assert first["NODE"] == here and "!" not in first["CLUSTER"]
            if running[1]["status"]["nodeName"] != here:
                assert first["CLUSTER"] != second["CLUSTER"]
                assert second["CLUSTER"].endswith(f"on {running[1]['status']['nodeName']}!")
            assert "cluster" in screen_text(app)
            # The orphan's details say what it likely is.
            await pilot.press("slash")
            await wait_for(
                pilot, lambda: app.focused is not None and app.focused.id == "node-filter"
            )
            await pilot.press(*"orphan", "enter")
            await wait_for(pilot, lambda: names(app) == [("ghost", "orphan")])
            await pilot.press("g", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, NodeDetailsScreen))
            details = app.screen
            await wait_for(pilot, lambda: "orphaned domain" in details.tab_text["overview"])
    finally:
        connection.close()
