"""The node model against real libvirt: the test driver with the project's KubeVirt-style fixture.

`test:///<abs path>.xml` runs in-process (no daemon). The lost-daemon tests reach the same
test driver *through* an unprivileged session libvirtd (`test+unix:///<fixture>?socket=...`),
which they start and kill: a real connection, a real close callback, a real reconnect.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kvtest import skip_unless, wait_for
from libvirt_session import SessionDaemon, session_daemon

from tui.node import details
from tui.node.domains import domain_facts
from tui.node.model import NodeModel, SourceState

try:
    import libvirt
except ImportError:  # skip_unless skips (locally) or fails (CI) the tests that need it
    libvirt = None

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "node" / "kubevirt-node.xml"
URI = f"test://{FIXTURE}"


@pytest.fixture
def needs_libvirt() -> None:
    skip_unless(libvirt is not None, "libvirt-python is not installed (pip install '.[node]')")


@pytest.fixture
def model(needs_libvirt: None) -> Iterator[NodeModel]:
    m = NodeModel([URI], interval=0.5)
    m.start()
    yield m
    m.stop()


def rows_by_name(m: NodeModel) -> dict[str, object]:
    return {row.name: row for row in m.rows()}


def test_lists_kubevirt_and_plain_domains(model: NodeModel) -> None:
    rows = wait_for(lambda: rows_by_name(model) if len(model.rows()) == 4 else None, what="4 rows")
    web = rows["prod_web-01"]
    assert (web.namespace, web.vm, web.state_text) == ("prod", "web-01", "running")
    assert web.vmi_uid == "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e01"
    assert (web.vcpus, web.memory_kib) == (2, 2 * 1024 * 1024)
    db = rows["prod_db-01"]
    assert (db.memory_kib, db.max_memory_kib) == (6 * 1024**2, 8 * 1024**2)
    plain = rows["plain-libvirt-guest"]
    assert (plain.namespace, plain.vm, plain.vmi_uid) == ("", "plain-libvirt-guest", "")
    assert all(not row.stale and row.source == URI for row in rows.values())


def test_stats_give_rates_and_histories(model: NodeModel) -> None:
    def ready():
        row = rows_by_name(model).get("prod_db-01")
        return row if row is not None and len(row.cpu_history) >= 2 else None

    row = wait_for(ready, timeout=10, what="two stats samples")
    # The test driver's counters advance with the clock: 1 s of CPU per second in total.
    assert row.cpu == pytest.approx(25.0, rel=0.2)  # 4 vCPUs
    assert row.block_rate and row.block_rate > 0
    assert row.net_rate and row.net_rate > 0
    assert len(row.block_history) == len(row.cpu_history)
    source = model.sources_list()[0]
    assert source.refresh_seconds is not None and source.refresh_seconds < 1.0


def domain_of(m: NodeModel, name: str):
    """The live domain through the model's own connection (test:///FILE is per connection)."""
    row = rows_by_name(m)[name]
    return m.source(row.uri).domain(row.uuid)


def test_lifecycle_events_on_suspend_and_resume(model: NodeModel) -> None:
    wait_for(lambda: len(model.rows()) == 4, what="listed")
    dom = domain_of(model, "prod_web-01")
    try:
        dom.suspend()
        row = wait_for(
            lambda: (r := rows_by_name(model)["prod_web-01"]).state == 3 and r,
            what="paused row",
        )
        assert row.state_text.startswith("paused")
        wait_for(
            lambda: any("prod_web-01 suspended" in e.text for e in model.recent_events()),
            what="suspended event",
        )
        dom.resume()
        wait_for(lambda: rows_by_name(model)["prod_web-01"].state == 1, what="running again")
        assert any("prod_web-01 resumed" in e.text for e in model.recent_events())
    finally:
        if dom.state()[0] == 3:
            dom.resume()


def test_destroyed_domain_shows_shut_off_then_start(model: NodeModel) -> None:
    wait_for(lambda: len(model.rows()) == 4, what="listed")
    dom = domain_of(model, "dev_build-box")
    try:
        dom.destroy()
        row = wait_for(
            lambda: (r := rows_by_name(model)["dev_build-box"]).state == 5 and r,
            what="shut off",
        )
        assert row.running_since is None and row.cpu is None
        dom.create()
        row = wait_for(
            lambda: (r := rows_by_name(model)["dev_build-box"]).state == 1 and r,
            what="running",
        )
        assert row.since_exact  # the started event told us when
    finally:
        if not dom.isActive():
            dom.create()


