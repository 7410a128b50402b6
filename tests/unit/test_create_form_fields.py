"""Where the create form shows a problem: field ids and server cause paths to form slots."""

from __future__ import annotations

from screens.create_vm import form_field_for, slot_of
from tui.kubevirt.builder import (
    BootSource,
    CloudInit,
    DiskSpec,
    NicSpec,
    VmForm,
    build_vm,
)


def form() -> VmForm:
    return VmForm(
        name="web",
        namespace="default",
        boot=BootSource("http", url="https://example.com/d.qcow2", size="10Gi"),
        disks=[DiskSpec("data", "blank", "5Gi")],
        nics=[NicSpec("default"), NicSpec("lan", "br-vlan100", "bridge")],
        cloud_init=CloudInit(user="fedora"),
    )


def test_slots_of_field_ids() -> None:
    assert slot_of("name") == "name"
    assert slot_of("sockets") == slot_of("threads") == "cpu"
    assert slot_of("boot.url") == "boot-source"
    assert slot_of("boot.size") == slot_of("boot.storage_class") == "boot-disk"
    assert slot_of("disks[1].size") == "disk-1"
    assert slot_of("nics[0].mac") == "nic-0"
    assert slot_of("cloud_init.ssh_keys[0]") == "cloud-init"
    assert slot_of("termination_grace_period") == slot_of("") == "general"


def test_server_cause_paths_land_on_their_fields() -> None:
    f = form()
    vm = build_vm(f)
    t = "spec.template.spec."
    cases = {
        "metadata.name": "name",
        "metadata.labels": "labels",
        "spec.instancetype.name": "instancetype",
        "spec.runStrategy": "run_strategy",
        f"{t}domain.memory.guest": "memory",
        f"{t}domain.resources.requests.memory": "memory",
        f"{t}domain.cpu.cores": "cores",
        f"{t}domain.devices.disks[0].cache": "boot.disk",
        f"{t}domain.devices.disks[1].disk.bus": "disks[0].bus",
        f"{t}domain.devices.disks[2].name": "cloud_init",
        f"{t}volumes[1].dataVolume.name": "disks[0].disk",
        f"{t}domain.devices.interfaces[1].macAddress": "nics[1].mac",
        f"{t}domain.devices.interfaces[0].bootOrder": "nics[0].boot_order",
        f"{t}networks[1].multus.networkName": "nics[1].network",
        "spec.dataVolumeTemplates[0].spec.storage.resources.requests.storage": "boot.size",
        "spec.dataVolumeTemplates[1].spec.storage": "disks[0].size",
        "spec.template.spec.nodeSelector": "",
    }
    for path, expected in cases.items():
        assert form_field_for(path, vm, f) == expected, path
