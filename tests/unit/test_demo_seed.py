"""The demo cluster's seed data is complete, consistent and valid for KubeVirt's webhooks."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tui.cluster.kinds import by_gvk
from tui.demo.seed import INTENDED_STATES, seed_actions, seed_objects

OBJECTS = seed_objects()
SAMPLE = Path("/work/shared/kubevirt-examples/00-product-sample-vm.yaml")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PARAM_REF = re.compile(r"\$\{\{?([A-Za-z0-9_]+)\}?\}")


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in OBJECTS if o["kind"] == kind]


def vms() -> list[dict[str, Any]]:
    return of_kind("VirtualMachine")


def vm_id(vm: dict[str, Any]) -> str:
    return f"{vm['metadata']['namespace']}/{vm['metadata']['name']}"


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


# --- every object ---------------------------------------------------------------------------


def test_every_object_has_apiversion_kind_and_name() -> None:
    for obj in OBJECTS:
        assert obj.get("apiVersion"), obj
        assert obj.get("kind"), obj
        assert obj.get("metadata", {}).get("name"), obj


def test_every_kind_is_known() -> None:
    for obj in OBJECTS:
        by_gvk(obj["apiVersion"], obj["kind"])  # raises KeyError if unknown
        kind = by_gvk(obj["apiVersion"], obj["kind"])
        assert kind.api_version == obj["apiVersion"], f"{obj['kind']} should use {kind.api_version}"


def test_namespaced_kinds_live_in_seeded_namespaces() -> None:
    namespaces = {o["metadata"]["name"] for o in of_kind("Namespace")}
    for obj in OBJECTS:
        kind = by_gvk(obj["apiVersion"], obj["kind"])
        ns = obj["metadata"].get("namespace")
        if kind.namespaced:
            assert ns in namespaces, f"{obj['kind']} {obj['metadata']['name']} in {ns!r}"
        else:
            assert ns is None, (
                f"cluster-scoped {obj['kind']} {obj['metadata']['name']} has a namespace"
            )


def test_names_unique_per_kind_and_namespace() -> None:
    keys = Counter(
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in OBJECTS
    )
    dupes = [k for k, n in keys.items() if n > 1]
    assert not dupes


def test_names_are_dns1123() -> None:
    for obj in OBJECTS:
        assert DNS1123_SUBDOMAIN.match(obj["metadata"]["name"]), obj["metadata"]["name"]
    for vm in vms():
        assert DNS1123_LABEL.match(vm["metadata"]["name"])


def test_no_status_or_server_fields_except_nodes_and_pvcs() -> None:
    for obj in OBJECTS:
        meta = obj["metadata"]
        for field in ("uid", "resourceVersion", "creationTimestamp", "generation"):
            assert field not in meta, f"{obj['kind']} {meta['name']} has {field}"
        if obj["kind"] in ("Node", "PersistentVolumeClaim"):
            assert "status" in obj
        else:
            assert "status" not in obj, f"{obj['kind']} {meta['name']} has a status"


def test_creation_order() -> None:
    order = [o["kind"] for o in OBJECTS]
    first_non_ns = next(i for i, k in enumerate(order) if k != "Namespace")
    assert all(k != "Namespace" for k in order[first_non_ns:])
    assert order.index("Node") < order.index("StorageClass")
    last_cluster = max(
        i for i, o in enumerate(OBJECTS) if not by_gvk(o["apiVersion"], o["kind"]).namespaced
    )
    first_namespaced = min(
        i for i, o in enumerate(OBJECTS) if by_gvk(o["apiVersion"], o["kind"]).namespaced
    )
    assert last_cluster < first_namespaced
    first_vm = order.index("VirtualMachine")
    assert all(k in ("VirtualMachine", "VirtualMachineSnapshot") for k in order[first_vm:])
    # DataSources come after the DataVolumes that back them.
    assert order.index("DataVolume") < order.index("DataSource")


def test_objects_are_serialisable_and_fresh() -> None:
    text = yaml.safe_dump_all(OBJECTS)
    assert list(yaml.safe_load_all(text)) == OBJECTS
    json.dumps(OBJECTS)
    again = seed_objects()
    again[0]["metadata"]["name"] = "changed"
    assert seed_objects()[0]["metadata"]["name"] != "changed"


# --- content required by the issue ----------------------------------------------------------


def test_counts() -> None:
    assert len(vms()) >= 12
    assert len(of_kind("Template")) >= 5
    u1 = [
        o
        for o in of_kind("VirtualMachineClusterInstancetype")
        if o["metadata"]["name"].startswith("u1.")
    ]
    assert len(u1) == 4
    assert len(of_kind("Node")) == 3


def test_namespaces() -> None:
    names = {o["metadata"]["name"] for o in of_kind("Namespace")}
    assert {
        "default",
        "vm-prod",
        "vm-dev",
        "kubevirt-os-images",
        "openshift",
        "openshift-cnv",
    } <= names


def test_nodes() -> None:
    for node in of_kind("Node"):
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == node["metadata"]["name"]
        assert labels["kubevirt.io/schedulable"] == "true"
        status = node["status"]
        assert {"cpu", "memory"} <= set(status["capacity"]) & set(status["allocatable"])
        ready = [c for c in status["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
        assert status["nodeInfo"]["architecture"] == "amd64"
        assert status["nodeInfo"]["kubeletVersion"].startswith("v")
        assert status["nodeInfo"]["osImage"]
    assert sorted(n["metadata"]["name"] for n in of_kind("Node")) == [
        "node-01",
        "node-02",
        "node-03",
    ]


def test_storage_classes() -> None:
    scs = {o["metadata"]["name"]: o for o in of_kind("StorageClass")}
    local = scs["local-storage"]
    assert local["provisioner"] == "kubevirt.io.hostpath-provisioner"
    assert local["reclaimPolicy"] == "Delete"
    assert local["allowVolumeExpansion"] is True
    assert local["volumeBindingMode"] == "Immediate"
    assert local["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    defaults = [
        sc
        for sc in scs.values()
        if sc["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class")
        == "true"
    ]
    assert len(defaults) == 1 and len(scs) >= 2


def test_instancetypes_and_preferences() -> None:
    its = {o["metadata"]["name"]: o for o in of_kind("VirtualMachineClusterInstancetype")}
    expected = {
        "u1.small": (1, "2Gi"),
        "u1.medium": (1, "4Gi"),
        "u1.large": (2, "8Gi"),
        "u1.xlarge": (4, "16Gi"),
    }
    for name, (cpu, mem) in expected.items():
        spec = its[name]["spec"]
        assert spec["cpu"]["guest"] == cpu and spec["memory"]["guest"] == mem
        labels = its[name]["metadata"]["labels"]
        assert labels["instancetype.kubevirt.io/cpu"] == str(cpu)
        assert labels["instancetype.kubevirt.io/memory"] == mem
        assert (
            "instancetype.kubevirt.io/vendor" in labels
            and "instancetype.kubevirt.io/class" in labels
        )
    prefs = {o["metadata"]["name"] for o in of_kind("VirtualMachineClusterPreference")}
    assert {"fedora", "centos.stream9", "rhel.9", "ubuntu", "windows.10"} <= prefs
    assert any(
        o["metadata"]["namespace"] == "vm-dev" for o in of_kind("VirtualMachineInstancetype")
    )
    assert any(o["metadata"]["namespace"] == "vm-dev" for o in of_kind("VirtualMachinePreference"))


def test_instancetype_and_preference_references_resolve() -> None:
    cluster = {
        "instancetype": {
            o["metadata"]["name"] for o in of_kind("VirtualMachineClusterInstancetype")
        },
        "preference": {o["metadata"]["name"] for o in of_kind("VirtualMachineClusterPreference")},
    }
    namespaced = {
        "instancetype": {
            (o["metadata"]["namespace"], o["metadata"]["name"])
            for o in of_kind("VirtualMachineInstancetype")
        },
        "preference": {
            (o["metadata"]["namespace"], o["metadata"]["name"])
            for o in of_kind("VirtualMachinePreference")
        },
    }
    used = set()
    for vm in vms():
        for field in ("instancetype", "preference"):
            ref = vm["spec"].get(field)
            if not ref:
                continue
            kind = ref.get("kind", "").lower()
            if kind.startswith("virtualmachinecluster") or not kind:
                assert ref["name"] in cluster[field], vm_id(vm)
                used.add((field, "cluster", ref["name"]))
            else:
                assert (vm["metadata"]["namespace"], ref["name"]) in namespaced[field], vm_id(vm)
                used.add((field, "namespaced", ref["name"]))
    assert ("instancetype", "cluster", "u1.medium") in used
    assert ("preference", "cluster", "fedora") in used
    assert any(kind == "namespaced" for _, kind, _ in used)


def test_golden_images() -> None:
    names = {"fedora", "centos-stream9", "rhel9", "ubuntu", "win10"}
    dss = {o["metadata"]["name"]: o for o in of_kind("DataSource")}
    dvs = {
        o["metadata"]["name"]: o
        for o in of_kind("DataVolume")
        if o["metadata"]["namespace"] == "kubevirt-os-images"
    }
    assert names <= set(dss) and names <= set(dvs)
    for name in names:
        ds = dss[name]
        assert ds["metadata"]["namespace"] == "kubevirt-os-images"
        assert ds["spec"]["source"]["pvc"] == {"namespace": "kubevirt-os-images", "name": name}
        dv = dvs[name]
        assert dv["spec"]["source"]["http"]["url"].startswith("http")
        assert dv["spec"]["storage"]["resources"]["requests"]["storage"] == "30Gi"
        assert dv["spec"]["storage"]["storageClassName"] == "local-storage"
    # The simulator makes PVCs for DataVolumes: only the one plain PVC is seeded.
    pvcs = of_kind("PersistentVolumeClaim")
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pvcs] == [
        ("vm-dev", "iso-library")
    ]
    assert pvcs[0]["status"]["phase"] == "Bound"
    assert pvcs[0]["status"]["capacity"]["storage"]


def test_nads() -> None:
    nads = of_kind("NetworkAttachmentDefinition")
    assert {(n["metadata"]["namespace"], n["metadata"]["name"]) for n in nads} >= {
        ("vm-prod", "br-vlan100"),
        ("vm-dev", "br-vlan100"),
    }
    for nad in nads:
        assert isinstance(nad["spec"]["config"], str)
        config = json.loads(nad["spec"]["config"])
        assert config["type"] == "bridge" and config["name"] == nad["metadata"]["name"]


def test_snapshots_point_at_seeded_vms() -> None:
    snaps = of_kind("VirtualMachineSnapshot")
    assert len(snaps) >= 2
    vm_keys = {(v["metadata"]["namespace"], v["metadata"]["name"]) for v in vms()}
    for snap in snaps:
        src = snap["spec"]["source"]
        assert src["apiGroup"] == "kubevirt.io" and src["kind"] == "VirtualMachine"
        assert (snap["metadata"]["namespace"], src["name"]) in vm_keys


def test_labels_everywhere() -> None:
    for vm in vms():
        if vm["metadata"]["name"] == "vm-example":
            continue
        labels = vm["metadata"]["labels"]
        assert {"app", "tier", "env"} <= set(labels), vm_id(vm)
    assert any("description" in vm["metadata"].get("annotations", {}) for vm in vms())


# --- virtual machines -----------------------------------------------------------------------


def test_vm_names() -> None:
    names = {(v["metadata"]["namespace"], v["metadata"]["name"]) for v in vms()}
    for ns, name in [
        ("vm-prod", "web-01"),
        ("vm-prod", "web-02"),
        ("vm-prod", "db-01"),
        ("vm-prod", "cache-01"),
        ("vm-dev", "dev-fedora"),
        ("vm-dev", "dev-ubuntu"),
        ("vm-dev", "pxe-installer"),
        ("vm-dev", "win-build"),
        ("openshift-cnv", "vm-example"),
    ]:
        assert (ns, name) in names
    assert set(INTENDED_STATES) == names


def test_run_strategies() -> None:
    strategies = Counter(v["spec"].get("runStrategy") for v in vms())
    assert {"Always", "Halted", "Manual", "RerunOnFailure"} <= set(strategies)
    for vm in vms():
        spec = vm["spec"]
        if vm_id(vm) == "openshift-cnv/vm-example":
            assert spec["running"] is False and "runStrategy" not in spec
        else:
            assert "runStrategy" in spec and "running" not in spec, vm_id(vm)


def test_intended_states_are_all_represented() -> None:
    states = set(INTENDED_STATES.values())
    assert {
        "Running",
        "Stopped",
        "Paused",
        "Provisioning",
        "Migrating",
        "ErrorUnschedulable",
    } <= states


def test_seed_actions_match_vms() -> None:
    by_key = {(v["metadata"]["namespace"], v["metadata"]["name"]): v for v in vms()}
    actions = seed_actions()
    assert ("pause", "vm-prod", "db-01") in actions
    assert ("migrate", "vm-prod", "web-02") in actions
    for verb, ns, name in actions:
        assert verb in ("pause", "migrate")
        vm = by_key[(ns, name)]
        assert vm["spec"]["runStrategy"] in ("Always", "RerunOnFailure")
        assert INTENDED_STATES[(ns, name)] == {"pause": "Paused", "migrate": "Migrating"}[verb]
        if verb == "migrate":
            assert vm["metadata"]["annotations"]["demo.kvtui.io/migration-seconds"] == "600"


def test_special_vms() -> None:
    by_name = {v["metadata"]["name"]: v for v in vms()}
    # Provisioning: an http import that takes long.
    provisioning = [
        v for v in vms() if v["metadata"].get("annotations", {}).get("demo.kvtui.io/import-seconds")
    ]
    assert provisioning
    for vm in provisioning:
        assert any("http" in t["spec"].get("source", {}) for t in vm["spec"]["dataVolumeTemplates"])
    # ErrorUnschedulable: a nodeSelector no node matches.
    node_labels = [n["metadata"]["labels"] for n in of_kind("Node")]
    unschedulable = [v for v in vms() if v["spec"]["template"]["spec"].get("nodeSelector")]
    assert unschedulable
    for vm in unschedulable:
        selector = vm["spec"]["template"]["spec"]["nodeSelector"]
        assert not any(all(lbl.get(k) == val for k, val in selector.items()) for lbl in node_labels)
    # Windows: sata disk, e1000e NIC, Hyper-V, no cloud-init.
    win = by_name["win-build"]["spec"]["template"]["spec"]
    assert win["domain"]["devices"]["disks"][0]["disk"]["bus"] == "sata"
    assert win["domain"]["devices"]["interfaces"][0]["model"] == "e1000e"
    assert {"acpi", "apic", "hyperv"} <= set(win["domain"]["features"])
    assert "timer" in win["domain"]["clock"]
    assert not any("cloudInitNoCloud" in v for v in win["volumes"])
    # PXE: NIC boots first, on a bridge to a NAD; the only disk is blank.
    pxe = by_name["pxe-installer"]
    pxe_spec = pxe["spec"]["template"]["spec"]
    nic = pxe_spec["domain"]["devices"]["interfaces"][0]
    assert nic["bootOrder"] == 1 and "bridge" in nic
    net = next(n for n in pxe_spec["networks"] if n["name"] == nic["name"])
    assert "multus" in net
    assert all(d.get("bootOrder", 99) > 1 for d in pxe_spec["domain"]["devices"]["disks"])
    assert all("blank" in t["spec"]["source"] for t in pxe["spec"]["dataVolumeTemplates"])
    # Multi-NIC: pod masquerade + bridge on a NAD.
    assert any(
        len(v["spec"]["template"]["spec"].get("networks", [])) >= 2
        and any("pod" in n for n in v["spec"]["template"]["spec"]["networks"])
        and any("multus" in n for n in v["spec"]["template"]["spec"]["networks"])
        for v in vms()
    )
    # A VM cloning the fedora DataSource.
    assert any(
        t["spec"].get("sourceRef", {}).get("name") == "fedora"
        and t["spec"]["sourceRef"].get("namespace") == "kubevirt-os-images"
        for v in vms()
        for t in v["spec"].get("dataVolumeTemplates", [])
    )


def test_linux_vms_have_cloud_init_logins() -> None:
    for vm in vms():
        volumes = vm["spec"]["template"]["spec"]["volumes"]
        cloud = [v["cloudInitNoCloud"] for v in volumes if "cloudInitNoCloud" in v]
        if vm["metadata"]["name"] in ("win-build", "pxe-installer"):
            assert not cloud
            continue
        assert cloud, vm_id(vm)
        text = cloud[0]["userData"]
        assert text.startswith("#cloud-config\n")
        data = yaml.safe_load(text)
        assert data["password"] and data["chpasswd"] == {"expire": False}
        if vm["metadata"]["name"] != "vm-example":
            assert data["user"]


def _vmi_spec(vm: dict[str, Any]) -> dict[str, Any]:
    return vm["spec"]["template"]["spec"]


@pytest.mark.parametrize("vm", vms(), ids=vm_id)
def test_vm_webhook_rules(vm: dict[str, Any]) -> None:
    spec = _vmi_spec(vm)
    devices = spec["domain"].get("devices", {})
    disks = devices.get("disks", [])
    volumes = spec.get("volumes", [])
    interfaces = devices.get("interfaces", [])
    networks = spec.get("networks", [])

    disk_names = [d["name"] for d in disks]
    volume_names = [v["name"] for v in volumes]
    assert len(set(disk_names)) == len(disk_names)
    assert len(set(volume_names)) == len(volume_names)
    for name in volume_names:
        assert name in disk_names, f"volume {name} has no disk"
    for disk in disks:
        if disk["name"] not in volume_names:
            assert "cdrom" in disk, f"disk {disk['name']} has no volume"
        devs = [k for k in ("disk", "cdrom", "lun") if k in disk]
        assert len(devs) <= 1
        bus = (disk.get(devs[0]) or {}).get("bus") if devs else None
        assert bus in (None, "virtio", "sata", "scsi", "usb")
        if "cdrom" in disk:
            assert bus != "virtio"
        if "disk" in disk and bus == "sata":
            assert not disk["disk"].get("readonly")

    iface_names = [i["name"] for i in interfaces]
    net_names = [n["name"] for n in networks]
    assert len(set(iface_names)) == len(iface_names)
    assert sorted(iface_names) == sorted(net_names)
    pod_nets = [n["name"] for n in networks if "pod" in n]
    assert len(pod_nets) <= 1
    for iface in interfaces:
        bindings = [
            k for k in ("masquerade", "bridge", "sriov", "passtBinding", "binding") if k in iface
        ]
        assert len(bindings) == 1, iface
        if "masquerade" in iface:
            assert iface["name"] in pod_nets, "masquerade only on the pod network"
        assert iface.get("model", "virtio") in (
            "e1000",
            "e1000e",
            "igb",
            "ne2k_pci",
            "pcnet",
            "rtl8139",
            "virtio",
        )
        assert re.match(r"^[A-Za-z0-9_-]+$", iface["name"])

    boot_orders = [d["bootOrder"] for d in disks + interfaces if "bootOrder" in d]
    assert len(set(boot_orders)) == len(boot_orders)
    assert all(b > 0 for b in boot_orders)
    for name in disk_names + volume_names:
        assert DNS1123_LABEL.match(name), name


@pytest.mark.parametrize("vm", vms(), ids=vm_id)
def test_vm_volumes_resolve(vm: dict[str, Any]) -> None:
    ns = vm["metadata"]["namespace"]
    templates = {t["metadata"]["name"] for t in vm["spec"].get("dataVolumeTemplates", [])}
    seeded_dvs = {
        o["metadata"]["name"] for o in of_kind("DataVolume") if o["metadata"]["namespace"] == ns
    }
    seeded_pvcs = {
        o["metadata"]["name"]
        for o in of_kind("PersistentVolumeClaim")
        if o["metadata"]["namespace"] == ns
    }
    for volume in _vmi_spec(vm)["volumes"]:
        if "dataVolume" in volume:
            name = volume["dataVolume"]["name"]
            assert name in templates or name in seeded_dvs, f"{vm_id(vm)}: DV {name}"
        if "persistentVolumeClaim" in volume:
            name = volume["persistentVolumeClaim"]["claimName"]
            assert name in templates or name in seeded_dvs or name in seeded_pvcs, (
                f"{vm_id(vm)}: PVC {name}"
            )
    datasources = {
        (o["metadata"]["namespace"], o["metadata"]["name"]) for o in of_kind("DataSource")
    }
    for tmpl in vm["spec"].get("dataVolumeTemplates", []):
        ref = tmpl["spec"].get("sourceRef")
        if ref:
            assert ref["kind"] == "DataSource"
            assert (ref.get("namespace", ns), ref["name"]) in datasources
        storage_class = tmpl["spec"].get("storage", {}).get("storageClassName")
        if storage_class:
            assert storage_class in {o["metadata"]["name"] for o in of_kind("StorageClass")}


def test_vm_multus_networks_resolve() -> None:
    nads = {
        (o["metadata"]["namespace"], o["metadata"]["name"])
        for o in of_kind("NetworkAttachmentDefinition")
    }
    for vm in vms():
        for net in _vmi_spec(vm).get("networks", []):
            if "multus" in net:
                ref = net["multus"]["networkName"]
                ns, _, name = ref.rpartition("/")
                assert (ns or vm["metadata"]["namespace"], name) in nads, vm_id(vm)


def test_product_sample_vm_is_verbatim() -> None:
    vm = next(v for v in vms() if v["metadata"]["name"] == "vm-example")
    if SAMPLE.exists():
        assert vm == yaml.safe_load(SAMPLE.read_text())
    assert vm["metadata"]["namespace"] == "openshift-cnv"
    spec = vm["spec"]["template"]["spec"]
    assert spec["domain"]["resources"]["requests"]["memory"] == "1G"
    assert spec["domain"]["machine"]["type"] == "virt"
    assert spec["volumes"][0]["containerDisk"]["image"] == "quay.io/containerdisks/fedora:35"


# --- templates ------------------------------------------------------------------------------


def test_templates() -> None:
    templates = {t["metadata"]["name"]: t for t in of_kind("Template")}
    for name in (
        "fedora-server-small",
        "fedora-server-medium",
        "fedora-server-large",
        "centos-stream9-server-small",
        "rhel9-server-small",
        "ubuntu-server-small",
        "windows10-desktop-medium",
    ):
        assert name in templates, name
    for name, tmpl in templates.items():
        assert tmpl["metadata"]["namespace"] == "openshift"
        labels = tmpl["metadata"]["labels"]
        assert labels["template.kubevirt.io/type"] == "base"
        assert "template.kubevirt.io/version" in labels
        assert any(k.startswith("os.template.kubevirt.io/") for k in labels)
        assert any(k.startswith("workload.template.kubevirt.io/") for k in labels)
        assert any(k.startswith("flavor.template.kubevirt.io/") for k in labels)
        annotations = tmpl["metadata"]["annotations"]
        for key in (
            "openshift.io/display-name",
            "description",
            "iconClass",
            "template.kubevirt.io/editable",
        ):
            assert key in annotations, (name, key)
        assert any(k.startswith("name.os.template.kubevirt.io/") for k in annotations)
        params = {p["name"]: p for p in tmpl["parameters"]}
        assert params["NAME"]["generate"] == "expression"
        assert re.fullmatch(r"[a-z0-9-]+-\[a-z0-9\]\{16\}", params["NAME"]["from"])
        assert params["DATA_SOURCE_NAMESPACE"]["value"] == "kubevirt-os-images"
        assert params["DATA_SOURCE_NAME"]["value"] in {
            o["metadata"]["name"] for o in of_kind("DataSource")
        }
        if name.startswith("windows"):
            assert "CLOUD_USER_PASSWORD" not in params
        else:
            assert params["CLOUD_USER_PASSWORD"]["from"] == "[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}"
        (vm,) = tmpl["objects"]
        assert vm["kind"] == "VirtualMachine" and vm["spec"]["runStrategy"] == "Halted"
    defaults = Counter(
        next(k for k in t["metadata"]["labels"] if k.startswith("os.template.kubevirt.io/"))
        for t in templates.values()
        if t["metadata"]["labels"].get("template.kubevirt.io/default-os-variant") == "true"
    )
    assert all(n == 1 for n in defaults.values())


def test_template_parameters_declared() -> None:
    for tmpl in of_kind("Template"):
        declared = {p["name"] for p in tmpl["parameters"]}
        used = {m for s in strings(tmpl["objects"]) for m in PARAM_REF.findall(s)}
        assert used <= declared, (tmpl["metadata"]["name"], used - declared)
        assert {"NAME", "DATA_SOURCE_NAME", "DATA_SOURCE_NAMESPACE"} <= used


def test_template_flavors() -> None:
    expected = {"small": (1, "2Gi"), "medium": (1, "4Gi"), "large": (2, "8Gi")}
    for tmpl in of_kind("Template"):
        name = tmpl["metadata"]["name"]
        domain = tmpl["objects"][0]["spec"]["template"]["spec"]["domain"]
        flavor = name.rsplit("-", 1)[1]
        cpus, memory = expected[flavor]
        if name == "ubuntu-server-small":
            memory = "3Gi"
        assert domain["cpu"]["sockets"] == cpus, name
        assert domain["memory"]["guest"] == memory, name


@pytest.mark.parametrize("tmpl", of_kind("Template"), ids=lambda t: t["metadata"]["name"])
def test_template_vms_follow_webhook_rules(tmpl: dict[str, Any]) -> None:
    test_vm_webhook_rules(tmpl["objects"][0])


# --- the admission module, when there is one ------------------------------------------------


@pytest.mark.parametrize("vm", vms(), ids=vm_id)
def test_vms_pass_admission(vm: dict[str, Any]) -> None:
    admission = pytest.importorskip(
        "tui.demo.admission", reason="tui/demo/admission.py not written yet"
    )
    result = admission.admit("VirtualMachine", vm)
    assert result.allowed, result.causes
