"""The hardened pyte layer: every pyte 0.8.2 bug a serial console meets, fixed and shown.

Each bug test runs the same bytes through stock pyte (`stock()`) and asserts stock pyte gets
it wrong, so the test proves something: if a future pyte fixes a bug, only the `STOCK_BUGGY`
half is skipped. The rest covers replies, scrollback, resize, modes, dirty rows, and a
hypothesis run showing no byte string makes `feed()` raise or depend on how it is split.
"""

from __future__ import annotations

import importlib.metadata
import random

import pyte
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.console.emulator import DEFAULT_ATTRS, Emulator, cells_row, row_text

STOCK_BUGGY = importlib.metadata.version("pyte") == "0.8.2"


def stock(data: bytes, columns: int = 30, lines: int = 5) -> tuple[pyte.Screen, Exception | None]:
    """Stock pyte's screen after `data`, and the exception feed() raised, if any."""
    screen = pyte.Screen(columns, lines)
    try:
        pyte.ByteStream(screen).feed(data)
    except Exception as error:  # noqa: BLE001 - the point is to see pyte raise
        return screen, error
    return screen, None


def stock_lines(data: bytes, columns: int = 30, lines: int = 5) -> list[str]:
    screen, _ = stock(data, columns, lines)
    return [line.rstrip() for line in screen.display]


def emulate(data: bytes, columns: int = 30, lines: int = 5, **kwargs) -> Emulator:
    emulator = Emulator(columns, lines, **kwargs)
    emulator.feed(data)
    return emulator


# --- the pyte 0.8.2 bugs ----------------------------------------------------------------


@pytest.mark.parametrize("mode", [1049, 1047, 47])
def test_alternate_screen_restores_the_main_screen(mode: int) -> None:
    data = (
        b"$ vim notes\r\n"
        + f"\x1b[?{mode}h".encode()
        + b"\x1b[2J\x1b[HFULL SCREEN APP\r\n~\r\n~"
        + f"\x1b[?{mode}l".encode()
    )
    emulator = emulate(data)
    assert emulator.screen_lines()[0] == "$ vim notes"
    assert "FULL SCREEN APP" not in emulator.screen_text()
    assert not emulator.alternate_screen
    if STOCK_BUGGY:
        assert "FULL SCREEN APP" in "\n".join(stock_lines(data))


def test_1049_saves_and_restores_the_cursor() -> None:
    emulator = emulate(b"prompt$ \x1b[?1049h\x1b[10;10Hx")
    assert emulator.alternate_screen
    assert emulator.cursor == (10, 4)  # clamped to the 5-line screen
    emulator.feed(b"\x1b[?1049l")
    assert emulator.cursor == (8, 0)
    emulator.feed(b"ls")
    assert emulator.screen_lines()[0] == "prompt$ ls"


def test_alternate_screen_output_stays_out_of_the_scrollback() -> None:
    emulator = emulate(b"\x1b[?1049h" + b"".join(b"alt %d\r\n" % i for i in range(20)), lines=5)
    assert len(emulator.scrollback) == 0
    emulator.feed(b"\x1b[?1049l" + b"".join(b"main %d\r\n" % i for i in range(20)))
    assert emulator.scrollback.lines()[0] == "main 0"
    assert not any(line.startswith("alt") for line in emulator.scrollback.lines())


@pytest.mark.parametrize(
    "data",
    [
        b"\x1b(0lqqk\x1b(B",  # TERM=vt220/xterm: DEC graphics in G0
        b"\x1b)0\x0elqqk\x0f",  # TERM=vt100: G1 + shift out / shift in
    ],
    ids=["G0", "SO-SI"],
)
def test_dec_line_drawing_under_utf8(data: bytes) -> None:
    emulator = emulate(data + b" ok")
    assert emulator.screen_lines()[0] == "┌──┐ ok"
    if STOCK_BUGGY:
        assert stock_lines(data + b" ok")[0] == "lqqk ok"


def test_dec_graphics_split_across_chunks() -> None:
    emulator = Emulator(20, 2)
    for byte in b"\x1b(0x\x1b(Bx":
        emulator.feed(bytes([byte]))
    assert emulator.screen_lines()[0] == "│x"


