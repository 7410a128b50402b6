"""Checking VM YAML before and around the dry run: positions, unknown fields, server errors."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tui.cluster.errors import Cause, ClusterError
from tui.kubevirt import manifest_check as check

VM_TEXT = check.STARTER_VM


def test_the_starter_manifest_is_a_valid_vm_with_no_unknown_fields() -> None:
    obj, problem = check.parse_manifest(VM_TEXT)
    assert problem is None and obj is not None
    assert check.unknown_fields(obj, check.builtin_schema()) == []


def test_a_syntax_error_has_line_and_column() -> None:
    text = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: [oops\n"
    obj, problem = check.parse_manifest(text)
    assert obj is None and problem is not None
    assert problem.line is not None and problem.column is not None
    assert problem.line >= 4
    assert "YAML error" in problem.message
    assert str(problem).startswith(f"line {problem.line}, column {problem.column}")


def test_bad_indentation_is_placed() -> None:
    text = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: a\n bad: 1\n"
    _, problem = check.parse_manifest(text)
    assert problem is not None and problem.line == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("- a\n- b\n", "mapping"),
        ("a: 1\n---\nb: 2\n", "2 documents"),
        ("apiVersion: v1\nkind: Pod\n", "expected apiVersion kubevirt.io/v1"),
    ],
)
def test_not_a_vm(text: str, expected: str) -> None:
    obj, problem = check.parse_manifest(text)
    assert obj is None and problem is not None and expected in problem.message


def test_wrong_kind_points_at_the_kind_line() -> None:
    _, problem = check.parse_manifest("apiVersion: kubevirt.io/v1\nkind: VirtualMachin\n")
    assert problem is not None and (problem.line, problem.field) == (2, "kind")


def test_locate_walks_maps_and_lists() -> None:
    assert check.locate(VM_TEXT, "metadata.name") == (6, 3)
    line, column = check.locate(VM_TEXT, "spec.template.spec.domain.devices.disks[1].disk.bus")
    assert VM_TEXT.splitlines()[line - 1][column - 1 :].startswith("bus: virtio")
    # The deepest part written: the list item exists, the field does not.
    line, _ = check.locate(VM_TEXT, "spec.template.spec.volumes[0].nope")
    assert "- name: rootdisk" in VM_TEXT.splitlines()[line - 1]
    assert check.locate(VM_TEXT, "nothing.here") is None
    assert check.locate("a: [", "a") is None


def test_paths_split_and_join_as_the_api_server_spells_them() -> None:
    path = "metadata.labels[app.kubernetes.io/name]"
    assert check.split_path(path) == ["metadata", "labels", "app.kubernetes.io/name"]
    assert check.join_path(check.split_path(path)) == path
    assert check.split_path("spec.volumes[3].name") == ["spec", "volumes", 3, "name"]


def _vm() -> dict:
    obj, _ = check.parse_manifest(VM_TEXT)
    assert obj is not None
    return copy.deepcopy(obj)


def test_misspelled_fields_are_found_with_suggestions() -> None:
    vm = _vm()
    domain = vm["spec"]["template"]["spec"]["domain"]
    domain["devicess"] = domain.pop("devices")
    vm["spec"]["runStrategyy"] = "Always"
    vm["spec"]["template"]["spec"]["volumes"][0]["containerDisk"]["imag"] = "x"
    found = check.unknown_fields(vm, check.builtin_schema())
    paths = [f.path for f in found]
    assert "spec.template.spec.domain.devicess" in paths
    assert "spec.runStrategyy" in paths
    assert "spec.template.spec.volumes[0].containerDisk.imag" in paths
    by_path = {f.path: f for f in found}
    assert by_path["spec.template.spec.domain.devicess"].suggestions[0] == "devices"
    assert 'did you mean "runStrategy"' in by_path["spec.runStrategyy"].message()


def test_free_form_places_take_anything() -> None:
    vm = _vm()
    vm["metadata"]["labels"]["anything.example.com/at-all"] = "x"
    vm["spec"]["template"]["metadata"]["annotations"] = {"whatever": "y"}
    assert check.unknown_fields(vm, check.builtin_schema()) == []


def test_unknown_field_problems_are_placed_on_their_lines() -> None:
    text = VM_TEXT.replace("runStrategy: Halted", "runStrategyy: Halted")
    obj, _ = check.parse_manifest(text)
    problems = check.unknown_field_problems(text, obj, check.builtin_schema())
    assert len(problems) == 1
    line = text.splitlines()[problems[0].line - 1]
    assert line.strip().startswith("runStrategyy:")


# ---- OpenAPI v3 as a real API server publishes a CRD ---------------------------------

OBJECT_META = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
OPENAPI = {
    "openapi": "3.0.0",
    "components": {
        "schemas": {
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": OBJECT_META,
            "io.kubevirt.v1.VirtualMachine": {
                "type": "object",
                "x-kubernetes-group-version-kind": [
                    {"group": "kubevirt.io", "kind": "VirtualMachine", "version": "v1"}
                ],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {
                        "allOf": [
                            {
                                "$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
                            }
                        ]
                    },
                    "spec": {
                        "type": "object",
                        "properties": {
                            "runStrategy": {"type": "string"},
                            "template": {
                                "type": "object",
                                "properties": {
                                    "metadata": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                    "spec": {
                                        "type": "object",
                                        "properties": {
                                            "volumes": {
                                                "type": "array",
                                                "items": {
                                                    "type": "object",
                                                    "properties": {
                                                        "name": {"type": "string"},
                                                        "containerDisk": {"type": "object"},
                                                        "cloudInitNoCloud": {"type": "object"},
                                                    },
                                                },
                                            },
                                            "domain": {"type": "object"},
                                            "networks": {"type": "array"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            },
        }
    },
}


def test_openapi_schema_finds_the_vm_by_gvk_and_resolves_refs() -> None:
    schema = check.openapi_schema(OPENAPI)
    assert schema is not None
    vm = _vm()
    vm["metadata"]["labels"]["x"] = "y"
    vm["metadata"]["nmae"] = "typo"
    vm["spec"]["template"]["spec"]["volumes"][1]["bogus"] = 1
    vm["spec"]["runStrateg"] = "x"
    paths = [f.path for f in check.unknown_fields(vm, schema)]
    assert paths == [
        "metadata.nmae",
        "spec.template.spec.volumes[1].bogus",
        "spec.runStrateg",
    ]
    found = {f.path: f for f in check.unknown_fields(vm, schema)}
    assert found["metadata.nmae"].suggestions == ("name",)


def test_a_document_without_schemas_gives_none() -> None:
    assert check.openapi_schema({"openapi": "3.0.0", "components": {"schemas": {}}}) is None
    assert check.openapi_schema(None) is None
    assert check.openapi_schema({"components": {"schemas": {"x": {"type": "object"}}}}) is None


# ---- the server's words ---------------------------------------------------------------


def test_422_causes_are_placed_on_the_lines_they_name() -> None:
    err = ClusterError(
        "Invalid",
        'VirtualMachine.kubevirt.io "my-vm" is invalid',
        status=422,
        causes=[
            Cause(
                "FieldValueInvalid",
                "spec.template.spec.domain.devices.disks[0].disk.bus",
                "spec.template.spec.domain.devices.disks[0].disk.bus: bus 'ide' is not supported",
            ),
            Cause("FieldValueRequired", "spec.nothere", "Required value"),
        ],
    )
    problems = check.server_problems(err, VM_TEXT)
    assert problems[0].message == "bus 'ide' is not supported"
    assert VM_TEXT.splitlines()[problems[0].line - 1].strip() == "bus: virtio"
    # A field not written anywhere: placed at the deepest part that is (spec).
    assert problems[1].line == check.locate(VM_TEXT, "spec")[0]


def test_strict_decoding_400_names_unknown_fields() -> None:
    text = VM_TEXT.replace("        memory:", "        memoryy:")
    detail = (
        'VirtualMachine in version "v1" cannot be handled as a VirtualMachine: strict decoding '
        'error: unknown field "spec.template.spec.domain.memoryy"'
    )
    err = ClusterError("Bad request", detail, status=400)
    problems = check.server_problems(err, text)
    assert [p.field for p in problems] == ["spec.template.spec.domain.memoryy"]
    assert "memoryy" in text.splitlines()[problems[0].line - 1]


def test_other_errors_are_one_unplaced_problem() -> None:
    err = ClusterError(
        "Forbidden", "nope", summary="you may not create virtualmachines", status=403
    )
    (problem,) = check.server_problems(err, VM_TEXT)
    assert problem.line is None and "you may not create" in problem.message


@given(st.text(max_size=200))
def test_parse_never_raises(text: str) -> None:
    obj, problem = check.parse_manifest(text)
    assert (obj is None) != (problem is None)


@given(st.text(alphabet="abc.[]0123", max_size=30))
def test_locate_never_raises(path: str) -> None:
    check.locate(VM_TEXT, path)


def test_yaml_dump_of_the_starter_round_trips() -> None:
    obj, _ = check.parse_manifest(VM_TEXT)
    again, problem = check.parse_manifest(yaml.safe_dump(obj))
    assert problem is None and again == obj


# ---- several documents: a VM and what goes with it, or a Template --------------------

INSTANCETYPE_BUNDLE = """\
# a comment before the first document
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata:
  name: cmedium
