"""`kvtui create -f FILE`: argument parsing and reading the manifest (the screen it opens is
tested in tests/ui/test_create_yaml.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tui import cli


def test_create_is_a_subcommand() -> None:
    assert cli.SUBCOMMANDS["create"] is cli.create_command


def test_parse_create_takes_the_global_options() -> None:
    settings, path = cli.parse_create(["-f", "vm.yaml", "-n", "vms", "--context", "prod"])
    assert path == "vm.yaml"
    assert (settings.namespace, settings.context, settings.demo) == ("vms", "prod", False)
    settings, path = cli.parse_create(["--demo", "--filename", "-"])
    assert path == "-" and settings.demo


def test_f_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["create"]) == 2
    assert "-f/--filename" in capsys.readouterr().err


def test_readonly_cannot_create(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["create", "-f", "x.yaml", "--readonly"]) == 2
    assert "--readonly cannot create" in capsys.readouterr().err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["create", "--help"]) == 0
    out = capsys.readouterr().out
    assert "kvtui create -f vm.yaml" in out and "dry run" in out


def test_read_manifest_keeps_the_text_as_written(tmp_path: Path) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text("# my comment\napiVersion: kubevirt.io/v1\n")
    target = cli.read_manifest(str(path))
    assert target.text == "# my comment\napiVersion: kubevirt.io/v1\n"
    assert target.origin == f"file {path}"


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "cannot read"), (b"", "is empty"), (b"\xff\xfe\x00bad", "not a UTF-8 text file")],
)
def test_unreadable_files_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, expected: str
) -> None:
    path = tmp_path / "vm.yaml"
    if content is not None:
        path.write_bytes(content)
    assert cli.main(["create", "-f", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kvtui: ") and expected in err and err.count("\n") == 1


def test_stdin() -> None:
    target = cli.read_manifest("-", io.StringIO("kind: VirtualMachine\n"))
    assert (target.text, target.origin) == ("kind: VirtualMachine\n", "standard input")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stdin_from_a_terminal_is_refused() -> None:
    with pytest.raises(ValueError, match="from a pipe"):
        cli.read_manifest("-", _Tty("x"))