@pytest.mark.parametrize(
    "sgr, fg, underline",
    [
        (b"\x1b[38:2::255:128:0m", "ff8000", False),  # ITU T.416 with colour-space id
        (b"\x1b[38:2:255:128:0m", "ff8000", False),  # common variant without it
        (b"\x1b[38:5:208m", "ff8700", False),
        (b"\x1b[4:3m", "default", True),  # curly underline → underline
        (b"\x1b[58:2::1:2:3;31m", "red", False),  # underline colour dropped, rest kept
    ],
)
def test_colon_sgr(sgr: bytes, fg: str, underline: bool) -> None:
    emulator = emulate(sgr + b"X")
    assert emulator.screen_lines()[0] == "X"
    cell = emulator.screen.buffer[0][0]
    assert (cell.fg, cell.underscore) == (fg, underline)
    if STOCK_BUGGY:
        assert stock_lines(sgr + b"X")[0] != "X"  # stock pyte prints part of the sequence


def test_256_colour_indexes_below_16_stay_theme_colours() -> None:
    cell = emulate(b"\x1b[38;5;1;48;5;12mX").screen.buffer[0][0]
    assert (cell.fg, cell.bg) == ("red", "brightblue")


def test_sgr_105_is_spelled_right() -> None:
    assert emulate(b"\x1b[105mX").screen.buffer[0][0].bg == "brightmagenta"


@pytest.mark.parametrize(
    "sequence",
    [
        b"\x1bP1$r0m\x1b\\",  # DCS (DECRQSS answer)
        b"\x1bPq#0;2;0;0;0#0~~@@vv\x1b\\",  # sixel
        b"\x1b_Gf=24,s=1;AAAA\x1b\\",  # APC (kitty graphics)
        b"\x1bXsos\x1b\\",  # SOS
        b"\x1b^privacy\x1b\\",  # PM
    ],
)
def test_control_strings_are_swallowed(sequence: bytes) -> None:
    data = b"a" + sequence + b"b"
    assert emulate(data).screen_lines()[0] == "ab"
    if STOCK_BUGGY:
        assert stock_lines(data)[0] != "ab"


def test_control_string_split_across_chunks() -> None:
    emulator = Emulator(20, 2)
    emulator.feed(b"a\x1bPq#0;2;0")
    emulator.feed(b";0;0~~")
    emulator.feed(b"\x1b")
    emulator.feed(b"\\b")
    assert emulator.screen_lines()[0] == "ab"


def test_osc_payloads_are_not_printed_and_titles_are_kept() -> None:
    data = (
        b"\x1b]0;my title\x07"
        b"\x1b]8;;http://example.com\x1b\\link\x1b]8;;\x1b\\"
        b"\x1b]52;c;aGVsbG8=\x07 \x1b]133;A\x1b\\end"
    )
    emulator = emulate(data)
    assert emulator.screen_lines()[0] == "link end"
    assert emulator.title == "my title"


@pytest.mark.parametrize(
    "text",
    ["I \u2764\ufe0f pyte and more", "family \U0001f468\u200d\U0001f469 ok", "zw\u200bsp end"],
    ids=["VS16", "ZWJ", "ZWSP"],
)
def test_zero_width_characters_keep_the_rest_of_the_text(text: str) -> None:
    emulator = emulate(text.encode(), columns=40)
    assert emulator.screen_lines()[0].endswith(text.split()[-1])
    if STOCK_BUGGY:
        assert not stock_lines(text.encode(), columns=40)[0].endswith(text.split()[-1])


def test_stray_control_bytes_keep_the_rest_of_the_text() -> None:
    data = b"abc\x01def \x11ghi\xc2\x85jkl"  # SOH, XON, NEL as C1
    assert emulate(data).screen_lines()[0] == "abcdef ghijkl"
    if STOCK_BUGGY:
        # pyte's draw() stops at the first unprintable character of a run
        assert stock_lines("abc def\x85jkl".encode())[0] == "abc def"


