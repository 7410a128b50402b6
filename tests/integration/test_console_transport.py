"""KubevirtConsole against the demo cluster: connect, wait, refusals, takeover, reconnects, log.

The transport runs on its own thread and reports through callbacks; `Recorder` collects what
it reports, and the tests poll with `wait_for` (no fixed sleeps where a state can be awaited).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import yaml
from kvtest import wait_for

from tui.cluster.connection import Connection
from tui.console.base import ConsoleState, StateChange
from tui.console.kubevirt import TAKEN_OVER, VM_STOPPED, KubevirtConsole

MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"


class Recorder:
    """What a console reported: bytes and state changes (filled from the console's thread)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.states: list[StateChange] = []
        self._lock = threading.Lock()

    def on_data(self, data: bytes) -> None:
        with self._lock:
            self.data.extend(data)

    def on_state(self, change: StateChange) -> None:
        with self._lock:
            self.states.append(change)

    def text(self) -> str:
        with self._lock:
            return self.data.decode("utf-8", "replace")

    def seen(self, state: ConsoleState, reason: str = "") -> list[StateChange]:
        with self._lock:
            return [s for s in self.states if s.state is state and reason in s.reason]

    @property
    def last(self) -> StateChange | None:
        with self._lock:
            return self.states[-1] if self.states else None

    def is_(self, state: ConsoleState) -> bool:
        last = self.last
        return last is not None and last.state is state


def open_console(
    connection: Connection, ns: str, name: str, **kwargs: Any
) -> tuple[KubevirtConsole, Recorder]:
    console = KubevirtConsole(connection, ns, name, **kwargs)
    recorder = Recorder()
    console.open(recorder.on_data, recorder.on_state)
    return console, recorder


def until_text(console: KubevirtConsole, rec: Recorder, needle: str, timeout: float = 10) -> None:
    wait_for(lambda: needle in rec.text(), timeout=timeout, what=repr(needle))


def login(console: KubevirtConsole, rec: Recorder) -> None:
    """From whatever state an earlier viewer left the guest in, to a shell prompt."""
    start = len(rec.text())
    console.write(b"\r")
    wait_for(
        lambda: rec.text()[start:].rstrip().endswith(("login:", "$")), what="login: or $ prompt"
    )
    if rec.text()[start:].rstrip().endswith("login:"):
        console.write(b"fedora\r")
        wait_for(lambda: "Password:" in rec.text()[start:], what="Password:")
        console.write(b"fedora\r")
        wait_for(lambda: rec.text()[start:].rstrip().endswith("$"), what="shell prompt")


def logout(console: KubevirtConsole, rec: Recorder) -> None:
    """Leave the shared guest at its login prompt, as other tests expect to find it."""
    start = len(rec.text())
    console.write(b"exit\r")
    wait_for(lambda: rec.text()[start:].rstrip().endswith("login:"), what="login prompt")


@pytest.fixture
def connection(kubeconfig: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(kubeconfig))
    yield conn
    conn.close()


@pytest.fixture
def consoles() -> Iterator[list[KubevirtConsole]]:
    """Consoles a test opened; all are closed (and their threads ended) afterwards."""
    opened: list[KubevirtConsole] = []
    yield opened
    for console in opened:
        console.close()
    for console in opened:
        assert console.join(5), f"{console!r} did not end after close()"


def running(connection: Connection, ns: str, name: str, timeout: float = 30) -> None:
    path = f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances"

    def phase() -> bool:
        items = connection.request("GET", path).json()["items"]
        return any(
            i["metadata"]["name"] == name and i.get("status", {}).get("phase") == "Running"
            for i in items
        )

    wait_for(phase, timeout=timeout, what=f"VMI {ns}/{name} Running")


def vm_manifest(name: str, run_strategy: str = "Halted") -> dict[str, Any]:
    vm = yaml.safe_load((MANIFESTS / "01-vm-fedora-testvm.yaml").read_text())
    vm["metadata"] = {"name": name, "namespace": "default"}
    vm["spec"]["runStrategy"] = run_strategy
    # The sample wants an SSH key Secret the test cluster doesn't have; the console doesn't.
    vm["spec"]["template"]["spec"].pop("accessCredentials", None)
    return vm


def create_vm(connection: Connection, name: str) -> None:
    connection.request(
        "POST", "/apis/kubevirt.io/v1/namespaces/default/virtualmachines", body=vm_manifest(name)
    )


def vm_verb(connection: Connection, name: str, verb: str) -> None:
    connection.request(
        "PUT",
        f"/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/{name}/{verb}",
        body={},
    )


# ---- connecting and talking -----------------------------------------------------------


def test_connects_logs_in_and_records_the_session(
    demo, connection: Connection, consoles: list[KubevirtConsole], tmp_path: Path
) -> None:
    running(connection, "default", "testvm")
    log = tmp_path / "session.log"
    console, rec = open_console(connection, "default", "testvm", log=log)
    consoles.append(console)
    assert console.name == "KubeVirt websocket"
    wait_for(lambda: rec.is_(ConsoleState.CONNECTED), what="connected")
    assert rec.states[0].state is ConsoleState.CONNECTING
    login(console, rec)
    console.write(b"echo hello-$((6*7))\r")
    until_text(console, rec, "hello-42")
    logout(console, rec)
    assert console.bytes_received == len(rec.data)
    console.close()
    assert console.join(5)
    assert rec.last is not None and rec.last.state is ConsoleState.CLOSED
    # The log holds exactly the guest's output, nothing else, and only the owner may read it.
    assert log.read_bytes() == bytes(rec.data)
    assert b"hello-42" in log.read_bytes()
    assert log.stat().st_mode & 0o777 == 0o600
    # Writes after close are dropped silently; close is idempotent.
    console.write(b"ignored\r")
    console.close()


def test_log_appends_across_sessions(
    demo, connection: Connection, consoles: list[KubevirtConsole], tmp_path: Path
) -> None:
    running(connection, "default", "testvm")
    log = tmp_path / "session.log"
    log.write_bytes(b"earlier\n")
    console, rec = open_console(connection, "default", "testvm", log=log)
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.CONNECTED), what="connected")
    console.write(b"\r")
    wait_for(lambda: rec.data, what="an answer to Enter")
    console.close()
    assert console.join(5)
    assert log.read_bytes() == b"earlier\n" + bytes(rec.data)


