"""Creating a VM from YAML (`:new --yaml`, `kvtui create -f`) against a demo cluster.

Each bad input class shows its message where it applies and keeps the text as typed:
invalid YAML (line and column), a misspelled field (flagged before the server is asked),
a 422 from the server's dry run (its causes on their lines), a name clash (409).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kvtest import vm_manifest
from test_lifecycle import NS, make_app, unique
from textual.widgets import TextArea

from screens.create_review import CreateReviewScreen
from screens.create_yaml import CreateYamlScreen
from screens.vm_details import VmDetailsScreen
from tui.cli import CreateTarget
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.cluster.errors import ClusterError
from tui.kubevirt.manifest_check import STARTER_VM

SIZE = (100, 32)


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


def manifest(name: str) -> str:
    return STARTER_VM.replace("my-vm", name)


async def open_editor(pilot: Any, app: Any, wait_for: Any) -> CreateYamlScreen:
    await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
    app.navigator.run("new --yaml")
    return await editor_shown(pilot, app, wait_for)


async def editor_shown(pilot: Any, app: Any, wait_for: Any) -> CreateYamlScreen:
    return await wait_for(
        pilot,
        lambda: (
            isinstance(app.screen, CreateYamlScreen) and app.screen.query(TextArea) and app.screen
        ),
        what="the YAML editor",
    )


async def submit(pilot: Any, screen: CreateYamlScreen, wait_for: Any, text: str) -> None:
    """Put `text` in the editor and press ctrl+s; wait until the check is done."""
    screen.query_one(TextArea).load_text(text)
    before = screen.checks
    await pilot.press("ctrl+s")
    await wait_for(
        pilot,
        lambda: screen.checks > before or isinstance(pilot.app.screen, CreateReviewScreen),
        what="the check",
    )


def flat(text: str) -> str:
    """The screen's words with line breaks and padding folded (messages wrap)."""
    return " ".join(text.split())


def vm_exists(connection: Connection, name: str) -> bool:
    try:
        connection.request("GET", K.VMS.path(NS, name))
    except Exception:  # noqa: BLE001 - 404 is what we look for
        return False
    return True


