"""Confirmation dialogs for lifecycle actions: what will happen, to which VMs, and how to
do the same from a shell.

One dialog serves every action. It lists the VMs the action applies to and the marked VMs
it skips (with the reason), can show the equivalent `virtctl`/`kubectl` commands (`c`, so
users learn and can script), can carry one option checkbox (delete: "also delete the
DataVolumes"), and for more than `TYPED_COUNT_ABOVE` VMs asks the user to type how many,
as llcoolkm/dirt does for bulk undefine: a stray `y` must not stop fifty VMs.

Every VM name and reason is cluster text: it is drawn as plain `Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Static

from widgets.inputs import Input
from widgets.resource_table import plain

# More VMs than this at once and the user types the count instead of pressing `y`.
TYPED_COUNT_ABOVE = 5
# How many VM names the dialog lists before "… and N more".
LISTED = 12


@dataclass(frozen=True)
class Confirmation:
    """The user said yes; `option` is the checkbox's value (False when there is none)."""

    option: bool = False


class ConfirmDialog(ModalScreen[Confirmation | None]):
    """Confirm one action on one or more VMs. Dismisses with a Confirmation, or None."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("y", "confirm", "Yes"),
        Binding("n,escape", "cancel", "No"),
        Binding("c", "toggle_commands", "Commands"),
        # While the count is typed, letters go to the input: ctrl+e still shows commands.
        Binding("ctrl+e", "toggle_commands", "Commands", show=False),
    ]

    def __init__(
        self,
        title: str,
        targets: Sequence[str],
        commands: Callable[[bool], list[str]],
        *,
        skipped: Sequence[tuple[str, str]] = (),
        dangerous: bool = False,
        option_label: str | None = None,
        option_default: bool = False,
        notes: Sequence[str] = (),
    ) -> None:
        """`targets` are "namespace/name" strings; `commands(option)` gives the command lines."""
        super().__init__()
        self.title_text = title
        self.targets = list(targets)
        self.commands = commands
        self.skipped = list(skipped)
        self.dangerous = dangerous
        self.option_label = option_label
        self.option_default = option_default
        self.notes = list(notes)
        self.typed_count = len(self.targets) > TYPED_COUNT_ABOVE

    # ---- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.set_class(self.dangerous, "-dangerous")
            yield Static(Text(plain(self.title_text), style="bold"), id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(self._targets_text(), id="dialog-targets")
                if self.skipped:
                    yield Static(self._skipped_text(), id="dialog-skipped")
                for note in self.notes:
                    yield Static(Text(plain(note), style="italic"), classes="dialog-note")
                if self.option_label is not None:
                    yield Checkbox(
                        plain(self.option_label), self.option_default, id="dialog-option"
                    )
                yield Static(id="dialog-commands")
            if self.typed_count:
                yield Static(
                    Text(f"Type {len(self.targets)} and press enter to go ahead."),
                    id="dialog-count-hint",
                )
                yield Input(placeholder=str(len(self.targets)), id="dialog-count")
            yield Static(self._hint_text(), id="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#dialog-commands", Static).display = False
        if self.typed_count:
            self.query_one("#dialog-count", Input).focus()
        elif self.option_label is not None:
            self.query_one("#dialog-option", Checkbox).focus()

    def _targets_text(self) -> Text:
        text = Text()
        for target in self.targets[:LISTED]:
            text.append("  • ")
            text.append(plain(target), style="bold")
            text.append("\n")
        if len(self.targets) > LISTED:
            text.append(f"  … and {len(self.targets) - LISTED} more\n", style="italic")
        text.rstrip()
        return text

    def _skipped_text(self) -> Text:
        text = Text(f"Skipped ({len(self.skipped)}):\n", style="dim")
        for target, reason in self.skipped[:LISTED]:
            text.append("  • ")
            text.append(plain(target))
            text.append(": ")
            text.append(plain(reason), style="italic")
            text.append("\n")
        if len(self.skipped) > LISTED:
            text.append(f"  … and {len(self.skipped) - LISTED} more\n", style="italic")
        text.rstrip()
        return text

    def _hint_text(self) -> Text:
        if self.typed_count:
            return Text("enter confirm  esc cancel  ctrl+e commands", style="dim")
        return Text("y confirm  n/esc cancel  c show the commands", style="dim")

    @property
    def option(self) -> bool:
        if self.option_label is None:
            return False
        return self.query_one("#dialog-option", Checkbox).value

    def command_lines(self) -> list[str]:
        """The equivalent commands for the current option value."""
        return self.commands(self.option)

    def _render_commands(self) -> None:
        text = Text("Equivalent commands:\n", style="bold")
        for line in self.command_lines():
            text.append("  $ ", style="dim")
            text.append(plain(line))
            text.append("\n")
        text.rstrip()
        self.query_one("#dialog-commands", Static).update(text)

    # ---- keys -----------------------------------------------------------------------

    def action_confirm(self) -> None:
        if self.typed_count:
            # `y` alone is not enough for a bulk action; the input decides.
            self.app.bell()
            return
        self.dismiss(Confirmation(self.option))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_toggle_commands(self) -> None:
        commands = self.query_one("#dialog-commands", Static)
        commands.display = not commands.display
        if commands.display:
            self._render_commands()

    @on(Checkbox.Changed)
    def _option_changed(self) -> None:
        # Keeping or deleting DataVolumes changes the commands: keep the shown ones true.
        if self.query_one("#dialog-commands", Static).display:
            self._render_commands()

    @on(Input.Submitted, "#dialog-count")
    def _count_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == str(len(self.targets)):
            self.dismiss(Confirmation(self.option))
            return
        hint = self.query_one("#dialog-count-hint", Static)
        hint.update(
            Text(
                f"That is not {len(self.targets)}. Type {len(self.targets)} to go ahead, "
                "or esc to cancel.",
                style="bold red",
            )
        )
        event.input.value = ""
