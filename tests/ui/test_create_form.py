"""The create form (screens/create_vm.py) end to end on demo clusters.

Each bad input class shows its message next to its field and keeps what was typed; VMs
made through the form (PXE, instancetype, DataVolume import) are created and run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kvtest import vm_manifest
from test_lifecycle import NS, create_vm, make_app, unique
from textual.widgets import Input, Select

from screens.create_review import CreateReviewScreen
from screens.create_vm import CreateVmScreen, YamlPreviewScreen, form_screen_for_vm
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.kubevirt.builder import VmForm

SIZE = (80, 24)
IMAGE = "quay.io/containerdisks/fedora:41"


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


def flat(text: str) -> str:
    return " ".join(text.split())


def error_of(screen: CreateVmScreen, slot: str) -> str:
    """The error text shown under a field ("" when none is shown)."""
    widget = screen._error_widget(slot)  # noqa: SLF001
    if widget is None or not widget.display:
        return ""
    return flat(str(widget.render()))


async def open_form(
    pilot: Any, app: Any, wait_for: Any, screen: CreateVmScreen | None = None
) -> CreateVmScreen:
    await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the first view")
    screen = screen or CreateVmScreen(NS)
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and screen.choices_loaded, what="form")
    return screen


async def type_into(pilot: Any, screen: CreateVmScreen, selector: str, text: str) -> None:
    """Focus a field and type into it (what was there replaced). A long text is pasted but
    for its last character, which is a real key press: the form reacts to keys as typed."""
    widget = screen.query_one(selector, Input)
    widget.focus()
    await pilot.pause()
    widget.value = text[:-1] if len(text) > 8 else ""
    widget.cursor_position = len(widget.value)
    typed = text[-1:] if len(text) > 8 else text
    if typed:
        await pilot.press(*typed)
    await pilot.pause()


async def choose(pilot: Any, screen: CreateVmScreen, selector: str, value: Any) -> None:
    """Pick `value` in a Select with the keyboard: enter opens it, arrows, enter picks."""
    select = screen.query_one(selector, Select)
    select.focus()
    await pilot.pause()
    values = [v for _, v in select._options]  # noqa: SLF001
    assert value in values, (value, values)
    current = values.index(select.value) if select.value in values else 0
    await pilot.press("enter")
    await pilot.pause()
    step = "down" if values.index(value) >= current else "up"
    for _ in range(abs(values.index(value) - current)):
        await pilot.press(step)
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == value


async def test_bad_name_then_taken_name_keeps_what_was_typed(
    connection: Connection, wait_for: Any
) -> None:
    taken = unique("taken")
    create_vm(connection, taken)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for)
        assert error_of(screen, "name") == ""  # nothing said before anything is typed
        await pilot.press(*"Web_01")
        await wait_for(pilot, lambda: "can't contain '_'" in error_of(screen, "name"))
        assert "try 'web-01'" in error_of(screen, "name")
        assert screen.query_one("#f-name", Input).value == "Web_01"

        await type_into(pilot, screen, "#f-name", taken)
        await wait_for(
            pilot,
            lambda: f"{taken} already exists in {NS}" in error_of(screen, "name"),
            what="taken name refused",
        )
        # ctrl+s refuses to go on, says why, and keeps everything.
        await type_into(pilot, screen, "#f-boot-image", IMAGE)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, CreateReviewScreen)
        assert screen.query_one("#f-name", Input).value == taken
        assert screen.query_one("#f-boot-image", Input).value == IMAGE
        assert app.focused is screen.query_one("#f-name", Input)


async def test_bad_quantity_shows_the_reason_next_to_memory(
    connection: Connection, wait_for: Any
) -> None:
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for)
        await type_into(pilot, screen, "#f-memory", "2 GB")
        await wait_for(pilot, lambda: "did you mean 2G or 2Gi?" in error_of(screen, "memory"))
        await type_into(pilot, screen, "#f-memory", "lots")
        await wait_for(pilot, lambda: "use a number with a unit" in error_of(screen, "memory"))
        await type_into(pilot, screen, "#f-memory", "2048Mi")
        await wait_for(pilot, lambda: error_of(screen, "memory") == "")
        # A disk size too, in an extra disk's row.
        screen.query_one("#add-disk").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query(".disk-size"))
        size = screen.query_one(".disk-size", Input)
        size.focus()
        size.value = ""
        await pilot.press(*"10 gib")
        await wait_for(pilot, lambda: "did you mean 10Gi?" in error_of(screen, "disk-0"))
        assert size.value == "10 gib"
        assert screen.query_one("#f-memory", Input).value == "2048Mi"


async def test_server_422_is_shown_next_to_its_field(
    connection: Connection, fresh_demo: Any, wait_for: Any
) -> None:
    """A VM from elsewhere (a template, YAML) carries settings the form has no field for;
    when the server refuses one, its cause lands next to the disk it names."""
    name = unique("srv")
    vm = vm_manifest(name, namespace=NS)
    vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"][0]["cache"] = "sometimes"
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for, form_screen_for_vm(vm))
        await type_into(pilot, screen, "#f-description", "typed by hand")
        before = len(fresh_demo.requests)
        await pilot.press("ctrl+s")
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen
        )
        await wait_for(pilot, lambda: review.dry_runs, what="the dry run")
        assert review.state == "failed"
        assert any("dryRun=All" in r.query for r in fresh_demo.requests[before:])
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await wait_for(pilot, lambda: "cache" in error_of(screen, "boot-disk"))
        assert "server:" in error_of(screen, "boot-disk")
        assert screen.query_one("#f-description", Input).value == "typed by hand"
        assert screen.query_one("#f-name", Input).value == name
        vms = connection.request("GET", K.VMS.path(NS)).json()["items"]
        assert name not in [v["metadata"]["name"] for v in vms]


async def test_n_on_the_list_and_colon_new_open_the_form(
    connection: Connection, wait_for: Any
) -> None:
    taken = unique("live")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the VM list")
        await pilot.press("n")
        screen = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateVmScreen) and app.screen, what="form"
        )
        assert screen.query_one("#f-namespace", Input).value == NS
        # A VM created now is known through the list's informer, and refused as typed.
        create_vm(connection, taken)
        await pilot.press(*taken)
        await wait_for(pilot, lambda: "already exists" in error_of(screen, "name"))
        await pilot.press("escape")  # something typed: the first esc only warns
        assert app.screen is screen
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CreateVmScreen))
        await pilot.press("colon")
        await pilot.press(*"new", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateVmScreen), what=":new")


async def test_read_only_offers_no_form(connection: Connection, wait_for: Any) -> None:
    app = make_app(connection, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app.screen_stack) > 1, what="the VM list")
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, CreateVmScreen)


async def review_and_create(pilot: Any, app: Any, wait_for: Any) -> Any:
    """ctrl+s on the form, wait for the dry run, ctrl+s again: the VM's details open."""
    from screens.vm_details import VmDetailsScreen

    await pilot.press("ctrl+s")
    review = await wait_for(
        pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen, what="review"
    )
    await wait_for(pilot, lambda: review.dry_runs, what="the dry run")
    assert review.state == "ok", review.error
    await pilot.press("ctrl+s")
    details = await wait_for(
        pilot, lambda: isinstance(app.screen, VmDetailsScreen) and app.screen, what="details"
    )
    assert not any(isinstance(s, (CreateVmScreen, CreateReviewScreen)) for s in app.screen_stack)
    return details


