"""Creating a VM from a template through the UI, against demo clusters.

- a template with required and generated parameters (a fresh demo): generated values are
  pre-filled, a required one left empty is refused with its message next to the field and
  nothing typed is lost; then the review creates the VM;
- the seeded Windows 10 template (`enter` on it in `:tmpl`): the VM is created, started,
  and reaches Running (its DataVolume cloned from the win10 DataSource first);
- a cluster without `processedtemplates`: the same screen processes locally.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_lifecycle import make_app, move_cursor_to, notifications, unique
from textual.widgets import Checkbox, Input, TextArea

from screens.create_review import CreateReviewScreen
from screens.create_template import PROCESSED, TEMPLATE_GV, CreateFromTemplateScreen
from screens.create_yaml import CreateYamlScreen
from screens.vm_details import VmDetailsScreen
from tui.cluster import discovery
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from widgets.resource_table import ResourceTable

SIZE = (100, 40)
NS = "default"


def template(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "template.openshift.io/v1",
        "kind": "Template",
        "metadata": {
            "name": name,
            "namespace": NS,
            "labels": {
                "os.template.kubevirt.io/fedora41": "true",
                "workload.template.kubevirt.io/server": "true",
                "flavor.template.kubevirt.io/tiny": "true",
            },
            "annotations": {
                "openshift.io/display-name": "Team VM",
                "description": "A small VM for a team [b]not markup[/b].",
            },
        },
        "objects": [
            {
                "apiVersion": "kubevirt.io/v1",
                "kind": "VirtualMachine",
                "metadata": {"name": "${NAME}", "labels": {"owner": "${OWNER}"}},
                "spec": {
                    "runStrategy": "Halted",
                    "template": {
                        "spec": {
                            "domain": {
                                "cpu": {"cores": 1},
                                "memory": {"guest": "1Gi"},
                                "devices": {"disks": [{"name": "root", "disk": {"bus": "virtio"}}]},
                            },
                            "volumes": [
                                {
                                    "name": "root",
                                    "containerDisk": {"image": "quay.io/containerdisks/fedora"},
                                }
                            ],
                        }
                    },
                },
            }
        ],
        "parameters": [
            {
                "name": "NAME",
                "description": "VM name",
                "generate": "expression",
                "from": "team-[a-z0-9]{8}",
            },
            {
                "name": "OWNER",
                "displayName": "Owner",
                "description": "Who runs it",
                "required": True,
            },
            {"name": "FLAVOUR", "value": "tiny"},
        ],
    }


@pytest.fixture
def fresh_connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


@pytest.fixture
def seeded_connection(kubeconfig: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(kubeconfig))
    yield conn
    conn.close()


def flat(text: str) -> str:
    return " ".join(text.split())


async def template_screen(pilot: Any, app: Any, wait_for: Any) -> CreateFromTemplateScreen:
    return await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, CreateFromTemplateScreen)
            and app.screen.query(Input)
            and app.screen
        ),
        what="the template screen",
    )


def field(screen: CreateFromTemplateScreen, name: str) -> Input:
    index = [p.name for p in screen.about.parameters].index(name)
    return screen.query_one(f"#param-{index}", Input)


def vm(connection: Connection, name: str) -> dict[str, Any] | None:
    try:
        return connection.request("GET", K.VMS.path(NS, name)).json()
    except Exception:  # noqa: BLE001 - not there (yet)
        return None


async def test_required_and_generated_parameters(
    fresh_connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    name = unique("tmpl")
    fresh_connection.request("POST", K.TEMPLATES.path(NS), body=template(name))
    app = make_app(fresh_connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        app.navigator.run(f"new --template {name}")
        screen = await template_screen(pilot, app, wait_for)
        await wait_for(pilot, lambda: "Team VM" in screen_text(app), what="the template shown")
        text = flat(screen_text(app))
        assert "Team VM" in text and "[b]not markup[/b]" in text
        assert "Workload server" in text and "Flavor tiny" in text
        generated = field(screen, "NAME").value
        assert re.fullmatch(r"team-[a-z0-9]{8}", generated)
        assert field(screen, "FLAVOUR").value == "tiny"
        # The required field is where the cursor starts.
        assert app.focused is field(screen, "OWNER")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Owner is required: fill it in" in flat(screen_text(app)))
        assert isinstance(app.screen, CreateFromTemplateScreen)
        assert app.focused is field(screen, "OWNER")
        assert field(screen, "NAME").value == generated  # nothing lost
        # A bad name is refused as it is typed, with a suggestion.
        name_input = field(screen, "NAME")
        name_input.focus()
        name_input.value = "Team_VM"
        await wait_for(pilot, lambda: "not a valid VM name" in flat(screen_text(app)))
        # ctrl+g: a fresh generated value.
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: re.fullmatch(r"team-[a-z0-9]{8}", name_input.value))
        vm_name = name_input.value
        field(screen, "OWNER").focus()
        await pilot.press(*"alice")
        await wait_for(pilot, lambda: "Owner is required" not in flat(screen_text(app)))
        await pilot.press("ctrl+s")
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        await wait_for(pilot, lambda: review.state == "ok", what="the dry run")
        assert screen.processed_by == "server"
        assert review.manifest["metadata"]["labels"]["owner"] == "alice"
        assert review.manifest["metadata"]["labels"]["vm.kubevirt.io/template.namespace"] == NS
        # Back: every value as typed.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert field(screen, "OWNER").value == "alice" and name_input.value == vm_name
        await pilot.press("ctrl+s")
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        await wait_for(pilot, lambda: review.state == "ok", what="the dry run")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, VmDetailsScreen), what="details")
        created = vm(fresh_connection, vm_name)
        assert created is not None and created["metadata"]["labels"]["owner"] == "alice"
        assert not any(isinstance(s, CreateFromTemplateScreen) for s in app.screen_stack)


async def test_unknown_template_is_a_notification(
    fresh_connection: Connection, wait_for: Any
) -> None:
    app = make_app(fresh_connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        app.navigator.run("new --template no-such-template")
        await wait_for(
            pilot,
            lambda: 'template "no-such-template" not found' in notifications(app),
            what="the notification",
        )
        assert not isinstance(app.screen, CreateFromTemplateScreen)


async def test_local_processing_and_edit_as_yaml(
    fresh_connection: Connection, wait_for: Any
) -> None:
    name = unique("tmpl")
    fresh_connection.request("POST", K.TEMPLATES.path(NS), body=template(name))
    # A cluster without the OpenShift template API: discovery lists no processedtemplates.
    discovery._cache(fresh_connection)[("resources", TEMPLATE_GV)] = []  # noqa: SLF001
    assert not discovery.serves(fresh_connection, TEMPLATE_GV, PROCESSED)
    app = make_app(fresh_connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        app.navigator.run(f"new --template {NS}/{name}")
        screen = await template_screen(pilot, app, wait_for)
        await wait_for(pilot, lambda: app.focused is field(screen, "OWNER"), what="focus")
        await pilot.press(*"bob")
        await pilot.press("ctrl+e")
        editor = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CreateYamlScreen)
                and app.screen.query(TextArea)
                and app.screen
            ),
            what="the YAML editor",
        )
        assert screen.processed_by == "local"
        text = editor.query_one(TextArea).text
        assert "owner: bob" in text and f"name: {field(screen, 'NAME').value}" in text


async def test_windows_from_template_reaches_running(
    seeded_connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    app = make_app(seeded_connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        app.navigator.run("tmpl openshift")
        await wait_for(
            pilot,
            lambda: (
                bool(app.screen.query(ResourceTable))
                and "windows10-desktop-medium" in screen_text(app)
            ),
            what="the templates",
        )
        await move_cursor_to(pilot, app, wait_for, "windows10-desktop-medium")
        await pilot.press("enter")
        screen = await template_screen(pilot, app, wait_for)
        await wait_for(pilot, lambda: "Windows" in screen_text(app), what="the template shown")
        text = flat(screen_text(app))
        assert "Microsoft Windows 10 (win10)" in text and "Workload desktop" in text
        # Browsing the templates in openshift, the VM still goes where the user works.
        assert screen.query_one("#tmpl-namespace", Input).value == NS
        vm_name = unique("win")
        name_input = field(screen, "NAME")
        name_input.value = vm_name
        screen.query_one("#tmpl-start", Checkbox).value = True
        await pilot.press("ctrl+s")
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        await wait_for(pilot, lambda: review.state == "ok", what="the dry run")
        assert review.start_after
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, VmDetailsScreen), what="details")
        created = vm(seeded_connection, vm_name)
        assert created is not None
        assert created["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["disk"] == {
            "bus": "sata"
        }
        await wait_for(
            pilot,
            lambda: (
                ((vm(seeded_connection, vm_name) or {}).get("status") or {}).get("printableStatus")
                == "Running"
            ),
            timeout=60,
            what="the Windows VM Running",
        )
        await wait_for(pilot, lambda: "Running" in screen_text(app), what="Running on screen")
        seeded_connection.request("DELETE", K.VMS.path(NS, vm_name))


async def test_customise_in_the_form(fresh_connection: Connection, wait_for: Any) -> None:
    from screens.create_vm import CreateVmScreen

    name = unique("tmpl")
    fresh_connection.request("POST", K.TEMPLATES.path(NS), body=template(name))
    app = make_app(fresh_connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        app.navigator.run(f"new --template {name}")
        screen = await template_screen(pilot, app, wait_for)
        await wait_for(pilot, lambda: app.focused is field(screen, "OWNER"), what="focus")
        await pilot.press(*"carol")
        vm_name = field(screen, "NAME").value
        await pilot.press("ctrl+f")
        form = await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, CreateVmScreen)
                and app.screen.query("#f-name")
                and app.screen
            ),
            what="the create form",
        )
        assert form.query_one("#f-name", Input).value == vm_name
        assert form.query_one("#f-namespace", Input).value == NS


async def test_read_only_creates_nothing_from_templates_or_yaml(
    fresh_connection: Connection, wait_for: Any
) -> None:
    from screens.yaml_view import YamlViewScreen

    name = unique("tmpl")
    fresh_connection.request("POST", K.TEMPLATES.path(NS), body=template(name))
    app = make_app(fresh_connection, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        for line in ("new --yaml", f"new --template {name}"):
            app.navigator.run(line)
            await wait_for(pilot, lambda: "read-only" in notifications(app), what="refusal")
            assert not isinstance(app.screen, (CreateYamlScreen, CreateFromTemplateScreen))
            app.clear_notifications()
        app.navigator.run(f"tmpl {NS}")
        await wait_for(pilot, lambda: app.screen.query(ResourceTable) and table_has(app, name))
        await move_cursor_to(pilot, app, wait_for, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, YamlViewScreen), what="its YAML")


def table_has(app: Any, name: str) -> bool:
    table = app.screen.query_one(ResourceTable)
    return any(table.row_text(key)[0] == name for key in table.keys())


async def test_a_value_typed_just_before_ctrl_s_counts(
    fresh_connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    from textual import events

    name = unique("tmpl")
    fresh_connection.request("POST", K.TEMPLATES.path(NS), body=template(name))
    app = make_app(fresh_connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        app.navigator.run(f"new --template {name}")
        screen = await template_screen(pilot, app, wait_for)
        await wait_for(pilot, lambda: app.focused is field(screen, "OWNER"), what="focus")
        for key, char in (("d", "d"), ("a", "a"), ("n", "n"), ("ctrl+s", None)):
            app.post_message(events.Key(key, char))
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        assert review.manifest["metadata"]["labels"]["owner"] == "dan"


async def test_template_names_complete_on_the_command_line(
    seeded_connection: Connection, wait_for: Any
) -> None:
    from screens.command_line import CommandInput

    app = make_app(seeded_connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
        await wait_for(pilot, lambda: app.navigator.templates, what="template names fetched")
        await pilot.press("colon")
        line = await wait_for(
            pilot, lambda: app.screen.query(CommandInput) and app.screen.query_one(CommandInput)
        )
        await pilot.press(*"new --template windows1")
        await pilot.press("tab")
        await wait_for(
            pilot,
            lambda: line.value == "new --template windows10-desktop-medium",
            what="completion",
        )
        await pilot.press("enter")
        await template_screen(pilot, app, wait_for)