def test_unwritable_log_fails_at_construction(connection: Connection, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        KubevirtConsole(connection, "default", "testvm", log=tmp_path / "no" / "such" / "dir")


def test_close_before_connected_is_prompt(demo, connection: Connection) -> None:
    console, rec = open_console(connection, "vm-prod", "ml-train-01")
    console.close()
    assert console.join(5)
    assert rec.last is not None and rec.last.state is ConsoleState.CLOSED
    assert len(rec.seen(ConsoleState.CLOSED)) == 1, "CLOSED is reported once"


# ---- refusals -----------------------------------------------------------------------


def test_absent_vm_is_named(demo, connection: Connection, consoles: list[KubevirtConsole]) -> None:
    console, rec = open_console(connection, "default", "no-such-vm")
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="disconnected")
    assert rec.last.reason == "VM default/no-such-vm not found"
    assert rec.last.retry_in is None, "nothing to retry"


def test_stopped_vm_says_it_has_no_running_instance(
    demo, connection: Connection, consoles: list[KubevirtConsole]
) -> None:
    console, rec = open_console(connection, "vm-prod", "db-02")  # seeded Halted
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="disconnected")
    assert rec.last.reason == "VM vm-prod/db-02 has no running instance (is it started?)"
    assert not rec.seen(ConsoleState.WAITING)


def test_unschedulable_vm_waits_with_a_countdown_then_gives_up(
    demo, connection: Connection, consoles: list[KubevirtConsole]
) -> None:
    console, rec = open_console(
        connection, "vm-prod", "ml-train-01", wait_timeout=2.5, retry_interval=0.5
    )
    consoles.append(console)
    wait_for(lambda: len(rec.seen(ConsoleState.WAITING)) >= 2, what="two WAITING reports")
    first = rec.seen(ConsoleState.WAITING)[0]
    assert first.reason == "waiting for the VM to run (ErrorUnschedulable), giving up in 0:03"
    assert first.retry_in == 0.5
    assert console.give_up_at is not None
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="gave up")
    assert rec.last.reason == "gave up after 2.5 s: the VM did not run (ErrorUnschedulable)"
    assert rec.last.retry_in is None
    # A key press tries again, with a fresh timeout.
    waits = len(rec.seen(ConsoleState.WAITING))
    console.reconnect()
    wait_for(lambda: len(rec.seen(ConsoleState.WAITING)) > waits, what="waiting again")


