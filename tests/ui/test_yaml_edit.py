"""`e` with $EDITOR set: the kubectl-edit loop, with real editor programs and a real server.

The editor is a small Python script, written by the test, that plays
a plan, one step per run: write broken YAML, add a label, change nothing, exit non-zero. Each
run records the text it was handed, so the tests see exactly what the user would have seen
in the editor (the error comments on top, their own edit kept below).

Textual's headless driver (Pilot) cannot suspend — `App.suspend` raises
SuspendNotSupported there — so the Pilot test checks the fallback to the built-in editor,
and one test runs the real `kvtui` in a pseudo-terminal, where the app does hand the
terminal over to the editor and takes it back.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kvtest import vm_manifest
from test_lifecycle import NS, create_vm, list_ready, make_app, unique

from screens.yaml_edit import YamlEditScreen, external_edit
from tui.cluster import kinds as K
from tui.cluster.connection import Connection
from tui.cluster.operations import Operations

EDITOR = textwrap.dedent(
    """
    import json, sys
    plan_path, path = sys.argv[1], sys.argv[2]
    with open(plan_path) as f:
        plan = json.load(f)
    step = plan["steps"].pop(0)
    text = open(path).read()
    plan["seen"].append(text)
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    if step == "broken":
        text = "metadata: [unclosed\\n" + text
    elif step.startswith("unbreak"):
        text = text.replace("metadata: [unclosed\\n", "", 1)
        if ":" in step:
            key, value = step.split(":", 1)[1].split("=")
            text = text.replace("  labels:\\n", f"  labels:\\n    {key}: {value}\\n", 1)
    elif step.startswith("label:"):
        key, value = step[len("label:"):].split("=")
        text = text.replace("  labels:\\n", f"  labels:\\n    {key}: {value}\\n", 1)
    elif step.startswith("strategy:"):
        text = text.replace("runStrategy: Halted", "runStrategy: " + step[len("strategy:"):], 1)
    elif step.startswith("exit:"):
        sys.exit(int(step[len("exit:"):]))
    elif step != "keep":
        raise SystemExit("unknown step " + step)
    with open(path, "w") as f:
        f.write(text)
    """
)


class Editor:
    """An $EDITOR command that plays `steps`, one per run, and records what it was shown."""

    def __init__(self, tmp_path: Path, *steps: str) -> None:
        self.script = tmp_path / "editor.py"
        self.script.write_text(EDITOR)
        self.plan = tmp_path / "plan.json"
        self.plan.write_text(json.dumps({"steps": list(steps), "seen": []}))
        self.command = f"{sys.executable} {self.script} {self.plan}"

    @property
    def seen(self) -> list[str]:
        return json.loads(self.plan.read_text())["seen"]

    @property
    def left(self) -> list[str]:
        return json.loads(self.plan.read_text())["steps"]


@pytest.fixture
def connection(fresh_demo: Any, tmp_path: Path) -> Iterator[Connection]:
    conn = Connection.from_kubeconfig(str(fresh_demo.write_kubeconfig(tmp_path / "config")))
    yield conn
    conn.close()


def get_vm(connection: Connection, name: str) -> dict[str, Any]:
    return connection.request("GET", K.VMS.path(NS, name)).json()


def labels(connection: Connection, name: str) -> dict[str, str]:
    return get_vm(connection, name)["metadata"].get("labels") or {}


def edit(connection: Connection, name: str, editor: Editor) -> tuple[str, str, str]:
    ops = Operations(connection)
    return external_edit(
        get_vm(connection, name), editor.command, lambda obj: ops.replace(K.VMS, obj)
    )


def kept_file(message: str) -> Path:
    return Path(message.rsplit("Your edit is kept in ", 1)[1].strip())


def test_broken_yaml_sends_the_user_back_with_the_error_on_top(
    connection: Connection, tmp_path: Path
) -> None:
    name = unique("ed")
    create_vm(connection, name)
    editor = Editor(tmp_path, "broken", "unbreak:edited=done")
    title, message, severity = edit(connection, name, editor)
    assert (title, severity) == ("Saved", "information"), message
    first, second = editor.seen
    assert first.startswith("apiVersion: kubevirt.io/v1")
    assert "managedFields" not in first
    # The second run shows the error first, then the user's (still broken) text, untouched.
    head = second.splitlines()[0]
    assert head.startswith("# kvtui: YAML error: line "), head
    assert second.splitlines()[1] == "metadata: [unclosed"
    # Line and column count in the file as the user sees it then, comment included: they
    # point at the ':' PyYAML tripped over (the 'apiVersion:' inside the open '[').
    where = head.split("line ", 1)[1].split(":", 1)[0]  # "3, column 11"
    line, column = (int(part.split()[-1]) for part in where.split(","))
    assert second.splitlines()[line - 1][column - 1] == ":", (line, column)
    assert "metadata: [unclosed" in second
    assert labels(connection, name)["edited"] == "done"
    assert not list(Path(tempfile.gettempdir()).glob(f"kvtui-edit-{name}-*")), "file removed"


def test_a_refused_save_is_never_lost(connection: Connection, tmp_path: Path) -> None:
    """The server refuses (422); the user quits without changing anything: the file stays."""
    name = unique("ed")
    create_vm(connection, name)
    editor = Editor(tmp_path, "strategy:Sometimes", "keep")
    title, message, severity = edit(connection, name, editor)
    assert (title, severity) == ("Edit not saved", "error")
    assert "Sometimes" in message, "the server's reason is in the notification"
    path = kept_file(message)
    try:
        text = path.read_text()
        assert text.startswith("# kvtui: ")
        assert "runStrategy: Sometimes" in text, "the user's edit is in the kept file"
        assert editor.seen[1] == text, "the second run showed the error on top"
    finally:
        path.unlink()
    assert get_vm(connection, name)["spec"]["runStrategy"] == "Halted"


def test_someone_elses_change_is_not_overwritten(connection: Connection, tmp_path: Path) -> None:
    name = unique("ed")
    create_vm(connection, name)
    vm = get_vm(connection, name)
    connection.request(
        "PATCH",
        K.VMS.path(NS, name),
        body={"metadata": {"labels": {"edited": "by-someone-else"}}},
        content_type="application/merge-patch+json",
    )
    editor = Editor(tmp_path, "label:mine=one", "keep")
    ops = Operations(connection)
    title, message, _ = external_edit(vm, editor.command, lambda o: ops.replace(K.VMS, o))
    assert title == "Edit not saved"
    assert "Conflict" in message or "modified" in message, message
    path = kept_file(message)
    try:
        assert "mine: one" in path.read_text()
    finally:
        path.unlink()
    assert labels(connection, name).get("edited") == "by-someone-else"
    assert "mine" not in labels(connection, name)


def test_quitting_unchanged_or_with_an_error_status_cancels(
    connection: Connection, tmp_path: Path
) -> None:
    name = unique("ed")
    create_vm(connection, name)
    before = get_vm(connection, name)["metadata"]["resourceVersion"]
    assert edit(connection, name, Editor(tmp_path, "keep"))[0] == "Edit cancelled"
    title, message, _ = edit(connection, name, Editor(tmp_path, "exit:1"))
    assert title == "Edit cancelled" and "status 1" in message
    assert get_vm(connection, name)["metadata"]["resourceVersion"] == before


def test_an_editor_that_cannot_start_is_named(connection: Connection) -> None:
    name = unique("ed")
    create_vm(connection, name)
    title, message, severity = edit_with(connection, name, "/nonexistent/kvtui-editor --wait")
    assert (title, severity) == ("Edit failed", "error")
    assert "/nonexistent/kvtui-editor" in message


def edit_with(connection: Connection, name: str, command: str) -> tuple[str, str, str]:
    ops = Operations(connection)
    return external_edit(get_vm(connection, name), command, lambda o: ops.replace(K.VMS, o))


async def test_pilot_cannot_suspend_so_the_builtin_editor_opens(
    connection: Connection, tmp_path: Path, wait_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("ed")
    create_vm(connection, name)
    editor = Editor(tmp_path, "label:never=run")
    monkeypatch.setenv("EDITOR", editor.command)
    monkeypatch.delenv("KUBE_EDITOR", raising=False)
    app = make_app(connection)
    async with app.run_test(size=(120, 30)) as pilot:
        await list_ready(pilot, app, wait_for, name)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, YamlEditScreen), what="editor")
        notes = [n.message for n in app._notifications]  # noqa: SLF001
        assert any("cannot be handed over" in m for m in notes), notes
    assert editor.seen == [], "the external editor never ran"


# ---- the real thing: kvtui in a pseudo-terminal --------------------------------------------


class PtyApp:
    """`kvtui` running in a pseudo-terminal; `read` collects its output as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], size: tuple[int, int]) -> None:
        import fcntl
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.master = master
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.output = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    return

    def wait_for(self, predicate: Any, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            self.read(0.2)
        pytest.fail(f"timed out waiting for {what}; output tail: {self.output[-2000:]!r}")

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        os.close(self.master)


def test_real_terminal_hands_over_to_the_editor_and_comes_back(
    fresh_demo: Any, connection: Connection, tmp_path: Path
) -> None:
    """kvtui in a pty: `e` suspends the app, the editor (broken YAML, then a fix) runs in
    the terminal, the app comes back and says Saved; the server has the edit."""
    name = unique("pty")
    body = vm_manifest(name, namespace=NS)
    connection.request("POST", K.VMS.path(NS), body=body)
    editor = Editor(tmp_path, "broken", "unbreak:from-pty=done")
    env = dict(os.environ, EDITOR=editor.command, TERM="xterm-256color", COLUMNS="100")
    env.pop("KUBE_EDITOR", None)
    env.pop("TEXTUAL", None)
    kubeconfig = fresh_demo.write_kubeconfig(tmp_path / "kc")
    kvtui = Path(sys.executable).with_name("kvtui")
    args = [str(kvtui), "--kubeconfig", str(kubeconfig), "-n", NS]
    app = PtyApp(args, env, (100, 30))
    try:
        app.wait_for(lambda: name.encode() in app.output, 60, "the VM in the list")
        app.read(0.5)
        app.send(b"e")
        app.wait_for(lambda: len(editor.seen) == 2, 30, "the editor to run twice")
        app.wait_for(lambda: b"Saved" in app.output, 30, "the Saved notification")
        assert labels(connection, name).get("from-pty") == "done"
        assert editor.seen[1].startswith("# kvtui: YAML error")
        assert f"kvtui: saving {name}".encode() in app.output, "the pause after the editor"
        assert app.proc.poll() is None, "kvtui is still running"
        app.send(b"q")
        app.proc.wait(15)
    finally:
        app.close()
