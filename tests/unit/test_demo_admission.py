"""The demo server's admission rules: KubeVirt's webhook verdicts, messages and field paths."""

from __future__ import annotations

import copy
import re
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tui.demo.admission import (
    DUPLICATE,
    INVALID,
    NOT_FOUND,
    NOT_SUPPORTED,
    QUANTITY_PATTERN,
    REQUIRED,
    WEBHOOK_NAMES,
    AdmissionResult,
    admit,
    admit_vm,
    admit_vmi,
    denial_message,
    format_quantity,
    mac_address_error,
    parse_quantity,
)

MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
T = "spec.template.spec"
DISKS = f"{T}.domain.devices.disks"
IFACES = f"{T}.domain.devices.interfaces"


def base_vm() -> dict[str, Any]:
    """A small valid VM: one containerDisk, one masquerade NIC on the pod network."""
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": "vm1", "namespace": "default"},
        "spec": {
            "runStrategy": "Halted",
            "template": {
                "spec": {
                    "domain": {
                        "devices": {
                            "disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}],
                            "interfaces": [{"name": "default", "masquerade": {}}],
                        },
                        "resources": {"requests": {"memory": "1Gi"}},
                    },
                    "networks": [{"name": "default", "pod": {}}],
                    "volumes": [
                        {
                            "name": "rootdisk",
                            "containerDisk": {"image": "quay.io/containerdisks/fedora:latest"},
                        }
                    ],
                }
            },
        },
    }


def tspec(vm: dict[str, Any]) -> dict[str, Any]:
    return vm["spec"]["template"]["spec"]


def devices(vm: dict[str, Any]) -> dict[str, Any]:
    return tspec(vm)["domain"]["devices"]


def causes_at(result: AdmissionResult, field: str) -> list[dict]:
    return [c for c in result.causes if c["field"] == field]


def only_cause(result: AdmissionResult) -> dict:
    assert len(result.causes) == 1, result.causes
    return result.causes[0]


def assert_denied(result: AdmissionResult, field: str, message: str, kind: str = INVALID) -> None:
    """There is a cause at `field` whose message contains `message`."""
    assert not result.allowed
    hits = causes_at(result, field)
    assert hits, f"no cause at {field}: {result.causes}"
    assert any(message in c["message"] and c["type"] == kind for c in hits), hits


# ---- the base object and the run strategy ----------------------------------------------


def test_base_vm_is_allowed_without_warnings() -> None:
    result = admit_vm(base_vm())
    assert result.allowed and result.causes == [] and result.warnings == []


def test_running_and_run_strategy_are_exclusive() -> None:
    vm = base_vm()
    vm["spec"]["running"] = True
    cause = only_cause(admit_vm(vm))
    assert cause == {
        "type": INVALID,
        "field": "spec.running",
        "message": "Running and RunStrategy are mutually exclusive. Note that Running is "
        "deprecated, please use RunStrategy instead",
    }


def test_run_strategy_must_be_specified() -> None:
    vm = base_vm()
    del vm["spec"]["runStrategy"]
    assert only_cause(admit_vm(vm)) == {
        "type": INVALID,
        "field": "spec.running",
        "message": "RunStrategy must be specified",
    }


def test_running_alone_is_allowed_with_a_deprecation_warning() -> None:
    vm = base_vm()
    del vm["spec"]["runStrategy"]
    vm["spec"]["running"] = False
    result = admit_vm(vm)
    assert result.allowed
    assert result.warnings == ["spec.running is deprecated, please use spec.runStrategy instead."]


def test_no_warning_when_denied() -> None:
    vm = base_vm()
    vm["spec"]["running"] = True
    assert admit_vm(vm).warnings == []


@pytest.mark.parametrize("strategy", ["Always", "Halted", "Manual", "RerunOnFailure", "Once"])
def test_valid_run_strategies(strategy: str) -> None:
    vm = base_vm()
    vm["spec"]["runStrategy"] = strategy
    assert admit_vm(vm).allowed


def test_invalid_run_strategy() -> None:
    vm = base_vm()
    vm["spec"]["runStrategy"] = "Sometimes"
    assert_denied(admit_vm(vm), "spec.runStrategy", "Invalid RunStrategy (Sometimes)")


def test_wait_as_receiver_needs_its_feature_gate() -> None:
    vm = base_vm()
    vm["spec"]["runStrategy"] = "WaitAsReceiver"
    assert_denied(admit_vm(vm), "spec.runStrategy", "DecentralizedLiveMigration feature gate")


def test_running_must_be_a_boolean() -> None:
    vm = base_vm()
    del vm["spec"]["runStrategy"]
    vm["spec"]["running"] = "yes"
    assert_denied(admit_vm(vm), "spec.running", "must be of type boolean")


# ---- names, required parts, types ---------------------------------------------------------


@pytest.mark.parametrize("name", ["VM1", "vm_1", "-vm", "vm-", "a" * 254])
def test_object_name_must_be_a_dns_subdomain(name: str) -> None:
    vm = base_vm()
    vm["metadata"]["name"] = name
    result = admit_vm(vm)
    assert causes_at(result, "metadata.name")
    assert all(c["message"].startswith(f'Invalid value: "{name}": ') for c in result.causes)


def test_object_name_may_have_dots_and_be_long() -> None:
    vm = base_vm()
    vm["metadata"]["name"] = "fedora.vm-" + "a" * 200
    assert admit_vm(vm).allowed


def test_generate_name_instead_of_name() -> None:
    vm = base_vm()
    vm["metadata"] = {"generateName": "vm-"}
    assert admit_vm(vm).allowed
    vm["metadata"] = {}
    assert_denied(admit_vm(vm), "metadata.name", "name or generateName is required", REQUIRED)


def test_template_is_required() -> None:
    vm = base_vm()
    del vm["spec"]["template"]
    assert_denied(admit_vm(vm), "spec.template", "missing virtual machine template.", REQUIRED)


def test_spec_is_required() -> None:
    vm = base_vm()
    del vm["spec"]
    assert_denied(admit_vm(vm), "spec", "Required value", REQUIRED)