def test_failed_vmi_gives_the_servers_reason(
    fresh_demo: Any, tmp_path: Path, consoles: list[KubevirtConsole]
) -> None:
    from tui.cluster import kinds as K

    connection = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "kc")))
    vmi = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": "solo", "namespace": "default"},
        "spec": vm_manifest("solo")["spec"]["template"]["spec"],
    }
    connection.request(
        "POST", "/apis/kubevirt.io/v1/namespaces/default/virtualmachineinstances", body=vmi
    )
    running(connection, "default", "solo")

    def crash(store: Any) -> None:
        store.mutate(K.VMIS, "default", "solo", lambda o: o["status"].update(phase="Failed"))

    fresh_demo.call(crash)
    console, rec = open_console(connection, "default", "solo")
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="refused")
    assert rec.last.reason.endswith("VMI is in failed status")  # 409, in the server's words
    assert rec.last.retry_in is None


def test_viewer_without_console_rights_is_told_so(
    demo, tmp_path: Path, consoles: list[KubevirtConsole]
) -> None:
    config = demo.kubeconfig()
    config["users"][0]["user"]["token"] = demo.viewer_token
    path = tmp_path / "viewer"
    path.write_text(yaml.safe_dump(config))
    console, rec = open_console(Connection.from_kubeconfig(str(path)), "default", "testvm")
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="disconnected")
    assert rec.last.reason.startswith("not allowed to open this console (403)")
    assert "virtualmachineinstances/console in namespace default" in rec.last.reason


def test_bad_token_is_told_so(demo, tmp_path: Path, consoles: list[KubevirtConsole]) -> None:
    config = demo.kubeconfig()
    config["users"][0]["user"]["token"] = "not-a-token"
    path = tmp_path / "bad"
    path.write_text(yaml.safe_dump(config))
    console, rec = open_console(Connection.from_kubeconfig(str(path)), "default", "testvm")
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="disconnected")
    assert rec.last.reason.startswith("not authenticated")


def test_untrusted_certificate_is_final(
    demo, tmp_path: Path, consoles: list[KubevirtConsole]
) -> None:
    config = demo.kubeconfig()
    config["clusters"][0]["cluster"].pop("certificate-authority-data", None)
    config["clusters"][0]["cluster"].pop("certificate-authority", None)
    path = tmp_path / "noca"
    path.write_text(yaml.safe_dump(config))
    console, rec = open_console(Connection.from_kubeconfig(str(path)), "default", "testvm")
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="disconnected")
    assert rec.last.reason.startswith("TLS: the server's certificate is not trusted")
    assert rec.last.retry_in is None


def test_unreachable_server_retries_with_backoff(
    tmp_path: Path, demo, consoles: list[KubevirtConsole]
) -> None:
    config = demo.kubeconfig()
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"  # discard: refused
    path = tmp_path / "down"
    path.write_text(yaml.safe_dump(config))
    console, rec = open_console(
        Connection.from_kubeconfig(str(path)), "default", "testvm", backoff=(0.1, 0.3)
    )
    consoles.append(console)
    wait_for(lambda: len(rec.seen(ConsoleState.DISCONNECTED, "network:")) >= 3, what="retries")
    delays = [s.retry_in for s in rec.seen(ConsoleState.DISCONNECTED, "network:")]
    assert delays[:3] == [0.1, 0.2, 0.3]
    assert "cannot connect to 127.0.0.1:9" in rec.seen(ConsoleState.DISCONNECTED)[0].reason


# ---- one viewer at a time -------------------------------------------------------------