spec:
  cpu:
    guest: 1
  memory:
    guest: 1Gi
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: fedora
spec:
  instancetype:
    name: cmedium
    kind: virtualMachineInstancetype
  runStrategy: Always
  template:
    spec:
      domain:
        devices: {}
"""


def test_a_vm_with_companions() -> None:
    bundle, problem = check.parse_bundle(INSTANCETYPE_BUNDLE)
    assert problem is None and bundle is not None
    assert bundle.vm == 1 and bundle.vm_object["metadata"]["name"] == "fedora"
    assert [obj["kind"] for _, obj in bundle.extras] == ["VirtualMachineInstancetype"]
    # Places are found in the right document.
    assert check.locate(INSTANCETYPE_BUNDLE, "metadata.name", 1) == (16, 3)
    assert check.locate(INSTANCETYPE_BUNDLE, "metadata.name", 0) == (6, 3)
    assert check.locate(INSTANCETYPE_BUNDLE, "", 1) == (13, 1)
    assert check.locate(INSTANCETYPE_BUNDLE, "x", 5) is None


def test_two_vms_are_refused_at_the_second() -> None:
    text = VM_TEXT + "---\n" + VM_TEXT.replace("my-vm", "other")
    bundle, problem = check.parse_bundle(text)
    assert bundle is None and problem is not None
    assert "2 VirtualMachines" in problem.message
    assert problem.line is not None and problem.line > VM_TEXT.count("\n")


def test_a_template_alone_is_a_template() -> None:
    text = "apiVersion: template.openshift.io/v1\nkind: Template\nmetadata:\n  name: t\n"
    bundle, problem = check.parse_bundle(text)
    assert problem is None and bundle is not None and bundle.template == 0
    _, problem = check.parse_bundle(text + "---\n" + VM_TEXT)
    assert problem is not None and "on its own" in problem.message


def test_no_vm_among_documents() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkind: Secret\n"
    _, problem = check.parse_bundle(text)
    assert problem is not None and "no VirtualMachine" in problem.message
    _, problem = check.parse_bundle("apiVersion: v1\nkind: Pod\n")
    assert problem is not None and "expected apiVersion kubevirt.io/v1" in problem.message
    _, problem = check.parse_bundle(VM_TEXT + "---\n- a list\n")
    assert problem is not None and "must be a mapping" in problem.message


def test_a_single_vm_is_a_bundle_of_one() -> None:
    bundle, problem = check.parse_bundle(VM_TEXT)
    assert problem is None and bundle is not None and (bundle.vm, bundle.extras) == (0, [])
    _, problem = check.parse_bundle("a: [")
    assert problem is not None and problem.line == 1


def test_server_problems_are_placed_in_their_document() -> None:
    err = ClusterError(
        "Invalid",
        "x",
        status=422,
        causes=[Cause("FieldValueInvalid", "spec.memory.guest", "bad memory")],
    )
    (problem,) = check.server_problems(err, INSTANCETYPE_BUNDLE, 0)
    assert problem.line == 11  # the instancetype's memory.guest, not the VM's


@given(st.text(alphabet="ab: -\n[]{}#'\"---", max_size=120))
def test_parse_bundle_never_raises(text: str) -> None:
    bundle, problem = check.parse_bundle(text)
    assert (bundle is None) != (problem is None)
    if problem is not None and problem.line is not None:
        assert 1 <= problem.line <= text.count("\n") + 2
