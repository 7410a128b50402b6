"""Key names (as Textual reports them) → the bytes xterm sends; pastes."""

from __future__ import annotations

import pytest

from tui.console.keys import encode_key, key_character, mouse_report, paste_bytes


@pytest.mark.parametrize(
    "key, normal, application",
    [
        ("up", b"\x1b[A", b"\x1bOA"),
        ("down", b"\x1b[B", b"\x1bOB"),
        ("right", b"\x1b[C", b"\x1bOC"),
        ("left", b"\x1b[D", b"\x1bOD"),
        ("home", b"\x1b[H", b"\x1bOH"),
        ("end", b"\x1b[F", b"\x1bOF"),
    ],
)
def test_cursor_keys_normal_and_application_mode(
    key: str, normal: bytes, application: bytes
) -> None:
    assert encode_key(key) == normal
    assert encode_key(key, app_cursor=True) == application


@pytest.mark.parametrize(
    "key, expected",
    [
        ("shift+up", b"\x1b[1;2A"),
        ("alt+up", b"\x1b[1;3A"),
        ("ctrl+up", b"\x1b[1;5A"),
        ("ctrl+shift+right", b"\x1b[1;6C"),
        ("alt+ctrl+left", b"\x1b[1;7D"),
        ("ctrl+alt+shift+home", b"\x1b[1;8H"),
    ],
)
def test_modified_cursor_keys_ignore_application_mode(key: str, expected: bytes) -> None:
    assert encode_key(key) == expected
    assert encode_key(key, app_cursor=True) == expected


@pytest.mark.parametrize(
    "key, expected",
    [
        ("f1", b"\x1bOP"),
        ("f2", b"\x1bOQ"),
        ("f3", b"\x1bOR"),
        ("f4", b"\x1bOS"),
        ("f5", b"\x1b[15~"),
        ("f6", b"\x1b[17~"),
        ("f7", b"\x1b[18~"),
        ("f8", b"\x1b[19~"),
        ("f9", b"\x1b[20~"),
        ("f10", b"\x1b[21~"),
        ("f11", b"\x1b[23~"),
        ("f12", b"\x1b[24~"),
        ("ctrl+f1", b"\x1b[1;5P"),
        ("shift+f5", b"\x1b[15;2~"),
        ("f13", b"\x1b[1;2P"),  # Shift+F1 as some hosts report it
        ("f17", b"\x1b[15;2~"),
    ],
)
def test_function_keys(key: str, expected: bytes) -> None:
    assert encode_key(key) == expected


@pytest.mark.parametrize(
    "key, expected",
    [
        ("insert", b"\x1b[2~"),
        ("delete", b"\x1b[3~"),
        ("pageup", b"\x1b[5~"),
        ("pagedown", b"\x1b[6~"),
        ("ctrl+delete", b"\x1b[3;5~"),
        ("shift+pageup", b"\x1b[5;2~"),
        ("shift+tab", b"\x1b[Z"),
        ("kp_begin", b"\x1b[E"),
    ],
)
def test_editing_keys(key: str, expected: bytes) -> None:
    assert encode_key(key) == expected


def test_keypad_begin_follows_application_keypad_mode() -> None:
    assert encode_key("kp_begin", app_keypad=True) == b"\x1bOE"


@pytest.mark.parametrize(
    "key, character, expected",
    [
        ("enter", "\r", b"\r"),
        ("tab", "\t", b"\t"),
        ("escape", "\x1b", b"\x1b"),
        ("escape", None, b"\x1b"),  # kitty protocol: no character
        ("backspace", "\x7f", b"\x7f"),
        ("backspace", "\x08", b"\x08"),  # Ctrl+H arrives as backspace with BS
        ("ctrl+backspace", None, b"\x08"),
        ("alt+backspace", None, b"\x1b\x7f"),
        ("alt+enter", None, b"\x1b\r"),
        ("space", " ", b" "),
        ("ctrl+space", None, b"\x00"),
    ],
)
def test_named_keys(key: str, character: str | None, expected: bytes) -> None:
    assert encode_key(key, character) == expected


def test_backspace_is_configurable() -> None:
    assert encode_key("backspace", "\x7f", backspace=b"\x08") == b"\x08"


@pytest.mark.parametrize("letter", "abcdefghijklmnopqrstuvwxyz")
def test_ctrl_letters_from_the_key_name(letter: str) -> None:
    """Under the kitty keyboard protocol the character is None: the name decides."""
    code = bytes([ord(letter) - ord("a") + 1])
    assert encode_key(f"ctrl+{letter}", None) == code
    assert encode_key(f"ctrl+{letter}", chr(code[0])) == code
    assert encode_key(f"ctrl+shift+{letter}", None) == code
    assert encode_key(f"alt+ctrl+{letter}", None) == b"\x1b" + code


@pytest.mark.parametrize(
    "key, expected",
    [
        ("ctrl+c", b"\x03"),
        ("ctrl+right_square_bracket", b"\x1d"),
        ("ctrl+left_square_bracket", b"\x1b"),
        ("ctrl+backslash", b"\x1c"),
        ("ctrl+circumflex_accent", b"\x1e"),
        ("ctrl+underscore", b"\x1f"),
        ("ctrl+@", b"\x00"),
        ("ctrl+slash", b"\x1f"),
        ("ctrl+question_mark", b"\x7f"),
        ("ctrl+2", b"\x00"),
        ("ctrl+5", b"\x1d"),
        ("ctrl+1", b"1"),
    ],
)
def test_ctrl_symbols(key: str, expected: bytes) -> None:
    assert encode_key(key, None) == expected