def test_domain_and_devices_are_required() -> None:
    vm = base_vm()
    del tspec(vm)["domain"]
    assert_denied(admit_vm(vm), f"{T}.domain", "Required value", REQUIRED)
    vm = base_vm()
    del tspec(vm)["domain"]["devices"]
    assert_denied(admit_vm(vm), f"{T}.domain.devices", "Required value", REQUIRED)


def test_wrong_json_types_are_causes_not_crashes() -> None:
    vm = base_vm()
    devices(vm)["disks"] = "rootdisk"
    tspec(vm)["networks"] = [42]
    result = admit_vm(vm)
    assert_denied(
        result, DISKS, 'Invalid value: "string": ' + DISKS + " in body must be of type array"
    )
    assert_denied(result, f"{T}.networks[0]", "must be of type object")
    assert admit_vm("nonsense").allowed is False  # type: ignore[arg-type]


def test_deleting_vm_is_let_through() -> None:
    vm = base_vm()
    vm["spec"] = {"running": True, "runStrategy": "Always"}
    vm["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    assert admit_vm(vm).allowed


# ---- disks and volumes --------------------------------------------------------------------


def test_disk_needs_a_volume() -> None:
    vm = base_vm()
    devices(vm)["disks"].append({"name": "data", "disk": {}})
    assert_denied(admit_vm(vm), f"{DISKS}[1].name", f"{DISKS}[1].name 'data' not found.")


def test_empty_cdrom_needs_no_volume() -> None:
    vm = base_vm()
    devices(vm)["disks"].append({"name": "cdrom", "cdrom": {"bus": "sata"}})
    assert admit_vm(vm).allowed


def test_volume_without_disk_gets_a_default_disk() -> None:
    # KubeVirt's admitter validates the spec after SetDefaultVolumeDisk.
    vm = base_vm()
    tspec(vm)["volumes"].append({"name": "extra", "emptyDisk": {"capacity": "1Gi"}})
    assert admit_vm(vm).allowed


def test_disk_names_are_unique() -> None:
    vm = base_vm()
    devices(vm)["disks"].append({"name": "rootdisk", "disk": {"bus": "virtio"}})
    assert_denied(
        admit_vm(vm),
        f"{DISKS}[1].name",
        f"{DISKS}[1] and {DISKS}[0] must not have the same Name.",
    )


def test_volume_names_are_unique() -> None:
    vm = base_vm()
    tspec(vm)["volumes"].append({"name": "rootdisk", "emptyDisk": {"capacity": "1Gi"}})
    assert_denied(
        admit_vm(vm),
        f"{T}.volumes[1].name",
        f"{T}.volumes[1] and {T}.volumes[0] must not have the same Name.",
    )


@pytest.mark.parametrize(
    "volume",
    [
        {"name": "rootdisk"},
        {"name": "rootdisk", "containerDisk": {"image": "x"}, "emptyDisk": {"capacity": "1Gi"}},
    ],
)
def test_volume_has_exactly_one_source(volume: dict) -> None:
    vm = base_vm()
    tspec(vm)["volumes"] = [volume]
    assert_denied(admit_vm(vm), f"{T}.volumes[0]", "must have exactly one source type set")


def test_volume_source_required_fields() -> None:
    vm = base_vm()
    tspec(vm)["volumes"] = [{"name": "rootdisk", "dataVolume": {}}]
    assert_denied(admit_vm(vm), f"{T}.volumes[0].name", "DataVolume 'name' must be set", REQUIRED)
    tspec(vm)["volumes"] = [{"name": "rootdisk", "containerDisk": {}}]
    assert_denied(admit_vm(vm), f"{T}.volumes[0].containerDisk.image", "Required value", REQUIRED)


def test_disk_has_at_most_one_target() -> None:
    vm = base_vm()
    devices(vm)["disks"][0]["cdrom"] = {"bus": "sata"}
    assert_denied(admit_vm(vm), f"{DISKS}[0]", "can only have a single target type defined")


@pytest.mark.parametrize(
    ("disk", "field", "message"),
    [
        ({"disk": {"bus": "ide"}}, "disk.bus", "IDE bus is not supported"),
        ({"cdrom": {"bus": "virtio"}}, "cdrom.bus", "Bus type virtio is invalid for CD-ROM device"),
        (
            {"disk": {"bus": "sata", "readonly": True}},
            "disk.bus",
            "sata hard-disks do not support read-only.",
        ),
        (
            {"disk": {"bus": "floppy"}},
            "disk.bus",
            "is set with an unrecognized bus floppy, must be one of: [virtio scsi sata usb]",
        ),
    ],
)
def test_disk_bus_rules(disk: dict, field: str, message: str) -> None:
    vm = base_vm()
    devices(vm)["disks"] = [{"name": "rootdisk", **disk}]
    assert_denied(admit_vm(vm), f"{DISKS}[0].{field}", message)


@pytest.mark.parametrize("bus", ["virtio", "sata", "scsi", "usb"])
def test_supported_disk_buses(bus: str) -> None:
    vm = base_vm()
    devices(vm)["disks"][0]["disk"]["bus"] = bus
    assert admit_vm(vm).allowed


def test_sata_cdrom_may_be_readonly() -> None:
    vm = base_vm()
    devices(vm)["disks"].append({"name": "cd", "cdrom": {"bus": "sata", "readonly": True}})
    assert admit_vm(vm).allowed


def test_lun_only_on_pvc_or_datavolume() -> None:
    vm = base_vm()
    devices(vm)["disks"] = [{"name": "rootdisk", "lun": {"bus": "scsi"}}]
    assert_denied(
        admit_vm(vm),
        f"{DISKS}[0].lun",
        "can only be mapped to a DataVolume or PersistentVolumeClaim volume.",
    )
    tspec(vm)["volumes"] = [{"name": "rootdisk", "persistentVolumeClaim": {"claimName": "pvc"}}]
    assert admit_vm(vm).allowed


def test_disk_name_is_a_dns_label() -> None:
    vm = base_vm()
    devices(vm)["disks"][0]["name"] = "Root_Disk"
    tspec(vm)["volumes"][0]["name"] = "Root_Disk"
    assert_denied(admit_vm(vm), f"{DISKS}[0].name", "a lowercase RFC 1123 label must consist of")


def test_disk_name_is_required() -> None:
    vm = base_vm()
    del devices(vm)["disks"][0]["name"]
    assert_denied(admit_vm(vm), f"{DISKS}[0].name", "Required value", REQUIRED)


@pytest.mark.parametrize(
    ("key", "value", "message", "kind"),
    [
        ("serial", "bad serial!", "must be made up of the following characters", INVALID),
        ("serial", "a" * 257, "must be less than or equal to 256 in length", INVALID),
        ("cache", "unsafe", "cache has invalid value unsafe", INVALID),
        ("io", "uring", "Supported modes are: native, threads.", NOT_SUPPORTED),
    ],
)
def test_disk_serial_cache_io(key: str, value: str, message: str, kind: str) -> None:
    vm = base_vm()
    devices(vm)["disks"][0][key] = value
    assert_denied(admit_vm(vm), f"{DISKS}[0].{key}", message, kind)


# ---- boot order ---------------------------------------------------------------------------


def test_boot_order_must_be_positive() -> None:
    vm = base_vm()
    devices(vm)["disks"][0]["bootOrder"] = 0
    assert_denied(admit_vm(vm), f"{DISKS}[0].bootOrder", "must have a boot order > 0, if supplied")
    vm = base_vm()
    devices(vm)["interfaces"][0]["bootOrder"] = -1
    assert_denied(admit_vm(vm), f"{IFACES}[0].bootOrder", "must have a boot order > 0, if supplied")


def test_boot_order_unique_across_disks_and_interfaces() -> None:
    vm = base_vm()
    devices(vm)["disks"][0]["bootOrder"] = 1
    devices(vm)["interfaces"][0]["bootOrder"] = 1
    assert_denied(
        admit_vm(vm),
        f"{IFACES}[0].bootOrder",
        f"Boot order for {IFACES}[0].bootOrder already set for a different device.",
    )


def test_boot_order_unique_across_disks() -> None:
    vm = base_vm()
    devices(vm)["disks"][0]["bootOrder"] = 2
    devices(vm)["disks"].append({"name": "cd", "cdrom": {"bus": "sata"}, "bootOrder": 2})
    assert_denied(
        admit_vm(vm),
        f"{DISKS}[1].bootOrder",
        f"Boot order for {DISKS}[1].bootOrder already set for a different device.",
    )


def test_distinct_boot_orders_are_fine() -> None:
    vm = base_vm()
    devices(vm)["disks"][0]["bootOrder"] = 1
    devices(vm)["interfaces"][0]["bootOrder"] = 2
    assert admit_vm(vm).allowed


# ---- interfaces and networks --------------------------------------------------------------


def add_multus(vm: dict, name: str = "blue", binding: dict | None = None) -> None:
    devices(vm)["interfaces"].append({"name": name, **(binding or {"bridge": {}})})
    tspec(vm)["networks"].append({"name": name, "multus": {"networkName": "ns/blue-net"}})


def test_bridge_on_multus_is_fine() -> None:
    vm = base_vm()
    add_multus(vm)
    assert admit_vm(vm).allowed


def test_interface_needs_a_network() -> None:
    vm = base_vm()
    devices(vm)["interfaces"].append({"name": "blue", "bridge": {}})
    assert_denied(admit_vm(vm), f"{IFACES}[1].name", f"{IFACES}[1].name 'blue' not found.")


def test_network_needs_an_interface() -> None:
    vm = base_vm()
    tspec(vm)["networks"].append({"name": "blue", "multus": {"networkName": "blue"}})
    assert_denied(
        admit_vm(vm), f"{T}.networks[1].name", f"{T}.networks[1].name 'blue' not found.", REQUIRED
    )


def test_no_interfaces_and_no_networks_means_the_default_network() -> None:
    vm = base_vm()
    del devices(vm)["interfaces"]
    del tspec(vm)["networks"]
    assert admit_vm(vm).allowed


def test_interface_names_are_unique() -> None:
    vm = base_vm()
    devices(vm)["interfaces"].append({"name": "default", "masquerade": {}})
    assert_denied(
        admit_vm(vm),
        f"{IFACES}[1].name",
        "Only one interface can be connected to one specific network",
        DUPLICATE,
    )


def test_network_names_are_unique() -> None:
    vm = base_vm()
    tspec(vm)["networks"].append({"name": "default", "multus": {"networkName": "x"}})
    assert_denied(
        admit_vm(vm),
        f"{T}.networks[1].name",
        'Network with name "default" already exists, every network must have a unique name',
        DUPLICATE,
    )


@pytest.mark.parametrize(
    "iface",
    [{"name": "default"}, {"name": "default", "masquerade": {}, "bridge": {}}],
)
def test_interface_has_exactly_one_binding(iface: dict) -> None:
    vm = base_vm()
    devices(vm)["interfaces"] = [iface]
    assert_denied(
        admit_vm(vm),
        f"{IFACES}[0]",
        "logical default interface must have exactly one binding method or binding plugin",
    )


@pytest.mark.parametrize(
    "binding", [{"bridge": {}}, {"sriov": {}}, {"passtBinding": {}}, {"binding": {"name": "x"}}]
)
def test_other_bindings(binding: dict) -> None:
    vm = base_vm()
    if "passtBinding" in binding:
        devices(vm)["interfaces"] = [{"name": "default", **binding}]
    else:
        add_multus(vm, binding=binding)
    assert admit_vm(vm).allowed


def test_masquerade_only_on_pod_network() -> None:
    vm = base_vm()
    add_multus(vm, binding={"masquerade": {}})
    assert_denied(
        admit_vm(vm), f"{IFACES}[1].name", "Masquerade interface only implemented with pod network"
    )


def test_passt_only_on_pod_network() -> None:
    vm = base_vm()
    add_multus(vm, binding={"passtBinding": {}})
    assert_denied(
        admit_vm(vm),
        f"{IFACES}[1].name",
        "PasstBinding interface only implemented with pod network",
    )


def test_only_one_pod_network() -> None:
    vm = base_vm()
    devices(vm)["interfaces"].append({"name": "second", "bridge": {}})
    tspec(vm)["networks"].append({"name": "second", "pod": {}})
    assert_denied(
        admit_vm(vm),
        f"{T}.networks[1].pod",
        f"more than one interface is connected to a pod network in {IFACES}",
        DUPLICATE,
    )


def test_pod_network_and_multus_default_exclude_each_other() -> None:
    vm = base_vm()
    add_multus(vm)
    tspec(vm)["networks"][1]["multus"]["default"] = True
    assert_denied(
        admit_vm(vm),
        f"{T}.networks[0].pod",
        "Pod network cannot be defined when Multus default network is defined",
    )


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({"name": "default"}, "should have a network type"),
        (
            {"name": "default", "pod": {}, "multus": {"networkName": "x"}},
            "should have only one network type",
        ),
    ],
)
def test_network_has_exactly_one_source(network: dict, message: str) -> None:
    vm = base_vm()
    tspec(vm)["networks"] = [network]
    assert_denied(admit_vm(vm), f"{T}.networks[0]", message, REQUIRED)