async def test_starter_manifest_and_invalid_yaml_keeps_the_text(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        assert screen.text == STARTER_VM
        assert "kind: VirtualMachine" in screen_text(app)
        bad = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: [oops\n  x: 1\n"
        await submit(pilot, screen, wait_for, bad)
        text = screen_text(app)
        assert "line 5, column 4" in text, text
        assert "YAML error" in text
        assert screen.text == bad
        # The cursor went to the problem.
        assert screen.query_one(TextArea).cursor_location == (4, 3)


async def test_unknown_field_is_flagged_with_a_suggestion_before_the_server(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    name = unique("yu")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        bad = manifest(name).replace("  runStrategy: Halted", "  runStrategyy: Halted")
        await submit(pilot, screen, wait_for, bad)
        text = screen_text(app)
        line = bad.splitlines().index("  runStrategyy: Halted") + 1
        assert f"line {line}, column 3" in text, text
        assert 'unknown field "runStrategyy" (did you mean "runStrategy"?)' in flat(text)
        assert screen.text == bad
        assert not vm_exists(connection, name)


async def test_server_422_causes_are_shown_on_their_lines(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    name = unique("y422")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        bad = manifest(name).replace("cores: 1", "cores: -1")
        await submit(pilot, screen, wait_for, bad)
        text = screen_text(app)
        line = next(i for i, t in enumerate(bad.splitlines(), 1) if "cores: -1" in t)
        assert "dry run refused" in text, text
        assert f"line {line}" in text
        assert "spec.template.spec.domain.cpu.cores" in text
        assert "greater than or equal to 0" in flat(text)
        assert screen.text == bad
        assert not vm_exists(connection, name)


async def test_name_clash_is_shown_on_the_name_line(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    name = unique("yclash")
    connection.request("POST", K.VMS.path(NS), body=vm_manifest(name, namespace=NS))
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        text_in = manifest(name)
        await submit(pilot, screen, wait_for, text_in)
        text = screen_text(app)
        assert f'named "{name}" already exists in namespace {NS}' in flat(text), text
        assert "line 6, column 3" in text  # metadata.name
        assert screen.text == text_in


async def test_create_goes_through_the_review_to_the_details(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    name = unique("yok")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        good = manifest(name)
        await submit(pilot, screen, wait_for, good)
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        await wait_for(pilot, lambda: review.state == "ok", what="the review's dry run")
        # Back from the review: the text is as it was, nothing created.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back in the editor")
        assert screen.text == good and not vm_exists(connection, name)
        await pilot.press("ctrl+s")
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        await wait_for(pilot, lambda: review.state == "ok", what="the review's dry run")
        await pilot.press("ctrl+s")
        details = await wait_for(
            pilot, lambda: isinstance(app.screen, VmDetailsScreen) and app.screen, what="details"
        )
        assert details is not None
        assert vm_exists(connection, name)
        # The editor is gone: esc from the details lands on the list, not the editor.
        assert not any(isinstance(s, CreateYamlScreen) for s in app.screen_stack)


async def test_esc_with_changes_asks_twice(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        await pilot.press("tab")  # indents two spaces, as YAML is written
        assert screen.text == "  " + STARTER_VM
        assert app.focused is screen.query_one(TextArea)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "esc again throws it away" in screen_text(app))
        assert app.screen is screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not screen, what="the editor closed")


async def test_kvtui_create_f_opens_the_file_in_the_editor(
    connection: Connection, screen_text: Any, wait_for: Any, tmp_path: Path
) -> None:
    from tui.app import KvtuiApp
    from tui.cli import Settings, read_manifest

    name = unique("yfile")
    path = tmp_path / "vm.yaml"
    path.write_text("# from a file\n" + manifest(name))
    target = read_manifest(str(path))
    app = KvtuiApp(connection, Settings(namespace=NS, demo=True), create=target)
    async with app.run_test(size=SIZE) as pilot:
        screen = await editor_shown(pilot, app, wait_for)
        assert screen.text == "# from a file\n" + manifest(name)
        assert f"file {path}"[:40] in screen_text(app)
        await pilot.press("ctrl+s")
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        await wait_for(pilot, lambda: review.state == "ok", what="the review's dry run")
        await pilot.press("escape", "escape", "escape")
        # Leaving the editor lands on the VM list.
        await wait_for(pilot, lambda: type(app.screen).__name__ == "VmListScreen", what="VM list")


def test_create_target_is_what_the_app_takes() -> None:
    assert CreateTarget("x", "file y").origin == "file y"
    assert issubclass(ClusterError, Exception)


async def test_keys_typed_just_before_ctrl_s_are_checked(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    """A burst (paste, tmux, a busy machine): the check sees the text as typed, not as it
    was a moment before ctrl+s."""
    from textual import events

    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        area = screen.query_one(TextArea)
        area.load_text(manifest(unique("burst")))
        area.move_cursor(area.document.end)
        await pilot.pause()
        # Queued all at once, as a terminal delivers a burst: "x", "x", ctrl+s.
        for key, char in (("x", "x"), ("x", "x"), ("ctrl+s", None)):
            app.post_message(events.Key(key, char))
        await wait_for(pilot, lambda: screen.checks >= 1, what="the check")
        assert screen.text.endswith("xx")
        assert "YAML error" in screen_text(app)
        assert not isinstance(app.screen, CreateReviewScreen)


BUNDLE = """\
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata:
  name: {vm}-data
spec:
  source:
    blank: {{}}
  storage:
    resources:
      requests:
        storage: 1Gi
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineInstancetype
metadata:
  name: {it}
spec:
  cpu:
    guest: 1
  memory:
    guest: 1Gi
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: {vm}
spec:
  instancetype:
    name: {it}
    kind: virtualMachineInstancetype
  runStrategy: Halted
  template:
    spec:
      domain:
        devices: {{}}
      volumes:
        - name: root
          containerDisk:
            image: quay.io/containerdisks/fedora:latest
"""


async def test_a_vm_with_its_instancetype_is_created_together(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    it, name = unique("it"), unique("ybundle")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        # A misspelling in the companion is flagged on its own line.
        bad = BUNDLE.format(it=it, vm=name).replace("  storage:\n", "  storag:\n")
        await submit(pilot, screen, wait_for, bad)
        assert (
            'line 8, column 3: spec.storag: unknown field "storag" (did you mean "storage"?)'
            in flat(screen_text(app))
        ), screen_text(app)
        assert not vm_exists(connection, name)
        good = BUNDLE.format(it=it, vm=name)
        await submit(pilot, screen, wait_for, good)
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
        )
        assert [o["kind"] for o in review.objects] == [
            "DataVolume",
            "VirtualMachineInstancetype",
            "VirtualMachine",
        ]
        await wait_for(pilot, lambda: review.state == "ok", what="the review's dry run")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, VmDetailsScreen), what="details")
        assert vm_exists(connection, name)
        connection.request("GET", K.INSTANCETYPES.path(NS, it))
        connection.request("GET", K.DATAVOLUMES.path(NS, f"{name}-data"))


async def test_objects_kvtui_cannot_create_are_named(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(pilot, app, wait_for)
        text_in = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n" + manifest("yc")
        await submit(pilot, screen, wait_for, text_in)
        assert "line 2, column 1: kind: kvtui cannot create v1 ConfigMap" in flat(screen_text(app))
        assert screen.text == text_in


async def test_a_template_file_opens_the_template_screen(
    connection: Connection, screen_text: Any, wait_for: Any, tmp_path: Path
) -> None:
    import yaml

    from screens.create_template import CreateFromTemplateScreen
    from tui.app import KvtuiApp
    from tui.cli import Settings, read_manifest

    template = {
        "apiVersion": "template.openshift.io/v1",
        "kind": "Template",
        "metadata": {"name": "from-file"},
        "objects": [yaml.safe_load(manifest("${NAME}"))],
        "parameters": [{"name": "NAME", "required": True}],
    }
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template))
    app = KvtuiApp(connection, Settings(namespace=NS, demo=True), create=read_manifest(str(path)))
    async with app.run_test(size=SIZE) as pilot:
        await editor_shown(pilot, app, wait_for)
        await pilot.press("ctrl+s")
        screen = await wait_for(
            pilot,
            lambda: isinstance(app.screen, CreateFromTemplateScreen) and app.screen,
            what="the template screen",
        )
        assert [p.name for p in screen.about.parameters] == ["NAME"]
