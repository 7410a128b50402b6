"""Strict field validation of the demo server: unknown fields and their API-server paths."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tui.demo.schema import (
    ANY,
    SCHEMAS,
    strict_error_message,
    unknown_fields,
    warning_messages,
)

MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
T = "spec.template.spec"


def docs() -> list[Any]:
    out = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for idx, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc and "kind" in doc:
                out.append(pytest.param(doc, id=f"{path.name}#{idx}"))
    return out


def fedora_vm() -> dict[str, Any]:
    (vm,) = yaml.safe_load_all((MANIFESTS / "01-vm-fedora-testvm.yaml").read_text())
    return vm


def alpine_vm() -> dict[str, Any]:
    docs_ = [
        d for d in yaml.safe_load_all((MANIFESTS / "03-vm-alpine-datavolume.yaml").read_text()) if d
    ]
    return docs_[0]


@pytest.mark.parametrize("doc", docs())
def test_example_manifests_have_no_unknown_fields(doc: dict[str, Any]) -> None:
    assert unknown_fields(doc["kind"], doc) == []


def test_example_template_objects_have_no_unknown_fields() -> None:
    (template,) = yaml.safe_load_all(
        (MANIFESTS / "04-template-fedora-server-small.yaml").read_text()
    )
    for obj in template["objects"]:
        assert unknown_fields(obj["kind"], obj) == []


def test_the_examples_exercise_the_schemas() -> None:
    kinds = {p.values[0]["kind"] for p in docs()}
    assert {
        "VirtualMachine",
        "DataVolume",
        "VirtualMachineSnapshot",
        "VirtualMachineClone",
    } <= kinds


# ---- misspelled fields, with the path the API server prints ---------------------------------


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (
            lambda vm: vm["spec"]["template"]["spec"]["domain"].update(devicess={}),
            f"{T}.domain.devicess",
        ),
        (lambda vm: vm.update(spce={}), "spce"),
        (lambda vm: vm["metadata"].update(lables={"a": "b"}), "metadata.lables"),
        (lambda vm: vm["spec"].update(runStrategyy="Always"), "spec.runStrategyy"),
        (
            lambda vm: vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"][1][
                "disk"
            ].update(buss="virtio"),
            f"{T}.domain.devices.disks[1].disk.buss",
        ),
        (
            lambda vm: vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0].update(
                bootorder=1
            ),
            f"{T}.domain.devices.disks[0].bootorder",
        ),
        (
            lambda vm: vm["spec"]["template"]["spec"]["volumes"][0]["containerDisk"].update(
                imagee="x"
            ),
            f"{T}.volumes[0].containerDisk.imagee",
        ),
        (
            lambda vm: vm["spec"]["template"]["spec"]["domain"]["devices"].update(rng={"rate": 1}),
            f"{T}.domain.devices.rng.rate",
        ),
        (
            lambda vm: vm["spec"]["template"]["spec"]["domain"]["resources"].update(request={}),
            f"{T}.domain.resources.request",
        ),
        (
            lambda vm: vm["spec"]["template"]["spec"]["accessCredentials"][0][
                "sshPublicKey"
            ].update(propagationMethods={}),
            f"{T}.accessCredentials[0].sshPublicKey.propagationMethods",
        ),
        (
            lambda vm: vm["spec"]["template"]["spec"].update(terminationGracePeriod=0),
            f"{T}.terminationGracePeriod",
        ),
        (
            lambda vm: vm["spec"]["template"]["spec"]["domain"].update(
                cpu={"dedicatedCPUPlacement": True}
            ),
            f"{T}.domain.cpu.dedicatedCPUPlacement",  # the CRD spells it dedicatedCpuPlacement
        ),
    ],
)
def test_misspelled_vm_fields(edit: Any, path: str) -> None:
    vm = fedora_vm()
    edit(vm)
    assert unknown_fields("VirtualMachine", vm) == [path]


def test_interface_and_network_fields() -> None:
    vm = fedora_vm()
    spec = vm["spec"]["template"]["spec"]
    spec["domain"]["devices"]["interfaces"] = [
        {"name": "default", "masquerade": {"ports": []}, "mac": "x"},
    ]
    spec["networks"] = [
        {"name": "default", "pod": {}},
        {"name": "b", "multus": {"networkname": "x"}},
    ]
    assert unknown_fields("VirtualMachine", vm) == [
        f"{T}.domain.devices.interfaces[0].masquerade.ports",
        f"{T}.domain.devices.interfaces[0].mac",
        f"{T}.networks[1].multus.networkname",
    ]


def test_data_volume_template_fields() -> None:
    vm = alpine_vm()
    dvt = vm["spec"]["dataVolumeTemplates"][0]
    dvt["spec"]["pvc"]["resource"] = {}
    dvt["spec"]["source"]["registry"]["uri"] = "docker://x"
    assert unknown_fields("VirtualMachine", vm) == [
        "spec.dataVolumeTemplates[0].spec.pvc.resource",
        "spec.dataVolumeTemplates[0].spec.source.registry.uri",
    ]


def test_several_unknown_fields_in_document_order() -> None:
    vm = fedora_vm()
    vm["spec"]["zzz"] = 1
    vm["spec"]["template"]["spec"]["aaa"] = 2
    vm["kindd"] = "x"
    # spec.template comes before the appended spec.zzz in the document
    assert unknown_fields("VirtualMachine", vm) == [f"{T}.aaa", "spec.zzz", "kindd"]


# ---- free-form places ---------------------------------------------------------------------


def test_free_form_parts_are_not_looked_into() -> None:
    vm = fedora_vm()
    spec = vm["spec"]["template"]["spec"]
    vm["metadata"]["labels"] = {"any/label": "x"}
    vm["metadata"]["annotations"] = {"anything": "goes"}
    vm["spec"]["template"]["metadata"] = {"labels": {"a": "b"}, "whatever": {"deep": 1}}
    vm["status"] = {"printableStatus": "Running", "madeUp": [{"x": 1}]}
    spec["nodeSelector"] = {"kubernetes.io/arch": "amd64"}
    spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}
    spec["tolerations"] = [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]
    spec["domain"]["clock"] = {"utc": {}, "timer": {"hpet": {"present": False}}, "madeUp": 1}
    spec["domain"]["resources"]["requests"]["nvidia.com/gpu"] = "1"
    spec["domain"]["features"] = {"hyperv": {"relaxed": {}, "vapic": {}}}
    spec["livenessProbe"] = {"httpGet": {"port": 80}}
    assert unknown_fields("VirtualMachine", vm) == []


def test_object_meta_fields() -> None:
    vm = fedora_vm()
    vm["metadata"].update(
        namespace="default",
        uid="u",
        resourceVersion="1",
        generation=1,
        creationTimestamp="2024-01-01T00:00:00Z",
        ownerReferences=[],
        finalizers=["x"],
        managedFields=[{"manager": "kubectl"}],
        generateName="vm-",
    )
    assert unknown_fields("VirtualMachine", vm) == []


def test_wrong_types_are_not_unknown_fields() -> None:
    vm = fedora_vm()
    vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"] = "nope"
    vm["spec"]["template"]["spec"]["volumes"] = [None, 3]
    vm["spec"]["template"]["spec"]["networks"] = {"name": "x"}
    assert unknown_fields("VirtualMachine", vm) == []


# ---- other kinds --------------------------------------------------------------------------


def test_vmi_paths_start_at_spec() -> None:
    vm = fedora_vm()
    vmi = {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachineInstance",
        "metadata": {"name": "testvm"},
        "spec": copy.deepcopy(vm["spec"]["template"]["spec"]),
        "status": {"phase": "Running", "interfaces": [{"ipAddress": "10.0.0.1"}]},
    }
    assert unknown_fields("VirtualMachineInstance", vmi) == []
    vmi["spec"]["domain"]["devices"]["disks"][0]["disk"]["bus_"] = "x"
    assert unknown_fields("VirtualMachineInstance", vmi) == [
        "spec.domain.devices.disks[0].disk.bus_"
    ]


def test_data_volume_kind() -> None:
    dv = {
        "apiVersion": "cdi.kubevirt.io/v1beta1",
        "kind": "DataVolume",
        "metadata": {"name": "d"},
        "spec": {
            "source": {"http": {"url": "https://x"}},
            "storage": {"resources": {"requests": {"storage": "1Gi"}}},
        },
    }
    assert unknown_fields("DataVolume", dv) == []
    dv["spec"]["sorce"] = {}
    dv["spec"]["storage"]["storageClass"] = "fast"
    assert unknown_fields("DataVolume", dv) == ["spec.storage.storageClass", "spec.sorce"]


@pytest.mark.parametrize(
    ("kind", "spec", "path"),
    [
        (
            "VirtualMachineSnapshot",
            {"source": {"kind": "VirtualMachine", "nam": "x"}},
            "spec.source.nam",
        ),
        ("VirtualMachineRestore", {"virtualMachineSnapshot": "s"}, "spec.virtualMachineSnapshot"),
        ("VirtualMachineClone", {"template": {"labelFilter": []}}, "spec.template.labelFilter"),
        ("VirtualMachineInstanceMigration", {"vmi": "x"}, "spec.vmi"),
    ],
)
def test_other_kubevirt_kinds(kind: str, spec: dict, path: str) -> None:
    assert unknown_fields(kind, {"metadata": {"name": "x"}, "spec": spec}) == [path]


def test_kinds_without_schema_have_no_unknown_fields() -> None:
    junk = {
        "metadata": {"name": "x", "bogus": 1},
        "spec": {"whatever": True},
        "objects": [{"a": 1}],
    }
    for kind in ("Template", "NetworkAttachmentDefinition", "DataSource", "ConfigMap", "Nope"):
        assert unknown_fields(kind, junk) == []


def test_schema_nodes_are_well_formed() -> None:
    """Every node is ANY, a dict of nodes, or a one-element list of a node."""

    def check(node: Any, path: str) -> None:
        if node is ANY:
            return
        if isinstance(node, list):
            assert len(node) == 1, path
            check(node[0], path + "[]")
            return
        assert isinstance(node, dict), path
        for key, child in node.items():
            assert isinstance(key, str) and key, path
            check(child, f"{path}.{key}")

    for kind, schema in SCHEMAS.items():
        check(schema, kind)


# ---- messages -----------------------------------------------------------------------------


def test_strict_error_message() -> None:
    assert strict_error_message([f"{T}.domain.devicess"]) == (
        f'strict decoding error: unknown field "{T}.domain.devicess"'
    )
    assert strict_error_message(["spec.a", "spec.b"]) == (
        'strict decoding error: unknown field "spec.a", unknown field "spec.b"'
    )


def test_warning_messages() -> None:
    assert warning_messages(["spec.a", "spec.b[0].c"]) == [
        'unknown field "spec.a"',
        'unknown field "spec.b[0].c"',
    ]