def test_second_viewer_takes_over_and_the_first_does_not_fight_back(
    demo, connection: Connection, consoles: list[KubevirtConsole]
) -> None:
    running(connection, "default", "testvm")
    first, rec1 = open_console(connection, "default", "testvm")
    consoles.append(first)
    wait_for(lambda: rec1.is_(ConsoleState.CONNECTED), what="first connected")
    second, rec2 = open_console(connection, "default", "testvm")
    consoles.append(second)
    wait_for(lambda: rec1.is_(ConsoleState.DISCONNECTED), what="first dropped")
    assert rec1.last.reason == TAKEN_OVER
    assert rec1.last.retry_in is None, "no automatic reconnect after a takeover"
    wait_for(lambda: rec2.is_(ConsoleState.CONNECTED), what="second connected")
    time.sleep(1.5)  # would be plenty for a reconnect with the default 1 s backoff
    assert first.connections == 1 and rec1.is_(ConsoleState.DISCONNECTED)
    assert rec2.is_(ConsoleState.CONNECTED)
    login(second, rec2)

    # The user of the first asks for it back: now the second is the one taken over.
    first.reconnect()
    wait_for(lambda: rec1.is_(ConsoleState.CONNECTED), what="first back")
    wait_for(lambda: rec2.is_(ConsoleState.DISCONNECTED), what="second dropped")
    assert rec2.last.reason == TAKEN_OVER
    assert first.connections == 2
    # The guest kept its state: the shell the second viewer logged into answers the first.
    first.write(b"echo back-$((40+2))\r")
    until_text(first, rec1, "back-42")
    logout(first, rec1)


def test_reconnect_replaces_a_live_session(
    demo, connection: Connection, consoles: list[KubevirtConsole]
) -> None:
    running(connection, "default", "testvm")
    console, rec = open_console(connection, "default", "testvm")
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.CONNECTED), what="connected")
    console.reconnect()
    wait_for(lambda: console.connections == 2 and rec.is_(ConsoleState.CONNECTED), what="again")
    assert not rec.seen(ConsoleState.DISCONNECTED), "a reconnect asked for is not a drop"


# ---- the VM stops and starts again ------------------------------------------------------


@pytest.fixture
def slow_demo() -> Iterator[Any]:
    """A demo whose VMs take ~2 s from start to Running, so the waiting is observable."""
    from tui.demo.runtime import DemoCluster

    cluster = DemoCluster(time_scale=0.4, seed_data=False).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def slow_connection(slow_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(slow_demo.write_kubeconfig(tmp_path / "kc")))
    yield conn
    conn.close()


def test_waits_for_a_started_vm_then_connects_by_itself(
    slow_connection: Connection, consoles: list[KubevirtConsole]
) -> None:
    name = f"wait-{uuid.uuid4().hex[:6]}"
    create_vm(slow_connection, name)
    vm_verb(slow_connection, name, "start")
    console, rec = open_console(slow_connection, "default", name, retry_interval=0.25)
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.CONNECTED), timeout=30, what="connected")
    waits = rec.seen(ConsoleState.WAITING)
    assert waits, "it waited for the VM"
    assert "giving up in 5:00" in waits[0].reason or "giving up in 4:5" in waits[0].reason
    assert not rec.seen(ConsoleState.DISCONNECTED)
    login(console, rec)


def test_stopped_vm_then_started_reconnects(
    slow_connection: Connection, consoles: list[KubevirtConsole]
) -> None:
    name = f"restart-{uuid.uuid4().hex[:6]}"
    create_vm(slow_connection, name)
    console, rec = open_console(slow_connection, "default", name, retry_interval=0.25)
    consoles.append(console)
    wait_for(lambda: rec.is_(ConsoleState.DISCONNECTED), what="refused")
    assert rec.last.reason == f"VM default/{name} has no running instance (is it started?)"

    vm_verb(slow_connection, name, "start")
    console.reconnect()  # the user's key
    wait_for(lambda: rec.is_(ConsoleState.CONNECTED), timeout=30, what="connected")
    login(console, rec)

    # The server drops the socket because the VM stops: reported, then waited out.
    vm_verb(slow_connection, name, "stop")
    wait_for(lambda: rec.seen(ConsoleState.DISCONNECTED, VM_STOPPED), what="VM stopped")
    wait_for(
        lambda: rec.seen(ConsoleState.WAITING, "waiting for it to run again"),
        what="waiting for the VM to run again",
    )
    assert not rec.seen(ConsoleState.DISCONNECTED, TAKEN_OVER)
    before = len(rec.data)
    vm_verb(slow_connection, name, "start")
    wait_for(lambda: console.connections == 2, timeout=30, what="reconnected by itself")
    assert rec.is_(ConsoleState.CONNECTED)
    console.write(b"\r")
    wait_for(lambda: "login:" in rec.text()[before:], what="a fresh login prompt")


