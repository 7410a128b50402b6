"""Operations and Connection against the demo API server, over HTTP, through the real client."""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import kvtest
import pytest
import yaml
from kvtest import wait_for

from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.cluster.errors import ClusterError
from tui.cluster.operations import Operations, subresource_path

NS = "vm-dev"
MANIFESTS = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


def vm_manifest(name: str, run_strategy: str = "Halted", **labels: str) -> dict:
    """A small valid VM in this module's namespace."""
    return kvtest.vm_manifest(name, namespace=NS, run_strategy=run_strategy, labels=labels)


@pytest.fixture
def conn(fresh_demo, tmp_path) -> Iterator[Connection]:
    c = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield c
    c.close()


@pytest.fixture
def ops(conn) -> Operations:
    return Operations(conn)


@pytest.fixture
def viewer(conn) -> Operations:
    return Operations(conn.switch("kvtui-demo-viewer"))


# -- connection -------------------------------------------------------------------------------


def test_connection_from_the_demo_kubeconfig(demo, kubeconfig):
    conn = Connection.from_kubeconfig(str(kubeconfig))
    assert conn.context == "kvtui-demo"
    assert conn.server == demo.url
    assert set(conn.contexts()) == {"kvtui-demo", "kvtui-demo-viewer"}
    assert conn.version()["gitVersion"].startswith("v1.")
    assert (conn.kubevirt_version() or "").startswith("v1.")
    viewer = conn.switch("kvtui-demo-viewer")
    assert (viewer.context, viewer.namespace) == ("kvtui-demo-viewer", "vm-dev")
    assert viewer.auth_headers() != conn.auth_headers()
    path = subresource_path("virtualmachineinstances", "vm-dev", "x", "console")
    ws_base = demo.url.replace("https://", "wss://").replace("http://", "ws://")
    assert conn.ws_url(path) == ws_base + path
    if demo.url.startswith("https://"):
        # The kubeconfig's CA is what the console's websocket will trust too.
        parts = urlsplit(demo.url)
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as plain:
            with conn.ssl_context().wrap_socket(plain, server_hostname=parts.hostname) as tls:
                assert tls.version()


def test_refused_credentials_are_unauthorized(demo, tmp_path):
    config = yaml.safe_load(demo.write_kubeconfig(tmp_path / "config").read_text())
    for user in config["users"]:
        user["user"]["token"] = "not-a-valid-token"
    (tmp_path / "bad").write_text(yaml.safe_dump(config))
    ops = Operations(Connection.from_kubeconfig(str(tmp_path / "bad")))
    with pytest.raises(ClusterError) as info:
        ops.list(K.VMS, NS)
    assert info.value.status == 401
    assert info.value.title == "Unauthorized"
    assert "not-a-valid-token" not in str(info.value) + info.value.detail


# -- CRUD -----------------------------------------------------------------------------------


def test_create_get_list_replace_patch_delete(ops):
    created = ops.create(K.VMS, vm_manifest("crud", tier="web"))
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    assert ops.get(K.VMS, NS, "crud")["metadata"]["uid"] == created["metadata"]["uid"]

    ops.create(K.VMS, vm_manifest("other", tier="db"))
    listed = ops.list(K.VMS, NS, label_selector="tier=web")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["crud"]
    assert listed["kind"] == "VirtualMachineList" and listed["metadata"]["resourceVersion"]
    everywhere = ops.list("vm")  # all namespaces, kind by short name
    assert {"crud", "other"} <= {i["metadata"]["name"] for i in everywhere["items"]}

    # Load, edit, write back. The VM controller writes status after a create, as
    # virt-controller does, so the version from `create` is stale: wait for it to settle.
    wait_for(lambda: _printable(ops, "crud") == "Stopped", what="the controller's status")
    edited = ops.get(K.VMS, NS, "crud")
    edited["metadata"]["labels"]["tier"] = "api"
    replaced = ops.replace(K.VMS, edited)
    assert replaced["metadata"]["labels"]["tier"] == "api"
    assert replaced["metadata"]["resourceVersion"] != edited["metadata"]["resourceVersion"]

    merged = ops.patch_merge(
        K.VMS,
        NS,
        "crud",
        {"metadata": {"annotations": {"note": "merged"}}},
        resource_version=replaced["metadata"]["resourceVersion"],
    )
    assert merged["metadata"]["annotations"] == {"note": "merged"}

    patched = ops.patch_json(
        K.VMS,
        NS,
        "crud",
        [
            {"op": "test", "path": "/spec/runStrategy", "value": "Halted"},
            {"op": "add", "path": "/metadata/labels/json", "value": "patched"},
        ],
    )
    assert patched["metadata"]["labels"]["json"] == "patched"
    assert patched["metadata"]["annotations"] == {"note": "merged"}

    ops.delete(K.VMS, NS, "crud")
    wait_for(lambda: not _exists(ops, K.VMS, NS, "crud"), what="the VM gone")