@pytest.mark.parametrize(
    "odd",
    [b"\x1b[1;2;3H", b"\x1b[?1;2r", b"\x1b[>0;1c", b"\x1b[1;2'z", b"\x1b[1;2;3;4;5;6;7J"],
)
def test_odd_csi_never_raises_and_keeps_the_chunk(odd: bytes) -> None:
    emulator = emulate(b"A" + odd + b"B")
    assert emulator.screen_lines()[0].endswith("B")
    if STOCK_BUGGY and odd != b"\x1b[1;2;3;4;5;6;7J":
        _, error = stock(b"A" + odd + b"B")
        assert isinstance(error, TypeError)


def test_private_marker_sequences_are_not_sgr() -> None:
    """`CSI > 4;1 m` is xterm's modifyOtherKeys, which pyte applied as underline + bold."""
    cell = emulate(b"\x1b[>4;1mX").screen.buffer[0][0]
    assert not cell.underscore and not cell.bold
    if STOCK_BUGGY:
        screen, _ = stock(b"\x1b[>4;1mX")
        assert screen.buffer[0][0].underscore


def test_resize_clamps_the_cursor() -> None:
    emulator = emulate(b"\x1b[24;80Hx", columns=80, lines=24)
    emulator.resize(40, 10)
    assert emulator.cursor == (39, 9)
    emulator.feed(b"\ry")
    assert emulator.screen_lines()[9] == "y"
    if STOCK_BUGGY:
        screen, _ = stock(b"\x1b[24;80Hx", 80, 24)
        screen.resize(10, 40)
        assert screen.cursor.x >= 40 and screen.cursor.y >= 10  # outside the screen


def test_shrinking_keeps_the_cursor_line_and_pushes_the_top_into_scrollback() -> None:
    emulator = emulate(b"".join(b"row %d\r\n" % i for i in range(24)) + b"$ ", 40, 25)
    emulator.resize(40, 10)
    assert emulator.screen_lines()[-1] == "$"
    assert emulator.screen_lines()[0] == "row 15"
    assert emulator.scrollback.lines()[-1] == "row 14"


def test_shrinking_drops_blank_rows_below_the_cursor_first() -> None:
    emulator = emulate(b"top\r\n$ ", 40, 24)
    emulator.resize(40, 10)
    assert emulator.screen_lines()[:2] == ["top", "$"]
    assert emulator.cursor == (2, 1)
    assert len(emulator.scrollback) == 0


def test_wide_character_at_the_last_column_wraps() -> None:
    emulator = emulate("abcd日".encode(), columns=5, lines=2)
    assert emulator.screen_lines() == ["abcd", "日"]


def test_overwriting_half_a_wide_character_blanks_the_other_half() -> None:
    emulator = emulate("日本\x1b[1Gx".encode(), columns=10, lines=1)
    assert emulator.screen_lines() == ["x 本"]


def test_combining_marks_join_the_previous_character() -> None:
    emulator = emulate("e\u0301x".encode(), columns=10, lines=1)
    assert emulator.screen_lines() == ["\u00e9x"]


# --- replies ------------------------------------------------------------------------------


def replies_to(data: bytes, columns: int = 132, lines: int = 43) -> list[bytes]:
    got: list[bytes] = []
    Emulator(columns, lines, reply=got.append).feed(data)
    return got


def test_reply_to_csi_18_t_is_the_text_area_size() -> None:
    assert replies_to(b"\x1b[18t") == [b"\x1b[8;43;132t"]


def test_cursor_position_report_the_way_resize_asks() -> None:
    """xterm's/busybox `resize`: save, go to 999;999, ask for the cursor, restore."""
    assert replies_to(b"\x1b7\x1b[r\x1b[999;999H\x1b[6n\x1b8") == [b"\x1b[43;132R"]


def test_cursor_position_report_after_writing_the_last_column() -> None:
    assert replies_to(b"abcde\x1b[6n", columns=5, lines=2) == [b"\x1b[1;5R"]


def test_device_attributes() -> None:
    assert replies_to(b"\x1b[c\x1b[0c") == [b"\x1b[?6c", b"\x1b[?6c"]
    assert replies_to(b"\x1b[>c") == [b"\x1b[>1;10;0c"]
    assert replies_to(b"\x1b[5n") == [b"\x1b[0n"]


# --- scrollback ---------------------------------------------------------------------------