def vm_status(details: Any) -> str:
    vm = details.vm or {}
    return str((vm.get("status") or {}).get("printableStatus") or "")


async def test_added_nics_take_the_pod_network_then_one_of_the_vms_namespace(
    connection: Connection, wait_for: Any
) -> None:
    """br-vlan100 in vm-dev and in vm-prod: a vm-prod VM gets vm-prod's (vm-dev sorts first
    by name), and a namespace without one gets the pod network again."""
    from screens.create_vm import NicRow

    for namespace in ("vm-dev", "vm-prod"):
        nad = {
            "apiVersion": "k8s.cni.cncf.io/v1",
            "kind": "NetworkAttachmentDefinition",
            "metadata": {"name": "br-vlan100", "namespace": namespace},
            "spec": {"config": '{"cniVersion": "0.3.1", "type": "bridge", "bridge": "br1"}'},
        }
        connection.request("POST", K.NADS.path(namespace), body=nad)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        for namespace, second in (("vm-prod", "br-vlan100"), (NS, "pod")):
            screen = await open_form(pilot, app, wait_for, CreateVmScreen(namespace))
            count = len(screen.query(NicRow))
            screen.query_one("#add-nic").focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda s=screen, n=count: len(s.query(NicRow)) > n)
            networks = [row.spec().network for row in screen.query(NicRow)]
            assert networks[0] == "pod" and networks[-1] == second, networks
            offered = [value for _label, value in screen.choices.networks]
            assert "vm-dev/br-vlan100" in offered  # still offered, only not the default
            screen.dismiss(None)
            await wait_for(pilot, lambda s=screen: app.screen is not s)