def test_multus_needs_network_name() -> None:
    vm = base_vm()
    add_multus(vm)
    tspec(vm)["networks"][1]["multus"] = {}
    assert_denied(
        admit_vm(vm),
        f"{T}.networks[1].multus.networkName",
        "CNI delegating plugin must have a networkName",
        REQUIRED,
    )


def test_interface_model() -> None:
    vm = base_vm()
    devices(vm)["interfaces"][0]["model"] = "virtio-net"
    assert_denied(
        admit_vm(vm),
        f"{IFACES}[0].model",
        f"interface {IFACES}[0].name uses model virtio-net that is not supported.",
        NOT_SUPPORTED,
    )
    for model in ("e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", "virtio"):
        devices(vm)["interfaces"][0]["model"] = model
        assert admit_vm(vm).allowed, model


@pytest.mark.parametrize(
    ("mac", "error"),
    [
        ("02:00:00:00:00", "malformed MAC address (02:00:00:00:00)"),
        ("02:00:00:00:00:zz", "malformed MAC address (02:00:00:00:00:zz)"),
        ("02:00:00:00:00:00:00:01", "too long MAC address (02:00:00:00:00:00:00:01)"),
    ],
)
def test_interface_mac_address(mac: str, error: str) -> None:
    vm = base_vm()
    devices(vm)["interfaces"][0]["macAddress"] = mac
    assert_denied(
        admit_vm(vm), f"{IFACES}[0].macAddress", f"interface {IFACES}[0].name has {error}."
    )


