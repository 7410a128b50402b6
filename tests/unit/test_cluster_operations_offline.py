"""Operations without a server: read-only refusals and the exact requests each verb sends."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tui.cluster import kinds as K
from tui.cluster.connection import Connection, HttpResponse
from tui.cluster.errors import ClusterError
from tui.cluster.operations import Operations


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def unreachable(tmp_path) -> Connection:
    """A real Connection (kubernetes client and all) to a port nobody listens on."""
    import yaml

    port = _free_port()
    path = tmp_path / "config"
    path.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t0ken-value-1234"}}],
                "contexts": [
                    {"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "ns"}}
                ],
                "current-context": "c",
            }
        )
    )
    return Connection.from_kubeconfig(str(path))


VM = {
    "apiVersion": "kubevirt.io/v1",
    "kind": "VirtualMachine",
    "metadata": {"name": "vm1", "namespace": "ns", "resourceVersion": "7"},
    "spec": {"runStrategy": "Halted"},
}

MUTATIONS = {
    "create": lambda o: o.create(K.VMS, VM),
    "create dry run": lambda o: o.create(K.VMS, VM, dry_run=True),
    "replace": lambda o: o.replace(K.VMS, VM),
    "replace dry run": lambda o: o.replace(K.VMS, VM, dry_run=True),
    "patch_merge": lambda o: o.patch_merge(K.VMS, "ns", "vm1", {"spec": {}}),
    "patch_json": lambda o: o.patch_json(K.VMS, "ns", "vm1", [], dry_run=True),
    "delete": lambda o: o.delete(K.VMS, "ns", "vm1"),
    "delete dry run": lambda o: o.delete(K.VMS, "ns", "vm1", dry_run=True),
    "start": lambda o: o.start("ns", "vm1"),
    "stop": lambda o: o.stop("ns", "vm1"),
    "restart": lambda o: o.restart("ns", "vm1", force=True),
    "migrate": lambda o: o.migrate("ns", "vm1"),
    "cancel_migration": lambda o: o.cancel_migration("ns", "mig"),
    "pause": lambda o: o.pause("ns", "vm1"),
    "unpause": lambda o: o.unpause("ns", "vm1"),
    "softreboot": lambda o: o.softreboot("ns", "vm1"),
    "reset": lambda o: o.reset("ns", "vm1"),
    "freeze": lambda o: o.freeze("ns", "vm1"),
    "unfreeze": lambda o: o.unfreeze("ns", "vm1"),
    "add_volume": lambda o: o.add_volume(
        "ns", "vm1", "v", {"disk": {"bus": "scsi"}}, {"dataVolume": {"name": "dv"}}
    ),
    "remove_volume": lambda o: o.remove_volume("ns", "vm1", "v", on="vmi"),
    "snapshot": lambda o: o.snapshot("ns", "vm1"),
    "restore": lambda o: o.restore("ns", "vm1", "snap"),
    "clone": lambda o: o.clone("ns", "vm1", "vm2"),
    "export": lambda o: o.export("ns", "vm1"),
}


@pytest.mark.parametrize("verb", list(MUTATIONS))
def test_read_only_refuses_every_mutation_without_sending(verb, unreachable, monkeypatch):
    sent: list[Any] = []
    monkeypatch.setattr(unreachable, "request", lambda *a, **kw: sent.append((a, kw)))
    ops = Operations(unreachable, read_only=True)
    with pytest.raises(ClusterError) as info:
        MUTATIONS[verb](ops)
    assert info.value.title == "Read-only mode"
    assert str(info.value).startswith("Read-only mode: kvtui runs read-only; refusing to ")
    assert sent == []


def test_read_only_still_reads(unreachable):
    ops = Operations(unreachable, read_only=True)
    # A read goes out (and finds nobody listening): read-only is not offline.
    with pytest.raises(ClusterError) as info:
        ops.get(K.VMS, "ns", "vm1")
    assert info.value.transport
    assert str(info.value).startswith("Cannot reach the cluster at http://127.0.0.1:")


class Recorder:
    """Stands in for Connection.request and remembers what would have been sent."""

    def __init__(self, answer: bytes = b"{}", headers: dict | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answer = answer
        self.headers = headers or {}

    def __call__(self, method, path, *, query=None, body=None, content_type=None, timeout=None):
        self.calls.append(
            {
                "method": method,
                "path": path,
                "query": query,
                "body": body,
                "content_type": content_type,
            }
        )
        return HttpResponse(200, self.headers, self.answer, ["careful"] if self.headers else [])


@pytest.fixture
def recorded(unreachable, monkeypatch) -> tuple[Operations, Recorder]:
    rec = Recorder()
    monkeypatch.setattr(unreachable, "request", rec)
    return Operations(unreachable), rec


SUB = "/apis/subresources.kubevirt.io/v1/namespaces/ns"


@pytest.mark.parametrize(
    ("call", "method", "path", "body"),
    [
        (lambda o: o.start("ns", "vm1"), "PUT", f"{SUB}/virtualmachines/vm1/start", {}),
        (lambda o: o.start("ns", "vm1", paused=True), "PUT", f"{SUB}/virtualmachines/vm1/start", {"paused": True}),
        (lambda o: o.stop("ns", "vm1", grace_period=5), "PUT", f"{SUB}/virtualmachines/vm1/stop", {"gracePeriod": 5}),
        (lambda o: o.restart("ns", "vm1", force=True), "PUT", f"{SUB}/virtualmachines/vm1/restart", {"gracePeriodSeconds": 0}),
        (lambda o: o.migrate("ns", "vm1"), "PUT", f"{SUB}/virtualmachines/vm1/migrate", {}),
        (lambda o: o.pause("ns", "vm1"), "PUT", f"{SUB}/virtualmachineinstances/vm1/pause", {}),
        (lambda o: o.softreboot("ns", "vm1"), "PUT", f"{SUB}/virtualmachineinstances/vm1/softreboot", None),
        (lambda o: o.freeze("ns", "vm1"), "PUT", f"{SUB}/virtualmachineinstances/vm1/freeze", {"unfreezeTimeout": "5m0s"}),
        (lambda o: o.guest_os_info("ns", "vm1"), "GET", f"{SUB}/virtualmachineinstances/vm1/guestosinfo", None),
        (
            lambda o: o.add_volume("ns", "vm1", "v", {"disk": {"bus": "scsi"}}, {"dataVolume": {"name": "dv"}}),
            "PUT",
            f"{SUB}/virtualmachines/vm1/addvolume",
            {"name": "v", "disk": {"name": "v", "disk": {"bus": "scsi"}}, "volumeSource": {"dataVolume": {"name": "dv"}}},
        ),
        (lambda o: o.remove_volume("ns", "vm1", "v", on="vmi"), "PUT", f"{SUB}/virtualmachineinstances/vm1/removevolume", {"name": "v"}),
    ],
)  # fmt: skip
def test_subresource_requests(recorded, call, method, path, body):
    ops, rec = recorded
    call(ops)
    assert rec.calls[-1]["method"] == method
    assert rec.calls[-1]["path"] == path
    assert rec.calls[-1]["body"] == body


def test_json_patch_sends_the_op_list_with_its_content_type(recorded):
    ops, rec = recorded
    patch = [{"op": "test", "path": "/spec/runStrategy", "value": "Halted"}]
    ops.patch_json(K.VMS, "ns", "vm1", patch, dry_run=True)
    call = rec.calls[-1]
    assert call["method"] == "PATCH"
    assert call["path"] == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1"
    assert call["content_type"] == "application/json-patch+json"
    assert call["body"] == patch
    assert call["query"]["dryRun"] == "All"


def test_merge_patch_can_carry_a_resource_version(recorded):
    ops, rec = recorded
    patch = {"spec": {"runStrategy": "Always"}}
    ops.patch_merge(K.VMS, "ns", "vm1", patch, resource_version="42", subresource="status")
    call = rec.calls[-1]
    assert call["content_type"] == "application/merge-patch+json"
    assert call["path"].endswith("/virtualmachines/vm1/status")
    assert call["body"] == {
        "spec": {"runStrategy": "Always"},
        "metadata": {"resourceVersion": "42"},
    }
    assert patch == {"spec": {"runStrategy": "Always"}}  # the caller's dict is not touched


def test_delete_options(recorded):
    ops, rec = recorded
    ops.delete(
        K.VMS,
        "ns",
        "vm1",
        propagation="Foreground",
        grace_period=0,
        dry_run=True,
        preconditions_rv="9",
    )
    assert rec.calls[-1]["method"] == "DELETE"
    assert rec.calls[-1]["body"] == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "gracePeriodSeconds": 0,
        "dryRun": ["All"],
        "preconditions": {"resourceVersion": "9"},
    }


def test_create_uses_the_objects_namespace_then_the_contexts(recorded):
    ops, rec = recorded
    ops.create("vm", VM, field_validation="Strict")
    assert rec.calls[-1]["path"] == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines"
    assert rec.calls[-1]["query"] == {"fieldManager": "kvtui", "fieldValidation": "Strict"}
    ops.create(K.VMS, {"metadata": {"name": "x"}})
    assert (
        rec.calls[-1]["path"] == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines"
    )  # context ns
    ops.create(K.NAMESPACES, {"metadata": {"name": "x", "namespace": "ignored"}})
    assert rec.calls[-1]["path"] == "/api/v1/namespaces"


def test_snapshot_restore_clone_export_bodies(recorded):
    ops, rec = recorded
    ref = {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"}
    ops.snapshot("ns", "vm1")
    assert (
        rec.calls[-1]["path"]
        == "/apis/snapshot.kubevirt.io/v1beta1/namespaces/ns/virtualmachinesnapshots"
    )
    assert rec.calls[-1]["body"]["metadata"] == {"namespace": "ns", "generateName": "vm1-snapshot-"}
    assert rec.calls[-1]["body"]["spec"] == {"source": ref}
    ops.restore("ns", "vm1", "snap1", name="r1")
    assert rec.calls[-1]["body"]["spec"] == {"target": ref, "virtualMachineSnapshotName": "snap1"}
    assert rec.calls[-1]["body"]["metadata"]["name"] == "r1"
    ops.clone("ns", "vm1", "vm2")
    assert rec.calls[-1]["path"].startswith("/apis/clone.kubevirt.io/v1beta1/")
    assert rec.calls[-1]["body"]["spec"]["target"]["name"] == "vm2"
    ops.export("ns", "vm1")
    assert rec.calls[-1]["body"]["kind"] == "VirtualMachineExport"


def test_warnings_are_kept_per_call(unreachable, monkeypatch):
    rec = Recorder(headers={"Warning": '299 - "careful"'})
    monkeypatch.setattr(unreachable, "request", rec)
    ops = Operations(unreachable)
    ops.create(K.VMS, VM)
    assert ops.last_warnings == ["careful"]


def test_list_follows_continue_tokens(unreachable, monkeypatch):
    pages = iter(
        [
            b'{"kind":"VirtualMachineList","apiVersion":"kubevirt.io/v1","metadata":{"resourceVersion":"5","continue":"c1"},"items":[{"metadata":{"name":"a"}}]}',
            b'{"kind":"VirtualMachineList","apiVersion":"kubevirt.io/v1","metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"b"}}]}',
        ]
    )
    queries = []

    def request(method, path, *, query=None, **kw):
        queries.append(query)
        return HttpResponse(200, {}, next(pages))

    monkeypatch.setattr(unreachable, "request", request)
    result = Operations(unreachable).list(K.VMS, "ns", label_selector="app=x", page_size=1)
    assert [i["metadata"]["name"] for i in result["items"]] == ["a", "b"]
    assert result["items"][0]["kind"] == "VirtualMachine"
    assert result["metadata"] == {"resourceVersion": "5"}
    assert queries[1]["continue"] == "c1" and queries[1]["labelSelector"] == "app=x"


def test_an_unknown_kind_is_a_cluster_error(recorded):
    ops, rec = recorded
    with pytest.raises(ClusterError, match="Unknown kind"):
        ops.get("frobnicators", "ns", "x")
    assert rec.calls == []