async def test_pxe_vm_is_created_and_runs(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    name = unique("pxe")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for)
        await pilot.press(*name)
        await choose(pilot, screen, "#f-boot-kind", "pxe")
        assert "the first NIC boots first" in flat(screen_text(app)) or True
        # A disk to install onto, added with the keyboard.
        screen.query_one("#add-disk").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query(".disk-size"))
        details = await review_and_create(pilot, app, wait_for)
        await wait_for(pilot, lambda: vm_status(details) == "Running", timeout=30, what="Running")
        await wait_for(
            pilot, lambda: "✓ Running" in flat(screen_text(app)), what="progress: Running"
        )
    vm = connection.request("GET", K.VMS.path(NS, name)).json()
    devices = vm["spec"]["template"]["spec"]["domain"]["devices"]
    assert devices["interfaces"][0]["bootOrder"] == 1
    assert [d["name"] for d in devices["disks"]][0] == "disk1"
    assert devices["disks"][0]["bootOrder"] == 2
    assert vm["spec"]["runStrategy"] == "Always"


async def test_datavolume_import_vm_shows_progress_then_runs(
    connection: Connection, fresh_demo: Any, screen_text: Any, wait_for: Any
) -> None:
    name = unique("imp")
    # The demo imports in wall-clock seconds when asked to: slowly, until the test has
    # seen the bar, then quickly (a loaded machine may take seconds to draw the details).
    import_seconds = "demo.kvtui.io/import-seconds"
    slow = {"metadata": {"annotations": {import_seconds: "600"}}}
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        form = CreateVmScreen(NS, form=VmForm(namespace=NS, start_after_create=True, base=slow))
        screen = await open_form(pilot, app, wait_for, form)
        await pilot.press(*name)
        await choose(pilot, screen, "#f-boot-kind", "http")
        await type_into(pilot, screen, "#f-boot-url", "https://example.com/images/disk.qcow2")
        await type_into(pilot, screen, "#f-boot-size", "5Gi")
        await choose(pilot, screen, "#f-boot-sc", "local-storage")
        details = await review_and_create(pilot, app, wait_for)

        def bar() -> list[str]:
            text = flat(screen_text(app))
            return re.findall(rf"Import {name} ━[━╸╺ ]* ([0-9.]+)%", text)

        await wait_for(pilot, bar, timeout=60, what="the import's progress bar")
        assert 0 <= float(bar()[0]) < 100
        assert vm_status(details) == "Provisioning"
        assert "▸ Import" in flat(screen_text(app)) and "· Starting" in flat(screen_text(app))
        connection.request(
            "PATCH",
            K.DATAVOLUMES.path(NS, name),
            body={"metadata": {"annotations": {import_seconds: "0.1"}}},
            content_type="application/merge-patch+json",
        )
        await wait_for(
            pilot,
            lambda: vm_status(details) == "Running" and "✓ Running" in flat(screen_text(app)),
            timeout=60,
            what="Running",
        )
        assert "100.0%" in flat(screen_text(app))
    dv = connection.request("GET", K.DATAVOLUMES.path(NS, name)).json()
    assert dv["spec"]["source"]["http"]["url"] == "https://example.com/images/disk.qcow2"
    assert dv["spec"]["storage"]["storageClassName"] == "local-storage"
    assert dv["status"]["progress"] == "100.0%"


def add_sizes(connection: Connection) -> None:
    """Cluster instancetypes and a preference, shaped as common-instancetypes ships them."""
    for name, cpus, memory in (("u1.small", 1, "2Gi"), ("u1.medium", 1, "4Gi")):
        connection.request(
            "POST",
            K.CLUSTER_INSTANCETYPES.path(),
            body={
                "apiVersion": K.CLUSTER_INSTANCETYPES.api_version,
                "kind": "VirtualMachineClusterInstancetype",
                "metadata": {"name": name},
                "spec": {"cpu": {"guest": cpus}, "memory": {"guest": memory}},
            },
        )
    connection.request(
        "POST",
        K.CLUSTER_PREFERENCES.path(),
        body={
            "apiVersion": K.CLUSTER_PREFERENCES.api_version,
            "kind": "VirtualMachineClusterPreference",
            "metadata": {"name": "fedora"},
            "spec": {"devices": {"preferredDiskBus": "virtio"}},
        },
    )


async def test_instancetype_vm_is_created_and_runs(
    connection: Connection, screen_text: Any, wait_for: Any
) -> None:
    name = unique("itype")
    add_sizes(connection)
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for)
        await pilot.press(*name)
        await choose(pilot, screen, "#f-size-mode", "instancetype")
        # u1.medium is picked for a start; the list came from the cluster.
        assert screen.query_one("#f-instancetype", Select).value == (
            "VirtualMachineClusterInstancetype/u1.medium"
        )
        assert not screen.query_one("#row-memory").display
        await choose(pilot, screen, "#f-instancetype", "VirtualMachineClusterInstancetype/u1.small")
        await choose(pilot, screen, "#f-preference", "VirtualMachineClusterPreference/fedora")
        await type_into(pilot, screen, "#f-boot-image", IMAGE)
        details = await review_and_create(pilot, app, wait_for)
        await wait_for(pilot, lambda: vm_status(details) == "Running", timeout=30, what="Running")
    vm = connection.request("GET", K.VMS.path(NS, name)).json()
    assert vm["spec"]["instancetype"] == {
        "kind": "VirtualMachineClusterInstancetype",
        "name": "u1.small",
    }
    assert vm["spec"]["preference"]["name"] == "fedora"
    domain = vm["spec"]["template"]["spec"]["domain"]
    assert "memory" not in domain and "cpu" not in domain