@pytest.mark.parametrize("mac", ["02:00:00:aa:BB:01", "02-00-00-aa-bb-01", "0200.00aa.bb01", ""])
def test_valid_mac_addresses(mac: str) -> None:
    assert mac_address_error(mac) is None


def test_interface_state() -> None:
    vm = base_vm()
    devices(vm)["interfaces"][0]["state"] = "sleeping"
    assert_denied(
        admit_vm(vm),
        f"{IFACES}[0].state",
        "logical default interface state value is unsupported: sleeping",
    )
    for state in ("up", "down"):
        devices(vm)["interfaces"][0]["state"] = state
        assert admit_vm(vm).allowed, state


def test_absent_not_on_masquerade_pod_interface() -> None:
    vm = base_vm()
    devices(vm)["interfaces"][0]["state"] = "absent"
    result = admit_vm(vm)
    assert_denied(result, f"{IFACES}[0].state", "is supported only for bridge binding")
    assert_denied(result, f"{IFACES}[0].state", "is not supported on default networks")


def test_absent_on_bridge_multus_interface_is_fine() -> None:
    vm = base_vm()
    add_multus(vm)
    devices(vm)["interfaces"][1]["state"] = "absent"
    assert admit_vm(vm).allowed


def test_interface_name_characters() -> None:
    vm = base_vm()
    devices(vm)["interfaces"][0]["name"] = "eth.0"
    tspec(vm)["networks"][0]["name"] = "eth.0"
    assert_denied(admit_vm(vm), f"{IFACES}[0].name", "Network interface name can only contain")


def test_discontinued_bindings_only_refused_on_create() -> None:
    vm = base_vm()
    devices(vm)["interfaces"] = [{"name": "default", "slirp": {}}]
    assert_denied(
        admit_vm(vm),
        f"{IFACES}[0].slirp",
        "Slirp interface support has been discontinued since v1.3",
    )
    # An old VM can still be edited: only the binding-count rule sees it then.
    updated = admit_vm(vm, old=copy.deepcopy(vm))
    assert not causes_at(updated, f"{IFACES}[0].slirp")


def test_port_forwarding_rules() -> None:
    vm = base_vm()
    devices(vm)["interfaces"][0]["ports"] = [
        {"name": "http", "port": 80},
        {"name": "http", "port": 70000, "protocol": "SCTP"},
        {"name": "noport"},
    ]
    result = admit_vm(vm)
    assert_denied(
        result, f"{IFACES}[0].ports[1].name", "Duplicate name of the port: http", DUPLICATE
    )
    assert_denied(
        result, f"{IFACES}[0].ports[1].port", "Port field must be in range 0 < x < 65536."
    )
    assert_denied(
        result, f"{IFACES}[0].ports[1].protocol", "Unknown protocol, only TCP or UDP allowed"
    )
    assert_denied(result, f"{IFACES}[0].ports[2].port", "Port field is mandatory.", REQUIRED)


# ---- resources, CPU, instancetypes ------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (("resources", "requests", "memory"), "domain.resources.requests.memory"),
        (("resources", "limits", "cpu"), "domain.resources.limits.cpu"),
        (("memory", "guest"), "domain.memory.guest"),
    ],
)
def test_quantities_must_be_valid(where: tuple[str, ...], field: str) -> None:
    vm = base_vm()
    node = tspec(vm)["domain"]
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = "1 G"
    cause = causes_at(admit_vm(vm), f"{T}.{field}")[0]
    assert cause["type"] == INVALID
    assert (
        cause["message"]
        == f"Invalid value: \"1 G\": {T}.{field} in body should match '{QUANTITY_PATTERN}'"
    )


def test_memory_request_ranges() -> None:
    vm = base_vm()
    tspec(vm)["domain"]["resources"]["requests"]["memory"] = "512k"
    assert_denied(
        admit_vm(vm),
        f"{T}.domain.resources.requests.memory",
        "'512k': must be greater than or equal to 1M.",
    )
    tspec(vm)["domain"]["resources"]["requests"]["memory"] = "-1Gi"
    assert_denied(
        admit_vm(vm), f"{T}.domain.resources.requests.memory", "must be greater than or equal to 0."
    )
    tspec(vm)["domain"]["resources"] = {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}
    assert_denied(
        admit_vm(vm),
        f"{T}.domain.resources.requests.memory",
        f"{T}.domain.resources.requests.memory '2Gi' is greater than {T}.domain.resources.limits.memory '1Gi'",
    )