def test_scrollback_keeps_ten_thousand_lines() -> None:
    emulator = Emulator(80, 24)
    emulator.feed(b"".join(b"line %d\r\n" % i for i in range(12_000)))
    assert len(emulator.scrollback) == 10_000
    lines = emulator.scrollback.lines()
    assert lines[0] == "line 1977"  # 12,000 − 23 on screen − 10,000 kept
    assert lines[-1] == "line 11976"
    assert emulator.scrollback.dropped == 1977
    assert emulator.screen_lines()[0] == "line 11977"


def test_scrollback_keeps_colours() -> None:
    emulator = emulate(b"\x1b[1;31mred\x1b[0m plain\r\n" + b"\r\n" * 10, lines=3)
    row = emulator.scrollback.row(0)
    assert row[0] == ("red", ("red", "default", True, False, False, False, False, False))
    assert row[1] == (" plain", DEFAULT_ATTRS)


def test_scroll_region_does_not_feed_the_scrollback() -> None:
    emulator = emulate(b"\x1b[2;4r\x1b[4;1H" + b"x\n" * 10, lines=5)
    assert len(emulator.scrollback) == 0


def test_ed3_does_not_wipe_the_scrollback() -> None:
    emulator = emulate(b"".join(b"%d\r\n" % i for i in range(10)), lines=3)
    emulator.feed(b"\x1b[H\x1b[2J\x1b[3J")
    assert len(emulator.scrollback) == 8
    assert emulator.screen_text().strip() == ""


def test_output_lines_are_scrollback_then_screen() -> None:
    emulator = emulate(b"".join(b"%d\r\n" % i for i in range(10)) + b"$ ", lines=4)
    assert emulator.output_lines() == [str(i) for i in range(10)] + ["$"]


# --- modes and dirty rows -----------------------------------------------------------------


def test_modes() -> None:
    emulator = Emulator(20, 3)
    assert not emulator.app_cursor and not emulator.bracketed_paste and emulator.cursor_visible
    emulator.feed(b"\x1b[?1h\x1b=\x1b[?2004h\x1b[?25l\x1b[?1000h")
    assert emulator.app_cursor and emulator.app_keypad and emulator.bracketed_paste
    assert not emulator.cursor_visible and emulator.mouse_tracking
    emulator.feed(b"\x1b[?1l\x1b>\x1b[?2004l\x1b[?25h\x1b[?1000l")
    assert not emulator.app_cursor and not emulator.app_keypad and not emulator.bracketed_paste
    assert emulator.cursor_visible and not emulator.mouse_tracking


def test_decrc_does_not_bring_back_a_hidden_cursor() -> None:
    emulator = emulate(b"\x1b[?25l\x1b7\x1b[?25h\x1b8")
    assert emulator.cursor_visible


def test_saved_cursor_is_one_slot_restorable_twice() -> None:
    emulator = emulate(b"\x1b[2;3H\x1b7" * 1000 + b"\x1b[5;5H\x1b8a\x1b8b")
    assert len(emulator.screen.savepoints) == 1
    assert emulator.screen_lines()[1] == "  b"
    assert emulator.cursor == (3, 1)


def test_decstr_soft_reset() -> None:
    emulator = emulate(b"\x1b[?1h\x1b[?25l\x1b[1;31m\x1b[!pX")
    assert not emulator.app_cursor and emulator.cursor_visible
    assert emulator.screen.buffer[0][0].fg == "default"


def test_only_changed_rows_are_dirty() -> None:
    emulator = emulate(b"one\r\ntwo\r\nthree", lines=5)
    emulator.take_dirty()
    emulator.feed(b"\x1b[2;1Hxx")
    assert emulator.take_dirty() == {1}
    emulator.feed(b"\x1b[2;4r\x1b[4;1H\n")  # scroll inside a region: only the region
    assert emulator.take_dirty() == {1, 2, 3}


def test_rep_su_sd_nel() -> None:
    assert emulate(b"-\x1b[4b|").screen_lines()[0] == "-----|"
    emulator = emulate(b"a\r\nb\r\nc\x1b[1S", lines=3)
    assert emulator.screen_lines() == ["b", "c", ""]
    assert emulator.scrollback.lines() == ["a"]
    emulator = emulate(b"a\r\nb\x1b[1T", lines=3)
    assert emulator.screen_lines() == ["", "a", "b"]
    assert emulate(b"abc\x1bEd").screen_lines()[:2] == ["abc", "d"]


