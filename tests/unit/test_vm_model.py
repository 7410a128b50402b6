"""The VM read model: what one row of the VM list says about a VM and its instance."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tui.kubevirt.vm import (
    human_duration,
    humanize_age,
    instancetype_ref,
    parse_timestamp,
    status_category,
    vm_row,
)

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def make_vm(**overrides: object) -> dict:
    vm: dict = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {
            "name": "fedora",
            "namespace": "prod",
            "uid": "1111-2222",
            "creationTimestamp": "2025-06-01T11:55:00Z",
        },
        "spec": {
            "runStrategy": "Always",
            "template": {
                "spec": {
                    "domain": {
                        "cpu": {"sockets": 2, "cores": 2, "threads": 1},
                        "memory": {"guest": "2Gi"},
                        "devices": {},
                    }
                }
            },
        },
        "status": {
            "printableStatus": "Running",
            "conditions": [
                {"type": "Paused", "status": "False"},
                {"type": "Ready", "status": "True"},
            ],
        },
    }
    vm.update(overrides)
    return vm


VMI = {
    "metadata": {"name": "fedora", "namespace": "prod"},
    "status": {
        "phase": "Running",
        "nodeName": "node-1",
        "interfaces": [
            {"name": "default", "ipAddress": "10.244.0.23", "ipAddresses": ["10.244.0.23"]},
            {"name": "second", "ipAddress": "192.168.1.5"},
        ],
    },
}


def test_running_vm_with_instance_shows_everything() -> None:
    row = vm_row(make_vm(), VMI, now=NOW)
    assert (row.name, row.namespace, row.uid) == ("fedora", "prod", "1111-2222")
    assert row.status == "Running"
    assert row.category == "running"
    assert row.ready == "True"
    assert row.ip == "10.244.0.23"  # the first interface, as `kubectl get vmi` shows
    assert row.node == "node-1"
    assert row.age == "5m"
    assert row.run_strategy == "Always"
    assert row.vcpu == "4"
    assert row.memory == "2Gi"
    assert row.key == "1111-2222"


def test_stopped_vm_without_instance_has_no_ip_or_node() -> None:
    vm = make_vm(
        status={"printableStatus": "Stopped", "conditions": [{"type": "Ready", "status": "False"}]}
    )
    row = vm_row(vm, None, now=NOW)
    assert (row.status, row.ready, row.ip, row.node) == ("Stopped", "False", "", "")
    assert row.category == "stopped"


def test_vm_without_status_reads_unknown_and_has_no_ready() -> None:
    vm = make_vm()
    del vm["status"]
    row = vm_row(vm, now=NOW)
    assert row.status == "Unknown"
    assert row.ready == ""


def test_deprecated_running_flag_maps_to_run_strategy() -> None:
    assert vm_row(make_vm(spec={"running": True}), now=NOW).run_strategy == "Always"
    assert vm_row(make_vm(spec={"running": False}), now=NOW).run_strategy == "Halted"
    assert vm_row(make_vm(spec={}), now=NOW).run_strategy == ""


def test_instancetype_vm_shows_instancetype_until_instance_expands_it() -> None:
    spec = {
        "runStrategy": "Always",
        "instancetype": {"name": "u1.medium"},
        "template": {"spec": {"domain": {}}},
    }
    row = vm_row(make_vm(spec=spec), None, now=NOW)
    assert row.vcpu == "u1.medium"
    assert row.memory == "u1.medium"
    vmi = {
        **VMI,
        "spec": {
            "domain": {"cpu": {"sockets": 1, "cores": 2, "threads": 1}, "memory": {"guest": "4Gi"}}
        },
    }
    row = vm_row(make_vm(spec=spec), vmi, now=NOW)
    assert (row.vcpu, row.memory) == ("2", "4Gi")


def test_instancetype_object_gives_the_stopped_vm_its_vcpus_and_memory() -> None:
    spec = {"runStrategy": "Halted", "instancetype": {"name": "u1.medium"}}
    instancetype = {"spec": {"cpu": {"guest": 1}, "memory": {"guest": "4Gi"}}}
    row = vm_row(make_vm(spec=spec), None, now=NOW, instancetype=instancetype)
    assert (row.vcpu, row.memory) == ("1", "4Gi")
    # A running VMI's expanded spec still wins (the instancetype may have changed since).
    vmi = {**VMI, "spec": {"domain": {"cpu": {"sockets": 2}, "memory": {"guest": "2Gi"}}}}
    row = vm_row(make_vm(spec=spec), vmi, now=NOW, instancetype=instancetype)
    assert (row.vcpu, row.memory) == ("2", "2Gi")
    # An instancetype object without the figures (untrusted shape): the name again.
    row = vm_row(make_vm(spec=spec), None, now=NOW, instancetype={"spec": "junk"})
    assert (row.vcpu, row.memory) == ("u1.medium", "u1.medium")


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ({"name": "u1.small"}, (False, "u1.small")),
        ({"kind": "VirtualMachineClusterInstancetype", "name": "a"}, (False, "a")),
        ({"kind": "virtualmachineclusterinstancetypes", "name": "a"}, (False, "a")),
        ({"kind": "VirtualMachineInstancetype", "name": "b"}, (True, "b")),
        ({"kind": "VIRTUALMACHINEINSTANCETYPES", "name": "b"}, (True, "b")),
        ({"kind": "Pod", "name": "c"}, None),  # KubeVirt refuses unknown kinds
        ({"kind": "VirtualMachineInstancetype"}, None),
        ("junk", None),
    ],
)
def test_instancetype_ref_reads_kind_as_kubevirt_does(ref: Any, expected: Any) -> None:
    assert instancetype_ref({"instancetype": ref}) == expected


def test_cpu_defaults_and_resource_requests() -> None:
    domain = {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
    row = vm_row(make_vm(spec={"template": {"spec": {"domain": domain}}}), now=NOW)
    assert (row.vcpu, row.memory) == ("500m", "1Gi")
    row = vm_row(make_vm(spec={"template": {"spec": {"domain": {"cpu": {"cores": 3}}}}}), now=NOW)
    assert row.vcpu == "3"  # missing sockets/threads default to 1
    row = vm_row(make_vm(spec={}), now=NOW)
    assert (row.vcpu, row.memory) == ("1", "")


def test_garbage_manifest_still_makes_a_row() -> None:
    """Cluster data is untrusted: wrong types must not crash the list."""
    vm = {
        "metadata": {"name": 42, "creationTimestamp": "not a date"},
        "spec": "x",
        "status": {"conditions": ["x", None]},
    }
    vmi = {"status": {"interfaces": "nope", "nodeName": None}}
    row = vm_row(vm, vmi, now=NOW)
    assert row.name == "42"
    assert (row.age, row.ip, row.node, row.ready) == ("", "", "", "")
    assert vm_row({}, now=NOW).key == "/"


@pytest.mark.parametrize(
    ("status", "category"),
    [
        ("Running", "running"),
        ("Stopped", "stopped"),
        ("Starting", "transitional"),
        ("Stopping", "transitional"),
        ("Migrating", "transitional"),
        ("Paused", "transitional"),
        ("Provisioning", "transitional"),
        ("WaitingForVolumeBinding", "transitional"),
        ("Terminating", "transitional"),
        ("Unknown", "transitional"),
        ("ErrImagePull", "error"),
        ("ImagePullBackOff", "error"),
        ("CrashLoopBackOff", "error"),
        ("ErrorUnschedulable", "error"),
        ("ErrorPvcNotFound", "error"),
        ("DataVolumeError", "error"),
        ("ErrorSomethingNew", "error"),
        ("SomethingNew", "transitional"),
    ],
)
def test_status_category(status: str, category: str) -> None:
    assert status_category(status) == category


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (9 * 60 + 59, "9m59s"),
        (10 * 60 + 30, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 25 * 60, "3h25m"),
        (8 * 3600 + 25 * 60, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (4 * 86400 + 5 * 3600, "4d5h"),
        (8 * 86400, "8d"),
        (400 * 86400, "400d"),
        (2 * 365 * 86400, "2y"),
        (3 * 365 * 86400 + 10 * 86400, "3y10d"),
        (9 * 365 * 86400 + 10 * 86400, "9y"),
    ],
)
def test_human_duration_matches_kubectl(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_age_uses_injected_now() -> None:
    created = parse_timestamp("2025-06-01T11:59:55Z")
    assert humanize_age(created, NOW) == "5s"
    assert humanize_age(created, NOW + timedelta(hours=5)) == "5h"
    assert humanize_age(None, NOW) == ""


def test_parse_timestamp_variants() -> None:
    assert parse_timestamp("2025-06-01T12:00:00Z") == NOW
    assert parse_timestamp("2025-06-01T12:00:00+00:00") == NOW
    assert parse_timestamp("2025-06-01T12:00:00") == NOW
    assert parse_timestamp(None) is None
    assert parse_timestamp("") is None
    assert parse_timestamp("yesterday") is None