def test_memory_as_a_plain_number_is_a_quantity() -> None:
    vm = base_vm()
    tspec(vm)["domain"]["resources"]["requests"]["memory"] = 2147483648
    assert admit_vm(vm).allowed


@pytest.mark.parametrize("value", ["2", 1.5, True, -1])
def test_cpu_topology_numbers(value: Any) -> None:
    vm = base_vm()
    tspec(vm)["domain"]["cpu"] = {"sockets": value}
    assert causes_at(admit_vm(vm), f"{T}.domain.cpu.sockets")


def test_cpu_topology_valid_and_max_sockets() -> None:
    vm = base_vm()
    tspec(vm)["domain"]["cpu"] = {"sockets": 2, "cores": 1, "threads": 1, "maxSockets": 4}
    assert admit_vm(vm).allowed
    tspec(vm)["domain"]["cpu"]["sockets"] = 8
    assert_denied(
        admit_vm(vm),
        f"{T}.domain.cpu.sockets",
        "Number of sockets in CPU topology is greater than the maximum sockets allowed",
    )


def test_instancetype_conflicts_with_cpu_and_memory() -> None:
    vm = base_vm()
    vm["spec"]["instancetype"] = {"name": "u1.medium"}
    tspec(vm)["domain"]["cpu"] = {"sockets": 2}
    tspec(vm)["domain"]["memory"] = {"guest": "2Gi"}
    result = admit_vm(vm)
    assert_denied(
        result,
        f"{T}.domain.cpu.sockets",
        f"VM field(s) {T}.domain.cpu.sockets conflicts with selected instance type",
    )
    assert_denied(result, f"{T}.domain.memory.guest", "conflicts with selected instance type")
    # Only the first memory conflict is reported, as KubeVirt does.
    assert not causes_at(result, f"{T}.domain.resources.requests.memory")


def test_instancetype_conflicts_with_memory_request() -> None:
    vm = base_vm()
    vm["spec"]["instancetype"] = {"inferFromVolume": "rootdisk"}
    assert_denied(
        admit_vm(vm),
        f"{T}.domain.resources.requests.memory",
        "conflicts with selected instance type",
    )
    del tspec(vm)["domain"]["resources"]
    assert admit_vm(vm).allowed


# ---- other template rules ------------------------------------------------------------------


def test_hostname_must_be_a_dns_label() -> None:
    vm = base_vm()
    tspec(vm)["hostname"] = "My_Host"
    assert_denied(
        admit_vm(vm), f"{T}.hostname", "does not conform to the kubernetes DNS_LABEL rules"
    )


def test_cloud_init_needs_data() -> None:
    vm = base_vm()
    devices(vm)["disks"].append({"name": "ci", "disk": {"bus": "virtio"}})
    tspec(vm)["volumes"].append({"name": "ci", "cloudInitNoCloud": {}})
    assert_denied(
        admit_vm(vm),
        f"{T}.volumes[1].cloudInitNoCloud",
        "must have at least one userdatasource or one networkdatasource set.",
    )
    tspec(vm)["volumes"][1]["cloudInitNoCloud"] = {
        "userData": "#cloud-config",
        "userDataBase64": "!!",
    }
    result = admit_vm(vm)
    assert_denied(
        result, f"{T}.volumes[1].cloudInitNoCloud.userDataBase64", "is not a valid base64 value."
    )
    assert_denied(
        result, f"{T}.volumes[1].cloudInitNoCloud", "must have only one userdatasource set."
    )


def test_cloud_init_size_limit() -> None:
    vm = base_vm()
    tspec(vm)["volumes"].append({"name": "ci", "cloudInitNoCloud": {"userData": "x" * 2049}})
    assert_denied(
        admit_vm(vm), f"{T}.volumes[1].cloudInitNoCloud", "userdata exceeds 2048 byte limit."
    )


def test_access_credentials_nocloud_needs_a_nocloud_volume() -> None:
    vm = base_vm()
    tspec(vm)["accessCredentials"] = [
        {
            "sshPublicKey": {
                "source": {"secret": {"secretName": "k"}},
                "propagationMethod": {"noCloud": {}},
            }
        }
    ]
    assert_denied(
        admit_vm(vm),
        f"{T}.accessCredentials[0].sshPublicKey.propagationMethod",
        "requires a noCloud volume to exist when the noCloud propagationMethod is in use.",
    )


def test_firmware_rules() -> None:
    vm = base_vm()
    tspec(vm)["domain"]["firmware"] = {"bootloader": {"efi": {"secureBoot": False}, "bios": {}}}
    assert_denied(
        admit_vm(vm), f"{T}.domain.firmware.bootloader", "has both EFI and BIOS configured"
    )
    tspec(vm)["domain"]["firmware"] = {"bootloader": {"efi": {}}}
    assert_denied(
        admit_vm(vm), f"{T}.domain", "SecureBoot requires SMM, which is currently disabled."
    )
    tspec(vm)["domain"]["features"] = {"smm": {}}
    assert admit_vm(vm).allowed


def test_input_devices() -> None:
    vm = base_vm()
    devices(vm)["inputs"] = [{"name": "t", "type": "mouse", "bus": "ps2"}]
    result = admit_vm(vm)
    assert_denied(
        result,
        f"{T}.domain.devices.inputs[0].bus",
        "Input device can have only virtio or usb bus.",
    )
    assert_denied(
        result, f"{T}.domain.devices.inputs[0].type", "Input device can have only tablet type."
    )


# ---- dataVolumeTemplates ---------------------------------------------------------------------


def dv_vm() -> dict[str, Any]:
    vm = base_vm()
    vm["spec"]["dataVolumeTemplates"] = [
        {
            "metadata": {"name": "root-dv"},
            "spec": {
                "storage": {"resources": {"requests": {"storage": "30Gi"}}},
                "sourceRef": {"kind": "DataSource", "name": "fedora"},
            },
        }
    ]
    tspec(vm)["volumes"] = [{"name": "rootdisk", "dataVolume": {"name": "root-dv"}}]
    return vm


