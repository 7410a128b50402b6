"""What the template screen shows and sends, on the seeded common templates."""

from __future__ import annotations

import random

import pytest

from tui.demo import seed
from tui.kubevirt import template_info as info
from tui.kubevirt.templates import process_template


def templates() -> list[dict]:
    return [o for o in seed.seed_objects() if o["kind"] == "Template"]


def named(name: str) -> dict:
    return next(t for t in templates() if t["metadata"]["name"] == name)


def test_describe_a_common_template() -> None:
    about = info.describe(named("fedora-server-small"))
    assert about.display_name == "Fedora VM"
    assert about.description.startswith("Template for Fedora")
    assert about.operating_systems == ("Fedora Linux 41 or higher (fedora41, fedora42)",)
    assert (about.workload, about.flavor, about.cpus, about.memory) == (
        "server",
        "small",
        "1",
        "2Gi",
    )
    params = {p.name: p for p in about.parameters}
    assert params["NAME"].generated and params["NAME"].generate_from == "fedora-[a-z0-9]{16}"
    assert params["DATA_SOURCE_NAME"].default == "fedora"
    assert "generated from" in params["CLOUD_USER_PASSWORD"].hint()


def test_windows_template() -> None:
    about = info.describe(named("windows10-desktop-medium"))
    assert about.workload == "desktop" and about.flavor == "medium"
    assert about.operating_systems == ("Microsoft Windows 10 (win10)",)


def test_initial_values_generate_fresh_values_and_keep_defaults() -> None:
    template = named("fedora-server-small")
    values = info.initial_values(template, random.Random(1))
    assert values["NAME"].startswith("fedora-") and len(values["NAME"]) == len("fedora-") + 16
    assert values["DATA_SOURCE_NAME"] == "fedora"
    assert values != info.initial_values(template, random.Random(2))


REQUIRED = {
    "apiVersion": "template.openshift.io/v1",
    "kind": "Template",
    "metadata": {"name": "req", "namespace": "default"},
    "objects": [
        {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "metadata": {"name": "${NAME}"},
            "spec": {"runStrategy": "Halted", "template": {"spec": {}}},
        }
    ],
    "parameters": [
        {"name": "NAME", "required": True},
        {"name": "OWNER", "displayName": "Owner", "required": True},
    ],
}


def test_required_and_name_problems() -> None:
    assert info.parameter_problems(REQUIRED, {"NAME": "", "OWNER": ""}) == {
        "NAME": "NAME is required",
        "OWNER": "Owner is required",
    }
    problems = info.parameter_problems(REQUIRED, {"NAME": "Bad_Name", "OWNER": "me"})
    assert list(problems) == ["NAME"] and "not a valid VM name" in problems["NAME"]
    assert info.parameter_problems(REQUIRED, {"NAME": "ok", "OWNER": "me"}) == {}


def test_with_values_sets_values_and_drops_server_metadata() -> None:
    template = dict(named("fedora-server-small"))
    template["metadata"] = dict(template["metadata"], resourceVersion="7", uid="u")
    body = info.with_values(template, {"NAME": "vm1", "CLOUD_USER_PASSWORD": ""})
    assert "resourceVersion" not in body["metadata"] and "uid" not in body["metadata"]
    params = {p["name"]: p for p in body["parameters"]}
    assert params["NAME"]["value"] == "vm1"
    assert "value" not in params["CLOUD_USER_PASSWORD"]  # left for the processor to generate
    # The caller's template is untouched.
    assert all("value" not in p or p["name"] != "NAME" for p in template["parameters"])


@pytest.mark.parametrize("name", [t["metadata"]["name"] for t in templates()])
def test_vm_of_a_processed_template(name: str) -> None:
    template = named(name)
    values = info.initial_values(template, random.Random(3))
    processed = process_template(info.with_values(template, values))
    vm = info.vm_of(processed, "openshift")
    assert vm is not None and vm["metadata"]["name"] == values["NAME"]
    assert vm["metadata"]["labels"][info.TEMPLATE_NS_LABEL] == "openshift"
    assert info.other_objects(processed) == []


def test_only_spaces_is_not_a_value() -> None:
    template = named("fedora-server-small")
    problems = info.parameter_problems(template, {"NAME": " ", "DATA_SOURCE_NAME": "fedora"})
    assert problems["NAME"].startswith("only spaces") and "generated" in problems["NAME"]
