"""Templates processed by the server (`processedtemplates`) and locally give the same objects.

For every template the demo seeds, and for a hand-made one using every processing rule,
given the same parameter values. The UI processes on the server when discovery lists
`processedtemplates` and locally otherwise (`screens.create_template.process`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screens.create_template import PROCESSED, TEMPLATE_GV, find_template, parameter_errors, process
from tui.cluster import discovery
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.cluster.errors import ClusterError
from tui.cluster.operations import Operations
from tui.demo import seed
from tui.kubevirt import template_info as info
from tui.kubevirt.templates import TemplateError, process_template

SEEDED = [o for o in seed.seed_objects() if o["kind"] == "Template"]

RULES = {
    "apiVersion": "template.openshift.io/v1",
    "kind": "Template",
    "metadata": {"name": "rules", "namespace": "default"},
    "labels": {"made-by": "${OWNER}", "literal": "yes"},
    "objects": [
        {
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "metadata": {"name": "${NAME}", "namespace": "somewhere-else"},
            "spec": {
                "runStrategy": "${STRATEGY}",
                "template": {
                    "spec": {
                        "domain": {
                            "cpu": {"cores": "${{CORES}}"},
                            "memory": {"guest": "${MEMORY}"},
                            "devices": {},
                        },
                        "terminationGracePeriodSeconds": "${{GRACE}}",
                    }
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "${NAME}-notes", "namespace": "${TARGET_NS}"},
            "data": {"text": "${NAME} belongs to ${OWNER} (${NAME})", "raw": "${{OWNER}}"},
        },
    ],
    "parameters": [
        {"name": "NAME", "generate": "expression", "from": "rules-[a-z0-9]{8}"},
        {"name": "OWNER", "required": True},
        {"name": "STRATEGY", "value": "Halted"},
        {"name": "CORES", "value": "2"},
        {"name": "GRACE", "value": "30"},
        {"name": "MEMORY", "value": "1Gi"},
        {"name": "TARGET_NS", "value": "default"},
        {"name": "UNUSED", "generate": "expression", "from": "\\w{12}"},
    ],
}


@pytest.fixture(scope="module")
def conn(kubeconfig: Path) -> Iterator[Connection]:
    c = Connection.from_kubeconfig(str(kubeconfig))
    yield c
    c.close()


@pytest.fixture(scope="module")
def ops(conn: Connection) -> Operations:
    return Operations(conn)


def both(ops: Operations, template: dict[str, Any], values: dict[str, str]) -> tuple[Any, Any]:
    body = info.with_values(template, values)
    return ops.process_template("default", body), process_template(body)


@pytest.mark.parametrize("template", [*SEEDED, RULES], ids=lambda t: t["metadata"]["name"])
def test_server_and_local_processing_give_the_same_objects(
    ops: Operations, template: dict[str, Any]
) -> None:
    values = info.initial_values(template, random.Random(7))
    if template is RULES:
        values["OWNER"] = "ops-team"
    server, local = both(ops, template, values)
    assert server["objects"] == local["objects"]
    assert [p.get("value") for p in server["parameters"]] == [
        p.get("value") for p in local["parameters"]
    ]
    vm = info.vm_of(server)
    assert vm is not None and vm["metadata"]["name"] == values["NAME"]
    if template is RULES:
        spec = vm["spec"]["template"]["spec"]
        assert spec["domain"]["cpu"]["cores"] == 2  # ${{P}}: a number, not a string
        assert spec["terminationGracePeriodSeconds"] == 30
        assert "namespace" not in vm["metadata"]  # a literal namespace is dropped
        notes = server["objects"][1]
        assert notes["metadata"]["namespace"] == "default"  # a parameter one is kept
        assert notes["data"]["text"] == f"{values['NAME']} belongs to ops-team ({values['NAME']})"
        assert vm["metadata"]["labels"] == {"made-by": "ops-team", "literal": "yes"}


def test_values_left_empty_are_generated_on_both_sides(ops: Operations) -> None:
    values = {"OWNER": "me"}
    server, local = both(ops, RULES, values)
    for processed in (server, local):
        name = processed["objects"][0]["metadata"]["name"]
        assert name.startswith("rules-") and len(name) == len("rules-") + 8
    # Generated independently: the same shape, (almost surely) not the same value.
    assert server["objects"][0]["metadata"]["name"] != local["objects"][0]["metadata"]["name"]


def test_a_missing_required_value_is_the_same_error_on_both_sides(ops: Operations) -> None:
    body = info.with_values(RULES, {"NAME": "x"})
    with pytest.raises(ClusterError) as server:
        ops.process_template("default", body)
    with pytest.raises(TemplateError) as local:
        process_template(body)
    assert server.value.status == 422
    assert [(c.field, c.message) for c in server.value.causes] == [
        (c["field"], c["message"]) for c in local.value.causes
    ]
    assert parameter_errors(RULES, server.value.causes) == parameter_errors(
        RULES, local.value.causes
    )
    assert "OWNER" in parameter_errors(RULES, server.value.causes)


def test_process_uses_the_server_when_discovery_lists_it(conn: Connection, ops: Operations) -> None:
    assert discovery.serves(conn, TEMPLATE_GV, PROCESSED)
    values = info.initial_values(SEEDED[0], random.Random(1))
    processed, by = process(conn, ops, "default", SEEDED[0], values)
    assert by == "server"
    assert processed["objects"] == process_template(info.with_values(SEEDED[0], values))["objects"]


def test_process_falls_back_to_local_without_processedtemplates(tmp_path: Path, demo: Any) -> None:
    """A cluster whose discovery has no processedtemplates (plain KubeVirt, no OpenShift)."""
    conn = Connection.from_kubeconfig(str(demo.write_kubeconfig(tmp_path / "config")))
    try:
        # What discovery answers for a cluster without the template API: nothing listed.
        discovery._cache(conn)[("resources", TEMPLATE_GV)] = []  # noqa: SLF001
        values = info.initial_values(SEEDED[0], random.Random(2))
        processed, by = process(conn, Operations(conn), "default", SEEDED[0], values)
        assert by == "local"
        expected = Operations(conn).process_template("default", info.with_values(SEEDED[0], values))
        assert processed["objects"] == expected["objects"]
    finally:
        conn.close()


def test_find_template_by_name_and_namespace(ops: Operations) -> None:
    assert (
        find_template(ops, "fedora-server-small", ["default", "openshift"])["metadata"]["namespace"]
        == "openshift"
    )
    # Not in the namespaces named: found anywhere.
    assert find_template(ops, "rhel9-server-small", ["default"])["metadata"]["name"] == (
        "rhel9-server-small"
    )
    assert find_template(ops, "openshift/ubuntu-server-small", [])["metadata"]["name"] == (
        "ubuntu-server-small"
    )
    with pytest.raises(ClusterError, match="not found in default"):
        find_template(ops, "no-such-template", ["default"])
    assert K.TEMPLATES.plural == "templates"


def test_vm_schema_asks_the_servers_openapi_first(conn: Connection) -> None:
    """The demo publishes OpenAPI v3 documents without component schemas (as a server
    whose CRDs have none would): kvtui falls back to its copy of the KubeVirt schema."""
    from screens.create_yaml import KUBEVIRT_OPENAPI, vm_schema

    document = discovery.openapi_document(conn, KUBEVIRT_OPENAPI)
    assert document is not None and document.get("openapi")
    _, source = vm_schema(conn)
    assert source == "kvtui's copy of the KubeVirt schema"


def test_a_user_who_may_not_process_gets_the_local_result(kubeconfig: Path) -> None:
    """The demo's viewer may read templates but not create processedtemplates (403), and a
    namespace the server does not know is a 404: both fall back to the local rules."""
    viewer = Connection.from_kubeconfig(str(kubeconfig), "kvtui-demo-viewer")
    try:
        values = info.initial_values(SEEDED[0], random.Random(4))
        with pytest.raises(ClusterError) as refused:
            Operations(viewer).process_template("vm-dev", info.with_values(SEEDED[0], values))
        assert refused.value.status == 403
        processed, by = process(viewer, Operations(viewer), "vm-dev", SEEDED[0], values)
        assert by == "local"
        assert (
            processed["objects"] == process_template(info.with_values(SEEDED[0], values))["objects"]
        )
    finally:
        viewer.close()
    admin = Connection.from_kubeconfig(str(kubeconfig))
    try:
        processed, by = process(admin, Operations(admin), "no-such-ns", SEEDED[0], values)
        assert by == "local"
    finally:
        admin.close()