def test_data_volume_template_valid() -> None:
    assert admit_vm(dv_vm()).allowed


def test_data_volume_template_names_unique() -> None:
    vm = dv_vm()
    vm["spec"]["dataVolumeTemplates"].append(copy.deepcopy(vm["spec"]["dataVolumeTemplates"][0]))
    assert_denied(
        admit_vm(vm), "spec.dataVolumeTemplates[1].metadata.name", "has the same name as", DUPLICATE
    )


def test_data_volume_template_needs_a_source() -> None:
    vm = dv_vm()
    del vm["spec"]["dataVolumeTemplates"][0]["spec"]["sourceRef"]
    assert_denied(
        admit_vm(vm),
        "spec.dataVolumeTemplates[0].spec.source",
        "Data volume should have either Source, SourceRef, or be externally populated",
    )
    vm["spec"]["dataVolumeTemplates"][0]["spec"]["source"] = {"http": {"url": "x"}, "blank": {}}
    assert_denied(
        admit_vm(vm), "spec.dataVolumeTemplates[0].spec.source", "Multiple dataVolume sources"
    )


def test_data_volume_template_needs_storage_or_pvc() -> None:
    vm = dv_vm()
    del vm["spec"]["dataVolumeTemplates"][0]["spec"]["storage"]
    assert_denied(
        admit_vm(vm),
        "spec.dataVolumeTemplates[0].spec.storage",
        "Missing Data volume PVC or Storage",
    )
    vm["spec"]["dataVolumeTemplates"][0]["spec"]["storage"] = {}
    vm["spec"]["dataVolumeTemplates"][0]["spec"]["pvc"] = {}
    assert_denied(admit_vm(vm), "spec.dataVolumeTemplates[0].spec", "Duplicate storage definition")


def test_data_volume_template_size_is_a_quantity() -> None:
    vm = dv_vm()
    vm["spec"]["dataVolumeTemplates"][0]["spec"]["storage"]["resources"]["requests"]["storage"] = (
        "30GB"
    )
    assert_denied(
        admit_vm(vm),
        "spec.dataVolumeTemplates[0].spec.storage.resources.requests.storage",
        'Invalid value: "30GB"',
    )


def test_data_volume_template_must_be_used() -> None:
    vm = dv_vm()
    tspec(vm)["volumes"] = [{"name": "rootdisk", "containerDisk": {"image": "x"}}]
    assert_denied(
        admit_vm(vm),
        "spec.dataVolumeTemplates[0]",
        "DataVolumeTemplate entry spec.dataVolumeTemplates[0] must be referenced in the VMI template's 'volumes' list",
        REQUIRED,
    )


def test_data_volume_template_needs_a_name() -> None:
    vm = dv_vm()
    del vm["spec"]["dataVolumeTemplates"][0]["metadata"]
    assert_denied(
        admit_vm(vm),
        "spec.dataVolumeTemplates[0].metadata.name",
        "'name' field must not be empty",
        REQUIRED,
    )


# ---- VirtualMachineInstance ---------------------------------------------------------------


def base_vmi() -> dict[str, Any]:
    vm = base_vm()
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": "vmi1"},
        "spec": tspec(vm),
    }


def test_vmi_same_rules_with_spec_paths() -> None:
    vmi = base_vmi()
    assert admit_vmi(vmi).allowed
    vmi["spec"]["domain"]["devices"]["disks"][0]["disk"]["bus"] = "ide"
    vmi["spec"]["domain"]["devices"]["interfaces"][0]["name"] = "other"
    result = admit("VirtualMachineInstance", vmi)
    assert_denied(result, "spec.domain.devices.disks[0].disk.bus", "IDE bus is not supported")
    assert_denied(result, "spec.domain.devices.interfaces[0].name", "'other' not found.")


def test_vmi_must_request_memory() -> None:
    vmi = base_vmi()
    del vmi["spec"]["domain"]["resources"]
    cause = only_cause(admit_vmi(vmi))
    assert cause["type"] == REQUIRED
    assert cause["message"].startswith(
        "no memory requested, at least one of 'spec.domain.memory.guest'"
    )
    vmi["spec"]["domain"]["memory"] = {"guest": "1Gi"}
    assert admit_vmi(vmi).allowed


def test_vmi_needs_a_spec() -> None:
    assert_denied(admit_vmi({"metadata": {"name": "x"}}), "spec", "Required value", REQUIRED)


# ---- other kinds ------------------------------------------------------------------------------


def snapshot() -> dict[str, Any]:
    return {
        "metadata": {"name": "snap"},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"}},
    }


def test_snapshot_rules() -> None:
    assert admit("VirtualMachineSnapshot", snapshot()).allowed
    obj = snapshot()
    del obj["spec"]["source"]
    assert_denied(admit("VirtualMachineSnapshot", obj), "spec.source", "Required value", REQUIRED)
    obj = snapshot()
    del obj["spec"]["source"]["name"]
    assert_denied(
        admit("VirtualMachineSnapshot", obj), "spec.source.name", "Required value", REQUIRED
    )
    obj = snapshot()
    del obj["spec"]["source"]["apiGroup"]
    assert_denied(
        admit("VirtualMachineSnapshot", obj), "spec.source.apiGroup", "missing apiGroup", NOT_FOUND
    )
    obj = snapshot()
    obj["spec"]["source"]["kind"] = "Pod"
    assert_denied(admit("VirtualMachineSnapshot", obj), "spec.source.kind", "invalid kind")
    changed = snapshot()
    changed["spec"]["source"]["name"] = "vm2"
    assert_denied(
        admit("VirtualMachineSnapshot", changed, snapshot()),
        "spec",
        "spec in immutable after creation",
    )


def test_restore_rules() -> None:
    restore = {
        "metadata": {"name": "r"},
        "spec": {
            "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"},
            "virtualMachineSnapshotName": "snap",
        },
    }
    assert admit("VirtualMachineRestore", restore).allowed
    bad = copy.deepcopy(restore)
    del bad["spec"]["virtualMachineSnapshotName"]
    del bad["spec"]["target"]
    result = admit("VirtualMachineRestore", bad)
    assert_denied(result, "spec.target", "Required value", REQUIRED)
    assert_denied(result, "spec.virtualMachineSnapshotName", "Required value", REQUIRED)
    bad = copy.deepcopy(restore)
    bad["spec"]["volumeRestorePolicy"] = "Shuffle"
    assert_denied(
        admit("VirtualMachineRestore", bad),
        "spec.volumeRestorePolicy",
        'volume restore policy "Shuffle" doesn\'t exist',
    )


