"""`:new`: the form, a template, or YAML."""

from __future__ import annotations

import pytest

from tui.navigation import NewVm, UnknownCommand, complete, parse, parse_new


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (":new", NewVm("form")),
        (":create", NewVm("form")),
        (":new --yaml", NewVm("yaml")),
        (":new -y", NewVm("yaml")),
        (":new --template fedora-server-small", NewVm("template", "fedora-server-small")),
        (
            ":new -t openshift/fedora-server-small",
            NewVm("template", "openshift/fedora-server-small"),
        ),
        (":new --template=rhel9-server-small", NewVm("template", "rhel9-server-small")),
    ],
)
def test_new_lines(line: str, expected: NewVm) -> None:
    command = parse(line)
    assert command.view.name == "new"
    assert parse_new(command.argument) == expected


@pytest.mark.parametrize(
    "line", [":new --template", ":new --bogus", ":new --yaml extra", ":new a b"]
)
def test_bad_new_lines_say_how(line: str) -> None:
    with pytest.raises(UnknownCommand, match="--template NAME"):
        parse(line)


def test_new_completes_its_options() -> None:
    assert complete("new ") == ["new --template ", "new --yaml"]
    assert complete("new --y") == ["new --yaml"]
    assert "new" in complete("ne")


def test_template_names_complete_after_template() -> None:
    names = ["fedora-server-small", "fedora-server-large", "rhel9-server-small"]
    assert complete("new --template fed", templates=names) == [
        "new --template fedora-server-large",
        "new --template fedora-server-small",
    ]
    assert complete("new -t ", templates=names)[-1] == "new -t rhel9-server-small"
    assert complete("new --template fedora-server-small ", templates=names) == []
    assert complete("new --yaml ", templates=names) == []