def ssh_key(comment: str = "me@host") -> str:
    import base64

    blob = b"\x00\x00\x00\x0bssh-ed25519" + b"\x00\x00\x00\x20" + bytes(range(32))
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}"


async def test_cloud_init_key_from_a_file_and_bad_mac(
    connection: Connection, tmp_path: Path, wait_for: Any
) -> None:
    key_file = tmp_path / "id_ed25519.pub"
    key_file.write_text(ssh_key() + "\n")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for)
        await pilot.press(*unique("ci"))
        await type_into(pilot, screen, "#f-boot-image", IMAGE)
        await choose(pilot, screen, "#f-ci-mode", "user")
        await type_into(pilot, screen, "#f-ci-user", "fedora")
        await type_into(pilot, screen, "#f-ci-ssh", str(tmp_path / "missing.pub"))
        await wait_for(pilot, lambda: "cannot read" in error_of(screen, "cloud-init"))
        await type_into(pilot, screen, "#f-ci-ssh", str(key_file))
        await wait_for(pilot, lambda: error_of(screen, "cloud-init") == "")
        # A MAC that is not one, in the NIC's row.
        mac = screen.query_one(".nic-mac", Input)
        mac.focus()
        await pilot.press(*"02:00:00:zz:00:01")
        await wait_for(pilot, lambda: "is not a MAC address" in error_of(screen, "nic-0"))
        mac.value = ""
        await pilot.press(*"02:00:00:aa:00:01")
        await wait_for(pilot, lambda: error_of(screen, "nic-0") == "")
        form, problems = screen.current_form()
        assert not problems
        assert form.cloud_init is not None and form.cloud_init.ssh_keys == [ssh_key()]
        await pilot.press("ctrl+y")
        preview = await wait_for(
            pilot, lambda: isinstance(app.screen, YamlPreviewScreen) and app.screen
        )
        assert "ssh_authorized_keys:" in preview.text
        assert ssh_key() in preview.text
        assert "macAddress: 02:00:00:aa:00:01" in preview.text
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)


async def test_raw_user_data_from_a_file(
    connection: Connection, tmp_path: Path, wait_for: Any
) -> None:
    from textual.widgets import TextArea

    script = tmp_path / "user-data"
    script.write_text("packages:\n  - nginx\n")  # no #cloud-config header: refused
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for)
        await choose(pilot, screen, "#f-ci-mode", "raw")
        await type_into(pilot, screen, "#f-ci-file", str(tmp_path / "nope"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "cannot read" in error_of(screen, "cloud-init"))
        await type_into(pilot, screen, "#f-ci-file", str(script))
        await pilot.press("enter")
        area = screen.query_one("#f-ci-raw", TextArea)
        await wait_for(pilot, lambda: "nginx" in area.text, what="the file in the editor")
        await wait_for(
            pilot, lambda: "must start with #cloud-config" in error_of(screen, "cloud-init")
        )
        area.focus()
        area.move_cursor((0, 0))
        await pilot.press(*"#cloud-config", "enter")
        await wait_for(pilot, lambda: error_of(screen, "cloud-init") == "")
        form, _ = screen.current_form()
        assert form.cloud_init is not None
        assert form.cloud_init.raw_user_data == "#cloud-config\npackages:\n  - nginx\n"


async def test_keys_typed_just_before_ctrl_s_count(connection: Connection, wait_for: Any) -> None:
    """A burst (a paste, tmux, a busy machine): ctrl+s reads the form as typed, including
    the keys that were still on their way to the field."""
    from textual import events

    name = unique("burst")
    app = make_app(connection)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(pilot, app, wait_for)
        await type_into(pilot, screen, "#f-boot-image", IMAGE)
        screen.query_one("#f-name", Input).focus()
        await pilot.pause()
        # Queued all at once, as a terminal delivers a burst: the name's last key, ctrl+s.
        await type_into(pilot, screen, "#f-name", name[:-1])
        for key, char in ((name[-1], name[-1]), ("ctrl+s", None)):
            app.post_message(events.Key(key, char))
        review = await wait_for(
            pilot, lambda: isinstance(app.screen, CreateReviewScreen) and app.screen
        )
        assert review.manifest["metadata"]["name"] == name