def test_clone_rules() -> None:
    clone = {
        "metadata": {"name": "c"},
        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"}},
    }
    assert admit("VirtualMachineClone", clone).allowed
    result = admit("VirtualMachineClone", {"metadata": {"name": "c"}, "spec": {}})
    assert_denied(result, "spec.source", "Source cannot be nil")
    bad = copy.deepcopy(clone)
    bad["spec"]["target"] = {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"}
    bad["spec"]["labelFilters"] = ["a*b"]
    bad["spec"]["patches"] = ["{not json"]
    result = admit("VirtualMachineClone", bad)
    assert_denied(result, "spec.target.name", "Target name cannot be equal to source name")
    assert_denied(result, "spec.labels", "WildcardChar can be only at the end of the filter")
    assert_denied(result, "spec.patches[0]", "patch is not valid JSON ({not json)")


def test_migration_rules() -> None:
    assert admit(
        "VirtualMachineInstanceMigration", {"metadata": {"name": "m"}, "spec": {"vmiName": "v"}}
    ).allowed
    result = admit("VirtualMachineInstanceMigration", {"metadata": {"name": "m"}, "spec": {}})
    assert only_cause(result) == {
        "type": REQUIRED,
        "field": "spec.vmiName",
        "message": "vmiName is missing",
    }
    updated = admit(
        "VirtualMachineInstanceMigration",
        {"metadata": {"name": "m"}, "spec": {"vmiName": "w"}},
        {"metadata": {"name": "m"}, "spec": {"vmiName": "v"}},
    )
    assert only_cause(updated)["message"] == "update of Migration object's spec is restricted"


def data_volume() -> dict[str, Any]:
    return {
        "metadata": {"name": "dv"},
        "spec": {
            "source": {"http": {"url": "https://example.com/disk.qcow2"}},
            "storage": {"resources": {"requests": {"storage": "10Gi"}}},
        },
    }


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (
            lambda s: s.pop("source"),
            "spec.source",
            "Data volume should have either Source or SourceRef",
        ),
        (
            lambda s: s.update(sourceRef={"kind": "DataSource", "name": "x"}),
            "spec.source",
            "Data volume should have either Source or SourceRef",
        ),
        (lambda s: s.pop("storage"), "spec.pvc", "Missing Data volume PVC"),
        (
            lambda s: s["storage"].pop("resources"),
            "spec.storage.resources.requests.storage",
            "Storage size is missing",
        ),
        (
            lambda s: s["storage"]["resources"]["requests"].update(storage="0"),
            "spec.storage.resources.requests.storage",
            "Storage size can't be equal or less than zero",
        ),
        (
            lambda s: s["source"].update(http={"url": "ftp://x/y"}),
            "spec.source.http.url",
            "spec.source Invalid source URL scheme: ftp://x/y",
        ),
        (lambda s: s["source"].update(blank={}), "spec.source", "Multiple Data volume sources"),
        (
            lambda s: s.update(source={"registry": {"url": "quay.io/x"}}),
            "spec.source.registry.url",
            "Illegal registry source URL scheme quay.io/x",
        ),
    ],
)
def test_data_volume_rules(mutate: Any, field: str, message: str) -> None:
    dv = data_volume()
    mutate(dv["spec"])
    cause = only_cause(admit("DataVolume", dv))
    assert cause["field"] == field and message in cause["message"]


def test_data_volume_pvc_needs_size_and_one_access_mode() -> None:
    dv = data_volume()
    dv["spec"]["pvc"] = dv["spec"].pop("storage")
    assert_denied(
        admit("DataVolume", dv), "spec.pvc.accessModes", "at least 1 access mode is required"
    )
    dv["spec"]["pvc"]["accessModes"] = ["ReadWriteOnce"]
    assert admit("DataVolume", dv).allowed
    del dv["spec"]["pvc"]["resources"]
    assert_denied(
        admit("DataVolume", dv), "spec.pvc.resources.requests.storage", "PVC size is missing"
    )


def test_data_volume_clone_may_leave_the_size_to_cdi() -> None:
    dv = data_volume()
    dv["spec"]["source"] = {"pvc": {"namespace": "default", "name": "golden"}}
    del dv["spec"]["storage"]["resources"]
    assert admit("DataVolume", dv).allowed


def test_kinds_without_rules_are_allowed() -> None:
    for kind in (
        "Template",
        "DataSource",
        "NetworkAttachmentDefinition",
        "VirtualMachinePreference",
    ):
        assert admit(kind, {"anything": ["goes"]}).allowed


# ---- the 422 message -----------------------------------------------------------------------


def test_denial_message() -> None:
    vm = base_vm()
    del vm["spec"]["runStrategy"]
    result = admit("VirtualMachine", vm)
    assert denial_message("VirtualMachine", result) == (
        'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: '
        "RunStrategy must be specified"
    )
    assert denial_message("VirtualMachine", AdmissionResult()) == ""


def test_denial_message_joins_up_to_ten_causes() -> None:
    causes = [{"type": INVALID, "field": f"f{i}", "message": f"m{i}"} for i in range(12)]
    message = denial_message("DataVolume", AdmissionResult(causes))
    assert message.startswith(
        f'admission webhook "{WEBHOOK_NAMES["DataVolume"]}" denied the request: m0, m1, '
    )
    assert message.endswith("m9, and 2 more validation errors")


def test_status_causes_use_the_wire_spelling() -> None:
    result = AdmissionResult([{"type": INVALID, "field": "spec.x", "message": "bad"}])
    assert result.status_causes() == [{"reason": INVALID, "message": "bad", "field": "spec.x"}]


# ---- the example manifests -------------------------------------------------------------------


def load(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]


