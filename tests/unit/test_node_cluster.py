"""Joining a domain to its VMI: what the CLUSTER cell says in each case."""

from __future__ import annotations

from tui.node.cluster import ClusterInfo, vmi_info


def vmi(node: str = "node-1", phase: str = "Running", **status: object) -> dict:
    return {
        "metadata": {
            "name": "web-01",
            "namespace": "prod",
            "uid": "u1",
            "ownerReferences": [{"kind": "VirtualMachine", "name": "web-01"}],
        },
        "status": {"nodeName": node, "phase": phase, **status},
    }


def test_running_here() -> None:
    info = vmi_info(vmi(), "node-1")
    assert (info.vm, info.node, info.elsewhere) == ("web-01", "node-1", False)
    assert info.summary == "Running"


def test_running_elsewhere_is_flagged() -> None:
    info = vmi_info(vmi(node="node-2.example.com"), "node-1")
    assert info.elsewhere
    assert info.summary == "Running on node-2.example.com!"
    # The short names are compared: an FQDN node name is this machine's short hostname.
    assert not vmi_info(vmi(node="node-1.example.com"), "node-1").elsewhere


def test_migration_in_progress() -> None:
    info = vmi_info(vmi(migrationState={"sourceNode": "node-1", "targetNode": "node-2"}), "node-1")
    assert info.migration == "node-1 -> node-2"
    assert info.summary == "Running migrating"
    done = vmi_info(
        vmi(migrationState={"sourceNode": "a", "targetNode": "b", "completed": True}), "node-1"
    )
    assert done.migration == ""


def test_untrusted_shapes_do_not_raise() -> None:
    info = vmi_info({"metadata": None, "status": "garbage"}, "node-1")
    assert info.found and info.vmi == "" and info.summary == "?"
    assert ClusterInfo(found=False).summary == "no VMI"