def _exists(ops: Operations, kind, ns, name) -> bool:
    try:
        ops.get(kind, ns, name)
    except ClusterError as err:
        if err.is_not_found:
            return False
        raise
    return True


def test_stale_replace_is_a_conflict(ops):
    loaded = ops.create(K.VMS, vm_manifest("stale"))
    ops.patch_merge(K.VMS, NS, "stale", {"metadata": {"labels": {"by": "someone-else"}}})
    mine = copy.deepcopy(loaded)
    mine["metadata"]["labels"]["by"] = "me"
    with pytest.raises(ClusterError) as info:
        ops.replace(K.VMS, mine)
    err = info.value
    assert (err.title, err.status) == ("Conflict", 409)
    assert str(err) == (
        'Conflict: VirtualMachine "stale" was changed by someone else since it was loaded; '
        "reload it and apply the change again"
    )
    assert "the object has been modified" in err.detail
    # A merge patch carrying the stale version is refused the same way; nothing was written.
    with pytest.raises(ClusterError, match="was changed by someone else"):
        ops.patch_merge(
            K.VMS,
            NS,
            "stale",
            {"metadata": {"labels": {"by": "me"}}},
            resource_version=loaded["metadata"]["resourceVersion"],
        )
    assert ops.get(K.VMS, NS, "stale")["metadata"]["labels"]["by"] == "someone-else"


def test_preconditioned_delete_is_refused_when_the_object_changed(ops):
    loaded = ops.create(K.VMS, vm_manifest("precondition"))
    ops.patch_merge(K.VMS, NS, "precondition", {"metadata": {"labels": {"x": "y"}}})
    with pytest.raises(ClusterError) as info:
        ops.delete(
            K.VMS, NS, "precondition", preconditions_rv=loaded["metadata"]["resourceVersion"]
        )
    assert info.value.status == 409
    assert _exists(ops, K.VMS, NS, "precondition")


def test_already_exists(ops):
    ops.create(K.VMS, vm_manifest("twin"))
    with pytest.raises(ClusterError) as info:
        ops.create(K.VMS, vm_manifest("twin"))
    assert info.value.title == "Already exists"
    assert str(info.value) == 'Already exists: virtualmachines.kubevirt.io "twin" already exists'


def test_invalid_vm_names_the_fields(ops):
    bad = vm_manifest("no-network")
    bad["spec"]["template"]["spec"]["networks"] = []
    with pytest.raises(ClusterError) as info:
        ops.create(K.VMS, bad)
    err = info.value
    assert (err.title, err.status, err.reason) == ("Invalid", 422, "Invalid")
    assert err.causes, err.detail
    fields = [c.field for c in err.causes]
    assert any(f.startswith("spec.template.spec.domain.devices.interfaces[0]") for f in fields), (
        fields
    )
    assert all(c.type and c.message for c in err.causes)
    assert str(err).startswith('Invalid: VirtualMachine "no-network" is invalid: ')
    assert not _exists(ops, K.VMS, NS, "no-network")


def test_not_found_is_a_status(ops):
    with pytest.raises(ClusterError) as info:
        ops.get(K.VMS, NS, "ghost")
    err = info.value
    assert err.is_not_found and err.reason == "NotFound"
    assert str(err) == 'Not found: VirtualMachine "ghost" not found (virtualmachines in vm-dev)'
    assert err.detail == 'virtualmachines.kubevirt.io "ghost" not found'


