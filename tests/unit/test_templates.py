"""Template processing follows OpenShift's rules (brief §9)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.kubevirt.templates import TemplateError, generate, process_template


def template(**extra: object) -> dict:
    body = {
        "apiVersion": "template.openshift.io/v1",
        "kind": "Template",
        "metadata": {"name": "t"},
        "labels": {"kubevirt.io/size": "small", "from": "${NAME}"},
        "parameters": [
            {"name": "NAME", "generate": "expression", "from": "fedora-[a-z0-9]{16}"},
            {"name": "CPUS", "value": "2"},
            {"name": "PASSWORD", "required": True},
        ],
        "objects": [
            {
                "apiVersion": "kubevirt.io/v1",
                "kind": "VirtualMachine",
                "metadata": {
                    "name": "${NAME}",
                    "namespace": "openshift",
                    "labels": {"app": "${NAME}"},
                },
                "spec": {
                    "cpu": "${{CPUS}}",
                    "note": "${NAME} has ${CPUS} cpus and ${UNDECLARED}",
                    "userData": "password: ${PASSWORD}",
                },
            }
        ],
    }
    body.update(extra)
    return body


def test_values_substitute_inside_strings_and_as_non_strings() -> None:
    out = process_template(template(), {"NAME": "vm1", "PASSWORD": "pw"})
    vm = out["objects"][0]
    assert vm["metadata"]["name"] == "vm1"
    assert vm["spec"]["cpu"] == 2  # ${{CPUS}} becomes a number
    assert vm["spec"]["note"] == "vm1 has 2 cpus and ${UNDECLARED}"
    assert vm["spec"]["userData"] == "password: pw"
    assert [p["value"] for p in out["parameters"]] == ["vm1", "2", "pw"]


def test_template_labels_are_stamped_and_literal_namespace_dropped() -> None:
    vm = process_template(template(), {"NAME": "vm1", "PASSWORD": "pw"})["objects"][0]
    assert vm["metadata"]["labels"] == {"app": "vm1", "kubevirt.io/size": "small", "from": "vm1"}
    assert "namespace" not in vm["metadata"]


def test_parameterised_namespace_is_kept() -> None:
    body = template()
    body["objects"][0]["metadata"]["namespace"] = "${NAME}-ns"
    vm = process_template(body, {"NAME": "vm1", "PASSWORD": "pw"})["objects"][0]
    assert vm["metadata"]["namespace"] == "vm1-ns"


def test_generated_value_matches_its_expression() -> None:
    vm = process_template(template(), {"PASSWORD": "pw"}, rng=random.Random(1))["objects"][0]
    assert re.fullmatch(r"fedora-[a-z0-9]{16}", vm["metadata"]["name"])


def test_missing_required_parameter_names_it() -> None:
    with pytest.raises(TemplateError) as err:
        process_template(template(), {"NAME": "vm1"})
    assert err.value.causes[0]["field"] == "template.parameters[2]"
    assert "parameter PASSWORD is required" in err.value.causes[0]["message"]


def test_unknown_parameter_is_refused() -> None:
    with pytest.raises(TemplateError, match="NOPE"):
        process_template(template(), {"PASSWORD": "pw", "NOPE": "x"})


def test_the_input_is_not_modified() -> None:
    body = template()
    process_template(body, {"PASSWORD": "pw"})
    assert body == template()


@given(
    st.integers(1, 40),
    st.sampled_from(["[a-z0-9]", "[A-Z]", "\\d", "\\w", "[a-f0-9_-]"]),
    st.randoms(),
)
def test_generate_expressions(count: int, atom: str, rng: random.Random) -> None:
    value = generate(f"x{atom}{{{count}}}", rng)
    assert re.fullmatch(f"x{atom}{{{count}}}", value)


def test_common_templates_password_shape() -> None:
    assert re.fullmatch(
        r"[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}", generate("[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}")
    )