# ---- network trouble --------------------------------------------------------------------


class TcpProxy:
    """A TCP relay in front of the demo server that can stop relaying (a network black hole)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.blackhole = False
        self.refuse = False  # new connections are closed at once (the server is down)
        self._writers: list[asyncio.StreamWriter] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None

    def start(self) -> TcpProxy:
        ready: Future[None] = Future()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set_result(None)
            async with self._server:
                await self._server.serve_forever()

        def run() -> None:
            try:
                asyncio.run(main())
            except (asyncio.CancelledError, RuntimeError):
                pass

        threading.Thread(target=run, name="tcp-proxy", daemon=True).start()
        ready.result(10)
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    while self.blackhole:  # hold the bytes: nothing passes, nothing closes
                        await asyncio.sleep(0.05)
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        self._writers += [writer, up_writer]
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def cut(self) -> None:
        """Drop every relayed connection at once (RST), as a server that goes away does."""
        assert self._loop is not None

        def abort() -> None:
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(abort)

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)


def test_missed_pongs_are_a_network_drop_and_reconnect(
    demo, tmp_path: Path, consoles: list[KubevirtConsole]
) -> None:
    proxy = TcpProxy(demo.host, demo.port).start()
    try:
        config = demo.kubeconfig()
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        path = tmp_path / "proxied"
        path.write_text(yaml.safe_dump(config))
        connection = Connection.from_kubeconfig(str(path))
        running(connection, "default", "testvm")
        console, rec = open_console(
            connection, "default", "testvm", heartbeat=0.4, backoff=(0.2, 1.0)
        )
        consoles.append(console)
        wait_for(lambda: rec.is_(ConsoleState.CONNECTED), what="connected")
        proxy.blackhole = True  # an idle-timeout middlebox or a dead link: silence
        wait_for(lambda: rec.seen(ConsoleState.DISCONNECTED, "network:"), what="network drop")
        drop = rec.seen(ConsoleState.DISCONNECTED, "network:")[0]
        assert "No PONG received" in drop.reason and drop.retry_in == 0.2
        proxy.blackhole = False
        wait_for(lambda: console.connections >= 2, timeout=15, what="reconnected")
        wait_for(lambda: rec.is_(ConsoleState.CONNECTED), what="connected again")
        login(console, rec)
        console.write(b"echo net-$((40+2))\r")
        until_text(console, rec, "net-42")
        logout(console, rec)
    finally:
        proxy.stop()


def test_server_dropping_the_socket_and_coming_back_reconnects(
    demo, tmp_path: Path, consoles: list[KubevirtConsole]
) -> None:
    """The API server goes away (every connection reset, new ones refused), then comes back:
    the drop is reported as the network's, retried with backoff, and the console reconnects
    by itself to the same guest."""
    proxy = TcpProxy(demo.host, demo.port).start()
    try:
        config = demo.kubeconfig()
        config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        path = tmp_path / "proxied"
        path.write_text(yaml.safe_dump(config))
        connection = Connection.from_kubeconfig(str(path))
        running(connection, "default", "testvm")
        console, rec = open_console(connection, "default", "testvm", backoff=(0.2, 1.0))
        consoles.append(console)
        wait_for(lambda: rec.is_(ConsoleState.CONNECTED), what="connected")
        login(console, rec)
        proxy.refuse = True
        proxy.cut()
        wait_for(lambda: rec.seen(ConsoleState.DISCONNECTED, "network:"), what="network drop")
        assert not rec.seen(ConsoleState.DISCONNECTED, TAKEN_OVER)
        time.sleep(1.0)  # a few refused attempts
        assert console.connections == 1
        proxy.refuse = False
        wait_for(lambda: console.connections >= 2, timeout=15, what="reconnected by itself")
        wait_for(lambda: rec.is_(ConsoleState.CONNECTED), what="connected again")
        console.write(b"echo back-$((40+2))\r")
        until_text(console, rec, "back-42")
        logout(console, rec)
    finally:
        proxy.stop()