def test_viewer_is_forbidden_in_vm_prod_and_read_only_elsewhere(ops, viewer):
    ops.create(K.VMS, vm_manifest("watched"))
    assert viewer.get(K.VMS, NS, "watched")["metadata"]["name"] == "watched"
    with pytest.raises(ClusterError) as info:
        viewer.list(K.VMS, "vm-prod")
    assert str(info.value) == "Forbidden: you may not list virtualmachines in vm-prod"
    assert (
        info.value.status == 403 and 'cannot list resource "virtualmachines"' in info.value.detail
    )
    with pytest.raises(ClusterError) as info:
        viewer.delete(K.VMS, NS, "watched")
    assert str(info.value) == "Forbidden: you may not delete virtualmachines in vm-dev"
    with pytest.raises(ClusterError) as info:
        viewer.start(NS, "watched")
    assert str(info.value) == "Forbidden: you may not start virtualmachines in vm-dev"

    assert viewer.can_i("get", K.VMS, NS) is True
    assert viewer.can_i("delete", K.VMS, NS) is False
    assert viewer.can_i("list", K.VMS, "vm-prod") is False
    assert viewer.can_i("update", K.VMS, NS, subresource="start") is False
    assert ops.can_i("delete", K.VMS, "vm-prod") is True


def test_dry_run_creates_nothing(ops):
    answer = ops.create(K.VMS, vm_manifest("dry"), dry_run=True)
    assert answer["metadata"]["name"] == "dry"
    assert not _exists(ops, K.VMS, NS, "dry")
    ops.create(K.VMS, vm_manifest("real"))
    ops.delete(K.VMS, NS, "real", dry_run=True)
    ops.patch_merge(K.VMS, NS, "real", {"metadata": {"labels": {"dry": "yes"}}}, dry_run=True)
    ops.patch_json(
        K.VMS, NS, "real", [{"op": "remove", "path": "/metadata/labels/app"}], dry_run=True
    )
    after = ops.get(K.VMS, NS, "real")
    assert "dry" not in after["metadata"]["labels"] and after["metadata"]["labels"]["app"] == "real"
    # A dry run still goes through admission: an invalid object is refused.
    bad = vm_manifest("dry-bad")
    del bad["spec"]["runStrategy"]
    with pytest.raises(ClusterError) as info:
        ops.create(K.VMS, bad, dry_run=True)
    assert info.value.status == 422


def test_field_validation_and_warnings(ops):
    odd = vm_manifest("odd")
    odd["spec"]["template"]["spec"]["domain"]["frobnicate"] = True
    created = ops.create(K.VMS, odd, field_validation="Warn")
    assert created["metadata"]["name"] == "odd"
    assert any("frobnicate" in w for w in ops.last_warnings), ops.last_warnings
    strict = vm_manifest("strict")
    strict["spec"]["template"]["spec"]["domain"]["frobnicate"] = True
    with pytest.raises(ClusterError) as info:
        ops.create(K.VMS, strict, field_validation="Strict")
    assert info.value.status == 400
    assert 'unknown field "spec.template.spec.domain.frobnicate"' in str(info.value)
    ops.get(K.VMS, NS, "odd")
    assert ops.last_warnings == []


# -- KubeVirt subresources --------------------------------------------------------------------


def _phase(ops: Operations, name: str) -> str | None:
    try:
        return (ops.get(K.VMIS, NS, name).get("status") or {}).get("phase")
    except ClusterError as err:
        if err.is_not_found:
            return None
        raise


def _printable(ops: Operations, name: str) -> str | None:
    return (ops.get(K.VMS, NS, name).get("status") or {}).get("printableStatus")