def test_details_against_the_test_driver(needs_libvirt: None) -> None:
    conn = libvirt.open(URI)
    try:
        dom = conn.lookupByName("prod_web-01")
        facts = domain_facts(details.xml(dom))
        assert facts.uid.endswith("9e01")
        overview = dict(details.overview(dom, facts, launcher_pid=4242, uri=URI).rows)
        assert overview["VMI uid"] == facts.uid and overview["Launcher pid"] == "4242"
        blocks = details.block(dom, facts)
        assert [s.title.split()[0] for s in blocks] == ["vda", "vdb"]
        assert dict(blocks[0].rows)["Capacity"].endswith("GiB")
        nics = details.interfaces(dom, facts)
        assert dict(nics[0].rows)["MAC"] == "02:6f:a1:00:00:01"
        assert any("(lease)" in value for _, value in nics[0].rows)
        # The test driver has no jobs, agent or monitor: each says so, none raises.
        assert details.job(dom).error.startswith("not supported by this driver")
        assert details.guest_agent(dom).error.startswith("not supported by this driver")
        for section in details.monitor(dom):
            assert section.error.startswith("not supported by this driver")
        target = details.console_target(facts, launcher_pid=None)
        assert target.kind == "unix" and target.log.endswith("virt-serial0-log")
        assert "no socket" in target.note
        plain = domain_facts(details.xml(conn.lookupByName("plain-libvirt-guest")))
        assert details.console_target(plain, launcher_pid=None).kind == "libvirt"
    finally:
        conn.close()


def test_bad_uri_is_a_lost_source_with_the_reason(needs_libvirt: None) -> None:
    m = NodeModel(["test:///nonexistent/kvtui-node.xml"], interval=0.5)
    m.start()
    try:
        source = m.sources_list()[0]
        wait_for(lambda: source.state is SourceState.LOST, what="lost")
        assert "nonexistent" in source.error or "No such file" in source.error
        assert m.rows() == []
    finally:
        m.stop()


# ---- a real daemon that goes away --------------------------------------------------------------


@pytest.fixture
def daemon(needs_libvirt: None) -> Iterator[SessionDaemon]:
    with session_daemon(FIXTURE) as d:
        yield d


def test_daemon_that_vanishes_greys_its_domains_and_comes_back(daemon: SessionDaemon) -> None:
    m = NodeModel([daemon.uri], interval=0.5)
    m.start()
    try:
        wait_for(lambda: len(m.rows()) == 4, what="4 domains over the daemon")
        source = m.sources_list()[0]
        assert not any(row.stale for row in m.rows())

        daemon.kill()
        wait_for(lambda: source.state is SourceState.LOST, what="source lost")
        rows = m.rows()
        assert len(rows) == 4 and all(row.stale for row in rows)  # kept, greyed
        assert source.error
        assert any("went away" in e.text or "lost" in e.text for e in m.recent_events())
        assert m.lost_sources() == [source]

        daemon.start()
        wait_for(lambda: source.state is SourceState.CONNECTED, timeout=20, what="reconnected")
        wait_for(lambda: m.rows() and not any(row.stale for row in m.rows()), what="fresh rows")
        assert any("connected again" in e.text for e in m.recent_events())
    finally:
        m.stop()


def test_events_arrive_over_a_remote_connection(daemon: SessionDaemon) -> None:
    m = NodeModel([daemon.uri], interval=30)  # stats too slow to matter: only events
    m.start()
    try:
        wait_for(lambda: len(m.rows()) == 4, what="listed")
        domain_of(m, "prod_db-01").suspend()
        started = time.monotonic()
        wait_for(lambda: rows_by_name(m)["prod_db-01"].state == 3, what="paused by the event")
        assert time.monotonic() - started < 5
        assert any("prod_db-01 suspended" in e.text for e in m.recent_events())
    finally:
        m.stop()


def test_host_daemon_named_with_a_local_uri_is_not_listed_twice(
    needs_libvirt: None, tmp_path: Path
) -> None:
    import os
    import stat as stat_module

    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    (proc / "self" / "ns" / "mnt").symlink_to("mnt:[1]")
    for pid, mnt in ((1, "mnt:[1]"), (2, "mnt:[2]")):
        (proc / str(pid) / "ns").mkdir(parents=True)
        (proc / str(pid) / "ns" / "mnt").symlink_to(mnt)
        (proc / str(pid) / "comm").write_text("libvirtd\n")
        (proc / str(pid) / "status").write_text("Uid:\t0\t0\t0\t0\n")
        sock = proc / str(pid) / "root" / "run" / "libvirt" / "libvirt-sock"
        sock.parent.mkdir(parents=True)
        os.mknod(sock, 0o600 | stat_module.S_IFSOCK)

    def sources(uris: list[str]) -> list[str]:
        m = NodeModel(uris, discover_launchers=True, proc_root=proc, interval=30)
        m.start()
        try:
            wait_for(lambda: m.discovery is not None, what="the first scan")
            return sorted(s.label for s in m.sources_list())
        finally:
            m.stop()

    assert sources([]) == ["host libvirtd", "launcher 2"]
    assert sources(["qemu:///system"]) == ["launcher 2", "qemu:///system"]
