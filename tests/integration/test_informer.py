"""The informer against the demo API server: list+watch, resume, relist on 410, reconnect."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kvtest import TEST_TIME_SCALE, wait_for

from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.cluster.informer import Informer, InformerEvent, InformerState
from tui.cluster.operations import Operations

NS = "vm-dev"


def nad(name: str, namespace: str = NS, **labels: str) -> dict:
    """A NetworkAttachmentDefinition: no controller touches it, so every event is ours."""
    return {
        "apiVersion": "k8s.cni.cncf.io/v1",
        "kind": "NetworkAttachmentDefinition",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"config": '{"cniVersion": "0.3.1", "type": "bridge", "bridge": "br0"}'},
    }


class Recorder:
    """A listener that remembers every batch it was called with."""

    def __init__(self) -> None:
        self.batches: list[list[InformerEvent]] = []
        self.lock = threading.Lock()

    def __call__(self, batch: list[InformerEvent]) -> None:
        with self.lock:
            self.batches.append(list(batch))

    @property
    def events(self) -> list[InformerEvent]:
        with self.lock:
            return [e for b in self.batches for e in b]

    def changes(self) -> list[tuple[str, str]]:
        """(type, name) of the ADDED/MODIFIED/DELETED events so far."""
        return [
            (e.type, e.obj["metadata"]["name"])
            for e in self.events
            if e.type in ("ADDED", "MODIFIED", "DELETED")
        ]

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def clear(self) -> None:
        with self.lock:
            self.batches.clear()


def connect(demo, tmp_path: Path, context: str | None = None) -> Connection:
    return Connection.from_kubeconfig(str(demo.write_kubeconfig(tmp_path / "config")), context)


def list_requests(demo, kind: K.Kind) -> int:
    """How many (non-watch) list requests the server received for the kind."""
    return sum(1 for r in demo.requests if r.verb == "list" and r.path.endswith("/" + kind.plural))


def watch_requests(demo, kind: K.Kind) -> int:
    return sum(1 for r in demo.requests if r.verb == "watch" and r.path.endswith("/" + kind.plural))


@pytest.fixture
def conn(fresh_demo, tmp_path) -> Iterator[Connection]:
    c = connect(fresh_demo, tmp_path)
    yield c
    c.close()


@pytest.fixture
def informers() -> Iterator[list[Informer]]:
    """Informers registered here are stopped after the test, whatever happened."""
    made: list[Informer] = []
    yield made
    for informer in made:
        informer.stop()


def start(informers: list[Informer], *args, **kwargs) -> tuple[Informer, Recorder]:
    kwargs.setdefault("backoff_initial", 0.05)
    kwargs.setdefault("backoff_max", 0.5)
    informer = Informer(*args, **kwargs)
    recorder = Recorder()
    informer.add_listener(recorder)
    informers.append(informer)
    informer.start()
    assert informer.wait_synced(10), f"never synced: {informer.state} {informer.last_error}"
    return informer, recorder


def test_list_then_watch_sees_added_modified_deleted(conn, fresh_demo, informers):
    ops = Operations(conn)
    ops.create(K.NADS, nad("before"))
    informer, rec = start(informers, conn.api_client, K.NADS, NS)

    wait_for(lambda: "SYNCED" in rec.types(), what="the first SYNCED")
    assert rec.changes() == [("ADDED", "before")]
    first_sync = rec.types().index("SYNCED")
    assert rec.types()[first_sync - 1] in ("ADDED", "STATE")
    assert [i["metadata"]["name"] for i in informer.items()] == ["before"]

    rec.clear()
    ops.create(K.NADS, nad("after"))
    ops.patch_merge(K.NADS, NS, "before", {"metadata": {"labels": {"touched": "yes"}}})
    ops.delete(K.NADS, NS, "after")
    wait_for(lambda: len(rec.changes()) == 3, what="three changes")
    assert rec.changes() == [("ADDED", "after"), ("MODIFIED", "before"), ("DELETED", "after")]
    assert informer.get(NS, "before")["metadata"]["labels"] == {"touched": "yes"}
    assert informer.get(NS, "after") is None
    assert informer.state is InformerState.SYNCED
    assert all(e.state is InformerState.SYNCED for e in rec.events)
    # Objects are JSON as received, with the resourceVersion the informer tracks.
    assert isinstance(informer.items()[0], dict)
    assert int(informer.resource_version) >= int(
        informer.get(NS, "before")["metadata"]["resourceVersion"]
    )


def test_every_kind_works_core_and_cluster_scoped(conn, informers):
    informer, _ = start(informers, conn.api_client, K.NAMESPACES)
    names = {o["metadata"]["name"] for o in informer.items()}
    assert {"default", "vm-prod", "vm-dev"} <= names
    # Core list items come without kind/apiVersion; the cache fills them in.
    assert {o["kind"] for o in informer.items()} == {"Namespace"}
    nodes, _ = start(informers, conn, K.NODES)  # a Connection is accepted as well
    assert nodes.items()


def test_all_namespaces_with_a_label_selector(conn, informers):
    ops = Operations(conn)
    ops.create(K.NADS, nad("a", "vm-dev", team="red"))
    ops.create(K.NADS, nad("b", "vm-prod", team="red"))
    ops.create(K.NADS, nad("c", "vm-prod", team="blue"))
    informer, rec = start(informers, conn.api_client, K.NADS, label_selector="team=red")
    assert sorted(o["metadata"]["name"] for o in informer.items()) == ["a", "b"]
    ops.create(K.NADS, nad("d", "default", team="red"))
    ops.create(K.NADS, nad("e", "default", team="blue"))
    wait_for(lambda: informer.get("default", "d") is not None, what="d")
    time.sleep(0.2)
    assert informer.get("default", "e") is None


def test_bookmarks_move_the_resource_version_silently(conn, fresh_demo, informers):
    # fresh_demo sends a bookmark every 0.2 s; changes elsewhere bump the global version.
    informer, rec = start(informers, conn.api_client, K.NADS, "default")
    before = int(informer.resource_version)
    Operations(conn).create(K.NADS, nad("elsewhere", "vm-prod"))
    wait_for(lambda: int(informer.resource_version) > before, timeout=5, what="a bookmark")
    assert rec.changes() == []
    assert "BOOKMARK" not in rec.types()


def test_dropped_stream_resumes_without_relisting(conn, fresh_demo, informers):
    ops = Operations(conn)
    informer, rec = start(informers, conn.api_client, K.NADS, NS)
    assert list_requests(fresh_demo, K.NADS) == 1
    watches = watch_requests(fresh_demo, K.NADS)

    # Server side: every watch stream ends (as on an API server restart or an LB timeout).
    fresh_demo.drop_watches()
    ops.create(K.NADS, nad("during-drop-1"))
    # Client side: the socket is cut mid-stream (as a network failure would).
    wait_for(lambda: informer.get(NS, "during-drop-1"), what="the first change")
    informer.drop_connection()
    ops.create(K.NADS, nad("during-drop-2"))
    ops.create(K.NADS, nad("during-drop-3"))

    wait_for(lambda: len(rec.changes()) == 3, what="three ADDED events")
    assert rec.changes() == [("ADDED", f"during-drop-{i}") for i in (1, 2, 3)]
    assert list_requests(fresh_demo, K.NADS) == 1, "resumed by relisting"
    assert informer.list_count == 1
    assert watch_requests(fresh_demo, K.NADS) >= watches + 2
    assert rec.types().count("SYNCED") == 1
    assert informer.state is InformerState.SYNCED


def test_watch_timeout_resumes_from_the_last_version(conn, fresh_demo, informers):
    informer, rec = start(informers, conn.api_client, K.NADS, NS, watch_timeout=1)
    time.sleep(2.5)
    Operations(conn).create(K.NADS, nad("late"))
    wait_for(lambda: informer.get(NS, "late"), what="the change after two timeouts")
    assert informer.watch_count >= 3
    assert list_requests(fresh_demo, K.NADS) == 1
    # Each watch asked for bookmarks and resumed from a version, never from scratch.
    watches = [r for r in fresh_demo.requests if r.verb == "watch"]
    assert all("allowWatchBookmarks=true" in r.query for r in watches)
    assert all("resourceVersion=" in r.query for r in watches)


@pytest.fixture
def short_history() -> Iterator:
    """A demo cluster that remembers only 20 events (older watches get 410)."""
    from tui.demo.runtime import DemoCluster

    cluster = DemoCluster(
        time_scale=TEST_TIME_SCALE, seed_data=False, history_limit=20, bookmark_interval=0.2
    ).start()
    yield cluster
    cluster.stop()


def test_410_relists_and_reports_only_the_differences(short_history, tmp_path, informers):
    conn = connect(short_history, tmp_path)
    ops = Operations(conn)
    for name in ("keep", "change", "remove"):
        ops.create(K.NADS, nad(name))
    informer, rec = start(informers, conn.api_client, K.NADS, NS)
    old_rv = informer.resource_version

    informer.pause()
    wait_for(lambda: informer.state is InformerState.PAUSED, what="paused")
    ops.patch_merge(K.NADS, NS, "change", {"metadata": {"labels": {"v": "2"}}})
    ops.delete(K.NADS, NS, "remove")
    ops.create(K.NADS, nad("new"))
    for i in range(25):  # push the changes above out of the server's history
        ops.create(K.NADS, nad(f"noise-{i}", "vm-prod"))
    rec.clear()
    informer.resume()

    wait_for(lambda: "SYNCED" in rec.types(), what="SYNCED after the relist")
    assert sorted(rec.changes()) == [
        ("ADDED", "new"),
        ("DELETED", "remove"),
        ("MODIFIED", "change"),
    ]
    assert informer.list_count == 2
    assert list_requests(short_history, K.NADS) == 2
    assert int(informer.resource_version) > int(old_rv)
    assert sorted(o["metadata"]["name"] for o in informer.items()) == ["change", "keep", "new"]
    assert informer.state is InformerState.SYNCED
    # And it watches on from the new list: a later change arrives as usual.
    rec.clear()
    ops.create(K.NADS, nad("after-relist"))
    wait_for(lambda: rec.changes() == [("ADDED", "after-relist")], what="the next change")


def test_reconnects_after_the_server_restarts_on_the_same_port(tmp_path, informers):
    from tui.demo.runtime import DemoCluster

    cluster = DemoCluster(time_scale=TEST_TIME_SCALE, seed_data=False).start()
    try:
        conn = connect(cluster, tmp_path)
        informer, rec = start(informers, conn.api_client, K.NADS, NS)
        port = cluster.port

        began = time.monotonic()
        cluster.stop()
        # Shutdown stops listening before it ends the watches, so the informer's immediate
        # re-watch finds the door closed instead of a stream that would hold shutdown up.
        assert time.monotonic() - began < 5
        wait_for(lambda: informer.state is InformerState.DISCONNECTED, what="DISCONNECTED")
        assert informer.last_error is not None and informer.last_error.transport
        assert str(informer.last_error) == (
            f"Cannot reach the cluster at {cluster.url}: connection refused"
        )
        wait_for(
            lambda: any(e.state is InformerState.DISCONNECTED for e in rec.events),
            what="a STATE event saying DISCONNECTED",
        )
        disconnected = next(e for e in rec.events if e.state is InformerState.DISCONNECTED)
        assert disconnected.type == "STATE" and disconnected.error.transport

        cluster.start()
        assert cluster.port == port
        wait_for(
            lambda: [e.state for e in rec.events if e.type == "STATE"][-1] is InformerState.SYNCED,
            timeout=10,
            what="a STATE event saying SYNCED again",
        )
        assert informer.state is InformerState.SYNCED and informer.last_error is None
        Operations(conn).create(K.NADS, nad("after-restart"))
        wait_for(lambda: informer.get(NS, "after-restart"), what="a change after the restart")
    finally:
        cluster.stop()


def test_a_burst_of_1000_changes_arrives_in_few_batches(conn, fresh_demo, informers):
    informer, rec = start(informers, conn.api_client, K.NADS, NS)
    rec.clear()

    def burst(store):
        for i in range(1000):
            store.create(K.NADS, nad(f"burst-{i:04d}"))

    fresh_demo.call(burst, timeout=60)
    wait_for(lambda: len(rec.changes()) == 1000, timeout=30, what="1000 ADDED events")
    assert len(informer.items()) == 1000
    assert len(rec.batches) <= 50, f"{len(rec.batches)} listener calls for 1000 events"
    names = [n for _, n in rec.changes()]
    assert names == [f"burst-{i:04d}" for i in range(1000)]  # in order, none twice


def test_stop_returns_quickly_and_for_good(conn, informers):
    informer, rec = start(informers, conn.api_client, K.NADS, NS, watch_timeout=300)
    t0 = time.monotonic()
    informer.stop()
    assert time.monotonic() - t0 < 1.0
    assert informer.state is InformerState.STOPPED
    assert not informer._thread.is_alive()
    wait_for(lambda: rec.events and rec.events[-1].type == "STATE", what="the STOPPED event")
    assert rec.events[-1].state is InformerState.STOPPED


def test_a_forbidden_namespace_is_an_error_state(fresh_demo, tmp_path, informers):
    viewer = connect(fresh_demo, tmp_path, "kvtui-demo-viewer")
    informer = Informer(viewer.api_client, K.VMS, "vm-prod", backoff_initial=0.05, backoff_max=0.2)
    rec = Recorder()
    informer.add_listener(rec)
    informers.append(informer)
    informer.start()
    wait_for(lambda: informer.state is InformerState.ERROR, what="ERROR")
    assert str(informer.last_error) == "Forbidden: you may not list virtualmachines in vm-prod"
    assert not informer.items()
    wait_for(lambda: "STATE" in rec.types(), what="the STATE event")
    state_event = next(e for e in rec.events if e.type == "STATE")
    assert state_event.error is not None and state_event.error.status == 403


def test_a_late_listener_gets_the_cache_first_then_changes_once(conn, informers):
    ops = Operations(conn)
    ops.create(K.NADS, nad("one"))
    ops.create(K.NADS, nad("two"))
    informer, _ = start(informers, conn.api_client, K.NADS, NS)
    late = Recorder()
    unsubscribe = informer.add_listener(late)
    ops.create(K.NADS, nad("three"))
    wait_for(lambda: ("ADDED", "three") in late.changes(), what="the live change")
    assert sorted(late.changes()) == [("ADDED", "one"), ("ADDED", "three"), ("ADDED", "two")]
    assert late.types().count("SYNCED") == 1
    unsubscribe()
    ops.create(K.NADS, nad("four"))
    wait_for(lambda: informer.get(NS, "four"), what="four")
    time.sleep(0.2)
    assert ("ADDED", "four") not in late.changes()


def test_vms_and_their_controllers(conn, informers):
    """The kind kvtui exists for: a VM started through the API shows up with its status."""
    from test_cluster_operations import vm_manifest

    ops = Operations(conn)
    vm_informer, vm_rec = start(informers, conn.api_client, K.VMS, NS)
    vmi_informer, vmi_rec = start(informers, conn.api_client, K.VMIS, NS)
    ops.create(K.VMS, vm_manifest("watched"))
    wait_for(lambda: vm_informer.get(NS, "watched"), what="the VM")
    ops.start(NS, "watched")
    wait_for(
        lambda: (vmi_informer.get(NS, "watched") or {}).get("status", {}).get("phase") == "Running",
        timeout=20,
        what="the VMI Running",
    )
    wait_for(
        lambda: (
            (vm_informer.get(NS, "watched") or {}).get("status", {}).get("printableStatus")
            == "Running"
        ),
        timeout=20,
        what="the VM Running",
    )
    assert ("ADDED", "watched") in vmi_rec.changes()
    assert ("MODIFIED", "watched") in vm_rec.changes()