def test_start_pause_stop_and_their_conflicts(ops, conn):
    ops.create(K.VMS, vm_manifest("life"))
    # The answers themselves: 202 with no body for VM verbs, 200 for VMI verbs.
    answer = conn.request("PUT", subresource_path("virtualmachines", NS, "life", "start"), body={})
    assert answer.status == 202 and answer.json() is None
    wait_for(lambda: _phase(ops, "life") == "Running", timeout=20, what="the VMI Running")

    with pytest.raises(ClusterError) as info:
        ops.start(NS, "life")
    assert (info.value.title, info.value.status) == ("Conflict", 409)
    assert str(info.value).startswith("Conflict: cannot start life: ")

    assert ops.pause(NS, "life") is None
    wait_for(lambda: _printable(ops, "life") == "Paused", timeout=20, what="Paused")
    with pytest.raises(ClusterError) as info:
        ops.pause(NS, "life")
    assert info.value.status == 409
    assert "VMI is already paused" in str(info.value)
    answer = conn.request(
        "PUT", subresource_path("virtualmachineinstances", NS, "life", "unpause"), body={}
    )
    assert answer.status == 200
    wait_for(lambda: _printable(ops, "life") == "Running", timeout=20, what="Running again")

    assert ops.stop(NS, "life") is None
    wait_for(lambda: _phase(ops, "life") is None, timeout=20, what="the VMI gone")
    with pytest.raises(ClusterError) as info:
        ops.stop(NS, "life")
    assert str(info.value) == "Conflict: cannot stop life: VM is not running"


def test_restart_and_migrate(ops):
    ops.create(K.VMS, vm_manifest("mover", run_strategy="Always"))
    wait_for(lambda: _phase(ops, "mover") == "Running", timeout=20, what="Running")
    uid = ops.get(K.VMIS, NS, "mover")["metadata"]["uid"]
    assert ops.restart(NS, "mover") is None
    wait_for(
        lambda: (
            _phase(ops, "mover") == "Running"
            and ops.get(K.VMIS, NS, "mover")["metadata"]["uid"] != uid
        ),
        timeout=20,
        what="a new VMI",
    )
    assert ops.migrate(NS, "mover") is None
    migrations = wait_for(lambda: ops.list(K.VMIMS, NS)["items"], what="a migration object")
    assert migrations[0]["spec"]["vmiName"] == "mover"
    ops.cancel_migration(NS, migrations[0]["metadata"]["name"])


def test_subresources_of_a_missing_vm_are_not_found(ops):
    with pytest.raises(ClusterError) as info:
        ops.start(NS, "ghost")
    assert info.value.status == 404
    # KubeVirt's migrate looks up the VMI of a stopped VM and reports *that* missing.
    ops.create(K.VMS, vm_manifest("halted"))
    with pytest.raises(ClusterError) as info:
        ops.migrate(NS, "halted")
    assert str(info.value) == 'Not found: virtualmachineinstance.kubevirt.io "halted" not found'
    with pytest.raises(ClusterError) as info:
        ops.pause(NS, "halted")
    assert info.value.status == 404


def test_create_helpers(ops):
    ops.create(K.VMS, vm_manifest("source"))
    snap = ops.snapshot(NS, "source")
    assert snap["metadata"]["name"].startswith("source-snapshot-")
    assert snap["spec"]["source"] == {
        "apiGroup": "kubevirt.io",
        "kind": "VirtualMachine",
        "name": "source",
    }
    restore = ops.restore(NS, "source", snap["metadata"]["name"])
    assert restore["spec"]["virtualMachineSnapshotName"] == snap["metadata"]["name"]
    clone = ops.clone(NS, "source", "copy")
    assert clone["spec"]["target"]["name"] == "copy"
    export = ops.export(NS, "source", name="source-export")
    assert export["metadata"]["name"] == "source-export"


def test_process_template_even_read_only(conn):
    template = yaml.safe_load((MANIFESTS / "04-template-fedora-server-small.yaml").read_text())
    ops = Operations(conn, read_only=True)
    processed = ops.process_template(NS, template)
    assert processed["kind"] == "Template"
    vm = processed["objects"][0]
    assert vm["kind"] == "VirtualMachine"
    assert "${" not in str(vm["metadata"]["name"])
    assert ops.list(K.VMS, NS)["items"] == []  # nothing was created


def test_read_only_sends_no_mutating_request(conn, fresh_demo):
    ops = Operations(conn, read_only=True)
    before = len(fresh_demo.requests)
    for call in (
        lambda: ops.create(K.VMS, vm_manifest("ro"), dry_run=True),
        lambda: ops.delete(K.NAMESPACES, None, "vm-dev"),
        lambda: ops.start(NS, "whatever"),
        lambda: ops.patch_json(K.VMS, NS, "x", []),
    ):
        with pytest.raises(ClusterError, match="^Read-only mode: "):
            call()
    assert len(fresh_demo.requests) == before
    assert ops.can_i("create", K.VMS, NS) is True  # asking is not writing