def _is_special(doc: dict[str, Any]) -> bool:
    """The examples that are not admitted as they stand, each with its own test below:
    the clone's placeholder MAC, and the NIC hot-plug edit snippets (no runStrategy, as
    they are edits of a VM that has one)."""
    if doc["kind"] == "VirtualMachineClone":
        return True
    return (
        doc["kind"] == "VirtualMachine"
        and "runStrategy" not in doc["spec"]
        and "running" not in doc["spec"]
    )


ALL_DOCS = [
    pytest.param(doc, id=f"{path.name}#{idx}")
    for path in sorted(MANIFESTS.glob("*.yaml"))
    for idx, doc in enumerate(load(path.name))
    if "kind" in doc and not _is_special(doc)
]


def test_fixtures_hold_the_examples() -> None:
    kinds = {
        doc["kind"] for path in MANIFESTS.glob("*.yaml") for doc in load(path.name) if "kind" in doc
    }
    assert {"VirtualMachine", "DataVolume", "VirtualMachineSnapshot", "Template"} <= kinds
    assert len(ALL_DOCS) >= 15


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, to replay the guide's edit snippets onto the VM they edit."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


@pytest.mark.parametrize("doc", ALL_DOCS)
def test_example_manifests_are_admitted(doc: dict[str, Any]) -> None:
    result = admit(doc["kind"], doc)
    assert result.allowed, result.causes


def test_example_product_sample_warns_about_running() -> None:
    (vm,) = load("00-product-sample-vm.yaml")
    result = admit("VirtualMachine", vm)
    assert result.allowed
    assert result.warnings == ["spec.running is deprecated, please use spec.runStrategy instead."]


def test_example_clone_placeholder_mac() -> None:
    # The user guide's "00-11-22" is not a MAC address, and KubeVirt's clone webhook says so.
    (clone,) = load("06-vmclone.yaml")
    assert only_cause(admit("VirtualMachineClone", clone)) == {
        "type": INVALID,
        "field": "spec.newMacAddresses.interfaceName",
        "message": "interface interfaceName has malformed MAC address (00-11-22).",
    }
    clone["spec"]["newMacAddresses"]["interfaceName"] = "02:00:00:00:11:22"
    assert admit("VirtualMachineClone", clone).allowed


def test_example_nic_hotplug_edits() -> None:
    # The guide's hot-plug and hot-unplug snippets edit the running vm-fedora.
    vm, _nad, plug, unplug = load("08-vm-nic-hotplug-and-nad.yaml")
    assert admit("VirtualMachine", vm).allowed
    plugged = merge_patch(vm, plug)
    assert admit("VirtualMachine", plugged, vm).allowed
    unplugged = merge_patch(plugged, unplug)
    assert admit("VirtualMachine", unplugged, plugged).allowed


def test_example_template_object_is_admitted_once_processed() -> None:
    (template,) = load("04-template-fedora-server-small.yaml")
    values = {
        "NAME": "fedora-abc",
        "DATA_SOURCE_NAME": "fedora",
        "DATA_SOURCE_NAMESPACE": "os-images",
        "CLOUD_USER_PASSWORD": "pw",
    }
    text = yaml.safe_dump(template["objects"][0])
    text = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)
    vm = yaml.safe_load(text)
    assert admit("VirtualMachine", vm).allowed


# ---- quantities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1Gi", 1024**3),
        ("1024M", 1024 * 10**6),
        ("500m", Decimal("0.5")),
        ("1.5Gi", Decimal(3 * 1024**3) / 2),
        ("1e3", 1000),
        ("1E3", 1000),
        ("2E", 2 * 10**18),
        ("1k", 1000),
        ("+.5", Decimal("0.5")),
        ("5.", 5),
        ("-2Ki", -2048),
        ("100n", Decimal("1e-7")),
        ("3u", Decimal("3e-6")),
        ("1e-3", Decimal("0.001")),
        ("0", 0),
        (128, 128),
    ],
)
def test_parse_quantity(text: Any, value: Any) -> None:
    assert parse_quantity(text) == Decimal(value)


@pytest.mark.parametrize(
    "text",
    ["", "G", "1 G", "1K", "1Gb", "1GiB", "1e", "1e1.5", "1.2.3", "--1", ".", "1i", "0x10", " 1"],
)
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)


def test_parse_quantity_rejects_booleans() -> None:
    with pytest.raises(ValueError):
        parse_quantity(True)


SUFFIXES = {
    **{
        s: Decimal(1024) ** p
        for s, p in {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}.items()
    },
    **{
        s: Decimal(10) ** e
        for s, e in {
            "n": -9,
            "u": -6,
            "m": -3,
            "": 0,
            "k": 3,
            "M": 6,
            "G": 9,
            "T": 12,
            "P": 15,
            "E": 18,
        }.items()
    },
}


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(sorted(SUFFIXES)))
def test_quantity_suffixes(number: int, suffix: str) -> None:
    with localcontext(Context(prec=100)):  # the default 28 digits would round the product
        expected = number * SUFFIXES[suffix]
    assert parse_quantity(f"{number}{suffix}") == expected


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30))
def test_format_parse_round_trip(value: Decimal) -> None:
    text = format_quantity(value)
    assert re.match(QUANTITY_PATTERN, text), text
    assert parse_quantity(text) == value


@given(st.integers(min_value=0, max_value=2**70), st.booleans())
def test_format_parse_round_trip_integers(value: int, binary: bool) -> None:
    text = format_quantity(value, binary=binary)
    assert parse_quantity(text) == value


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["Ki", "Mi", "Gi", "Ti"]))
def test_format_binary_picks_the_largest_suffix(number: int, suffix: str) -> None:
    value = parse_quantity(f"{number}{suffix}")
    text = format_quantity(value, binary=True)
    assert parse_quantity(text) == value
    match = re.fullmatch(r"(\d+)([KMGTPE]i)", text)
    assert match, text  # a whole multiple of 1024 always gets a binary suffix
    # ... and the largest one: the number in front is no multiple of 1024 again.
    assert int(match.group(1)) % 1024 != 0 or match.group(2) == "Ei"


def test_format_examples() -> None:
    assert format_quantity(Decimal(1024**3), binary=True) == "1Gi"
    assert format_quantity(Decimal(1024**3)) == "1073741824"
    assert format_quantity(Decimal("0.5")) == "500m"
    assert format_quantity(Decimal(2 * 10**9)) == "2G"
    assert format_quantity(Decimal("1.5e-12")) == "15e-13"