def test_cursor_row_is_marked_for_display() -> None:
    emulator = emulate(b"ab")
    row = emulator.row(0, with_cursor=True)
    assert row_text(row) == "ab "
    assert row[-1][1][6] is True  # reverse
    emulator.feed(b"\x1b[?25l")
    assert row_text(emulator.row(0, with_cursor=True)) == "ab"


def test_cursor_on_reversed_text_shows_as_not_reversed() -> None:
    emulator = emulate(b"\x1b[7mab\x1b[1D")
    row = emulator.row(0, with_cursor=True)
    assert [(text, attrs[6]) for text, attrs in row] == [("a", True), ("b", False)]


# --- equivalence and robustness ------------------------------------------------------------


def _journal(seed: int, size: int) -> bytes:
    """Console-like output pyte handles correctly: colours, wraps, cursor moves."""
    rnd = random.Random(seed)
    words = "kernel systemd eth0 link up mounted started OK FAILED audit: pid=1 uid=0".split()
    sgr = [b"\x1b[0m", b"\x1b[1m", b"\x1b[31m", b"\x1b[1;32m", b"\x1b[7m", b"\x1b[38;5;208m"]
    out = bytearray()
    while len(out) < size:
        line = b" ".join(rnd.choice(sgr) + rnd.choice(words).encode() for _ in range(12))
        if rnd.random() < 0.2:
            line = b"\x1b[%d;%dH\x1b[K" % (rnd.randint(1, 20), rnd.randint(1, 70)) + line
        out += line + b"\x1b[0m\r\n"
    return bytes(out)


def test_same_cells_as_stock_pyte_on_ordinary_output() -> None:
    data = _journal(1, 200_000)
    reference = pyte.Screen(100, 30)
    stream = pyte.ByteStream(reference)
    emulator = Emulator(100, 30)
    rnd = random.Random(2)
    offset = 0
    while offset < len(data):
        size = rnd.randint(1, 5000)
        stream.feed(data[offset : offset + size])
        emulator.feed(data[offset : offset + size])
        offset += size
    for y in range(30):
        for x in range(100):
            assert emulator.screen.buffer[y][x] == reference.buffer[y][x], (x, y)


def test_scrollback_rows_match_what_was_on_screen() -> None:
    emulator = Emulator(100, 30)
    emulator.feed(_journal(3, 50_000))
    first_screen_row = emulator.screen.row(0)
    emulator.feed(b"\x1b[30;1H" + b"\r\n" * 30)
    assert cells_row(emulator.scrollback[-30]) == first_screen_row


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=400)
    | st.lists(
        st.sampled_from(
            [
                b"\x1b",
                b"[",
                b"]",
                b"P",
                b"?",
                b";",
                b":",
                b"1",
                b"9",
                b"m",
                b"H",
                b"h",
                b"l",
                b"(",
                b"0",
                b"\x0e",
                b"\x0f",
                b"\\",
                b"\x07",
                b"\x9b",
                b"\xe6\x97\xa5",
                b"\xcc\x81",
                b"\xef\xb8\x8f",
                b"\r",
                b"\n",
                b"\x08",
                b"\t",
                b"x",
                b"1049",
                b"\x18",
                b">",
                b"t",
                b"r",
                b"J",
                b"K",
                b"@",
                b"P",
                b"b",
                b"S",
                b"T",
                b"c",
                b"n",
                b"6",
                b"18",
            ]
        ),
        max_size=200,
    ).map(b"".join),
    split=st.integers(min_value=1, max_value=50),
)
def test_random_bytes_never_raise_and_splitting_does_not_matter(data: bytes, split: int) -> None:
    whole = Emulator(20, 6)
    whole.feed(data)
    pieces = Emulator(20, 6)
    for offset in range(0, len(data), split):
        pieces.feed(data[offset : offset + split])
    assert whole.screen_lines() == pieces.screen_lines()
    assert whole.cursor == pieces.cursor
    x, y = whole.cursor
    assert 0 <= x < 20 and 0 <= y < 6
    whole.resize(7, 3)
    whole.feed(b"\x18after resize")  # CAN ends whatever sequence the data left open
    assert "".join(whole.screen_lines()).replace(" ", "")  # still drawing