@pytest.mark.parametrize(
    "key, character, expected",
    [
        ("a", "a", b"a"),
        ("A", "A", b"A"),
        ("shift+a", None, b"A"),
        ("slash", "/", b"/"),
        ("slash", None, b"/"),
        ("exclamation_mark", "!", b"!"),
        ("less_than_sign", None, b"<"),
        ("minus", None, b"-"),
        ("é", "é", "é".encode()),
        ("ü", "ü", "ü".encode()),
        ("alt+x", "x", b"\x1bx"),  # Textual drops the ESC: put it back
        ("alt+x", None, b"\x1bx"),
        ("alt+shift+a", None, b"\x1bA"),
        ("alt+slash", None, b"\x1b/"),
    ],
)
def test_printable_and_alt(key: str, character: str | None, expected: bytes) -> None:
    assert encode_key(key, character) == expected


def test_keys_that_send_nothing() -> None:
    assert encode_key("hyper+unknownkey", None) is None
    assert encode_key("media_play_pause", None) is None


def test_key_character() -> None:
    assert key_character("slash") == "/"
    assert key_character("right_square_bracket") == "]"
    assert key_character("full_stop") == "."
    assert key_character("nonsense_key_name") is None


def test_paste_plain_converts_newlines_to_cr() -> None:
    assert paste_bytes("ls\nsudo reboot\r\n", bracketed=False) == b"ls\rsudo reboot\r"


def test_paste_bracketed() -> None:
    assert paste_bytes("a\nb", bracketed=True) == b"\x1b[200~a\rb\x1b[201~"


def test_bracketed_paste_cannot_end_itself_early() -> None:
    """A pasted end marker would let the rest run as typed commands."""
    evil = "harmless\x1b[201~rm -rf ~\n"
    data = paste_bytes(evil, bracketed=True)
    assert data.count(b"\x1b[201~") == 1 and data.endswith(b"\x1b[201~")


def test_paste_utf8() -> None:
    assert paste_bytes("日本", bracketed=False) == "日本".encode()


# ---- mouse reports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "sgr", "kind", "button", "xy", "mods", "expected"),
    [
        # SGR (1006): 1-based coordinates, M for press/motion, m for release (button kept).
        (1000, True, "press", 0, (4, 2), {}, b"\x1b[<0;5;3M"),
        (1000, True, "release", 0, (4, 2), {}, b"\x1b[<0;5;3m"),
        (1000, True, "press", 2, (0, 0), {}, b"\x1b[<2;1;1M"),
        (1000, True, "press", 64, (9, 9), {}, b"\x1b[<64;10;10M"),
        (1000, True, "press", 65, (9, 9), {}, b"\x1b[<65;10;10M"),
        (1000, True, "release", 64, (9, 9), {}, b""),  # the wheel has no release
        (1000, True, "press", 0, (0, 0), {"shift": True, "ctrl": True}, b"\x1b[<20;1;1M"),
        (1000, True, "press", 1, (0, 0), {"meta": True}, b"\x1b[<9;1;1M"),
        (1000, True, "motion", 0, (3, 3), {}, b""),  # 1000 reports no motion
        (1002, True, "motion", 0, (3, 3), {}, b"\x1b[<32;4;4M"),  # drag with the left button
        (1002, True, "motion", -1, (3, 3), {}, b""),  # no button held: not in 1002
        (1003, True, "motion", -1, (3, 3), {}, b"\x1b[<35;4;4M"),
        (1000, True, "press", 0, (300, 2), {}, b"\x1b[<0;301;3M"),  # SGR has no limit
        # X10 byte encoding: CSI M, then 32 + button (3 = release), 32 + x, 32 + y (1-based).
        (1000, False, "press", 0, (4, 2), {}, b"\x1b[M %#"),
        (1000, False, "release", 2, (4, 2), {}, b"\x1b[M#%#"),
        (1000, False, "press", 64, (0, 0), {}, b"\x1b[M`!!"),
        (1002, False, "motion", 0, (0, 0), {}, b"\x1b[M@!!"),
        (1000, False, "press", 0, (223, 0), {}, b""),  # past column 223: unsayable
        (1000, False, "press", 0, (222, 0), {}, b"\x1b[M \xff!"),
        # Mode 9 (X10 compatibility): presses only, no modifiers.
        (9, False, "press", 0, (0, 0), {"shift": True}, b"\x1b[M !!"),
        (9, False, "release", 0, (0, 0), {}, b""),
        (0, True, "press", 0, (0, 0), {}, b""),  # tracking off
    ],
)
def test_mouse_report(
    mode: int,
    sgr: bool,
    kind: str,
    button: int,
    xy: tuple[int, int],
    mods: dict[str, bool],
    expected: bytes,
) -> None:
    assert mouse_report(mode, sgr, kind, button, *xy, **mods) == expected
