"""Key presses → the bytes an xterm would send to the program behind it.

Input is what Textual reports for a key press — the key *name* ("up", "ctrl+a", "alt+x",
"f5", "shift+tab", "pageup", "ctrl+right_square_bracket") and the character, if any — plus
the modes the guest set (application cursor keys). Output is bytes for the guest's tty.

Why names, not characters: under the kitty keyboard protocol (which Textual turns on
itself in kitty, WezTerm, foot, Ghostty) `ctrl+a`, `alt+x` and `escape` arrive with
`character=None`, so control bytes are derived from the key name. Alt arrives as a
modifier without the ESC byte xterm sends; we add it ("meta sends escape").

The encodings are xterm's (`ctlseqs`, "PC-Style Function Keys"):
- cursor keys `CSI A..D`, Home/End `CSI H/F`; in application cursor mode (DECCKM, `CSI ?1h`)
  `SS3 A..D/H/F`; with modifiers always `CSI 1;<m> X` where m = 1 + shift + 2·alt + 4·ctrl;
- F1–F4 `SS3 P..S` (`CSI 1;<m> P..S` modified), F5–F12 `CSI 15,17,18,19,20,21,23,24 ~`,
  Insert/Delete/PageUp/PageDown `CSI 2/3/5/6 ~` (`CSI n;<m> ~` modified), Shift+Tab `CSI Z`;
- Enter `\\r` (a serial getty maps CR to NL with `icrnl`), Backspace DEL `\\x7f` (configurable:
  firmware and boot loaders often want BS `\\x08`).

No Textual import here: the table is plain data and is tested without a UI.
"""

from __future__ import annotations

import unicodedata

CSI = "\x1b["
SS3 = "\x1bO"

# Cursor keys: final byte of CSI/SS3 sequences.
_CURSOR = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
# Keypad 5 with NumLock off: xterm sends CSI E / SS3 E like the cursor keys.
_CURSOR_LIKE = {"kp_begin": "E"}
# "CSI n ~" keys.
_TILDE = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}
_SS3_F = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
# xterm reports Shift+F1..F12 as F13..F24; some hosts (and Textual) name them so.
_SHIFTED_F = {f"f{n + 12}": f"f{n}" for n in range(1, 13)}

_MOD_BITS = {"shift": 1, "alt": 2, "meta": 2, "option": 2, "ctrl": 4, "control": 4}
# Modifiers a terminal cannot express in legacy encodings: ignored rather than refused.
_IGNORED_MODS = {"super", "hyper", "cmd", "command"}

# Ctrl + a non-letter: what xterm sends (VT220 conventions) when no modifyOtherKeys is set.
_CTRL_CHAR = {
    "@": 0x00,
    " ": 0x00,
    "2": 0x00,
    "[": 0x1B,
    "3": 0x1B,
    "\\": 0x1C,
    "4": 0x1C,
    "]": 0x1D,
    "5": 0x1D,
    "^": 0x1E,
    "6": 0x1E,
    "~": 0x1E,
    "_": 0x1F,
    "/": 0x1F,
    "7": 0x1F,
    "-": 0x1F,
    "?": 0x7F,
    "8": 0x7F,
}

# Textual's names for characters whose Unicode names it shortens (textual.keys).
_NAME_TO_CHAR = {
    "slash": "/",
    "backslash": "\\",
    "at": "@",
    "minus": "-",
    "plus": "+",
    "underscore": "_",
    "space": " ",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "hyphen_minus": "-",
}

BRACKETED_PASTE_START = b"\x1b[200~"
BRACKETED_PASTE_END = b"\x1b[201~"


def key_character(name: str) -> str | None:
    """The character a base key name stands for ("a" → "a", "slash" → "/"), or None."""
    if len(name) == 1:
        return name
    if name in _NAME_TO_CHAR:
        return _NAME_TO_CHAR[name]
    try:
        return unicodedata.lookup(name.replace("_", " ").upper())
    except KeyError:
        return None


def _split(key: str) -> tuple[set[str], str]:
    """ "ctrl+shift+up" → ({"ctrl", "shift"}, "up"). A trailing "+" is the plus key."""
    if key.endswith("++"):
        head, base = key[:-2], "+"
    else:
        head, _, base = key.rpartition("+")
    mods = set(head.split("+")) if head else set()
    return mods, base


def encode_key(
    key: str,
    character: str | None = None,
    *,
    app_cursor: bool = False,
    app_keypad: bool = False,
    backspace: bytes = b"\x7f",
) -> bytes | None:
    """The bytes xterm sends for `key` (a Textual key name), or None if it sends nothing.

    Args:
        key: Textual's key name, modifiers first ("ctrl+shift+right", "alt+x", "f5").
        character: the event's character, if the host terminal reported one.
        app_cursor: DECCKM is set (the guest sent `CSI ?1h`): unmodified cursor keys use SS3.
        app_keypad: DECKPAM is set (`ESC =`). Textual reports keypad keys as ordinary keys, so
            this only changes the keys it does name as keypad keys (`kp_begin`).
        backspace: what the Backspace key sends (DEL by default; BS for some firmware).
    """
    mods, base = _split(key)
    mods -= _IGNORED_MODS
    if base in _SHIFTED_F:
        base = _SHIFTED_F[base]
        mods.add("shift")
    unknown = mods - _MOD_BITS.keys()
    if unknown:
        return None
    alt = bool(mods & {"alt", "meta", "option"})
    ctrl = bool(mods & {"ctrl", "control"})
    shift = "shift" in mods
    param = 1 + shift + 2 * alt + 4 * ctrl
    esc = "\x1b" if alt else ""

    if base in _CURSOR or base in _CURSOR_LIKE:
        final = _CURSOR.get(base) or _CURSOR_LIKE[base]
        if param > 1:
            return f"{CSI}1;{param}{final}".encode()
        application = app_keypad if base in _CURSOR_LIKE else app_cursor
        return f"{SS3 if application else CSI}{final}".encode()
    if base in _SS3_F:
        final = _SS3_F[base]
        return (f"{CSI}1;{param}{final}" if param > 1 else f"{SS3}{final}").encode()
    if base in _TILDE:
        n = _TILDE[base]
        return (f"{CSI}{n};{param}~" if param > 1 else f"{CSI}{n}~").encode()

    if base == "tab":
        # Shift+Tab is "back tab" (CBT); Ctrl+Tab has no legacy encoding beyond Tab.
        return (esc + ("\x1b[Z" if shift else "\t")).encode()
    if base in ("enter", "\r", "return"):
        return (esc + "\r").encode()
    if base == "escape":
        return (esc + "\x1b").encode()
    if base == "backspace":
        # Ctrl+H arrives as "backspace" with character "\x08": send what was typed.
        # Ctrl+Backspace is BS in xterm (readline: erase a word with Alt+Backspace).
        if character == "\x08" or ctrl:
            return (esc + "\x08").encode()
        return esc.encode() + backspace

    char = key_character(base)
    if char is None:
        # A name we don't know ("kp_..." variants, media keys): use what the host sent.
        if character and character.isprintable():
            char = character
        else:
            return None
    if ctrl:
        lower = char.lower()
        if "a" <= lower <= "z":
            return (esc + chr(ord(lower) & 0x1F)).encode()
        if char in _CTRL_CHAR:
            return (esc + chr(_CTRL_CHAR[char])).encode()
        # Ctrl + other keys (Ctrl+1, Ctrl+comma): xterm sends the plain character.
        return (esc + char).encode()
    if len(char) == 1 and not char.isprintable():
        # Legacy hosts deliver ctrl keys as their C0 character ("ctrl+a" has "\x01"), so a
        # name like "\x01" never arrives; but don't forward stray control characters blindly.
        return None
    if character and character.isprintable() and not alt:
        # The character is authoritative for printable keys (keyboard layouts, dead keys,
        # shifted letters), as long as the host gave one.
        return character.encode()
    if shift and char.isalpha():
        char = char.upper()
    return (esc + char).encode()


def paste_bytes(text: str, bracketed: bool) -> bytes:
    """Bytes for pasting `text`: newlines as CR like xterm, optionally bracketed.

    A pasted text containing the bracket markers themselves could end the paste early and
    have the rest run as typed commands ("paste injection"), so the markers are removed.
    """
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    data = text.encode("utf-8", "replace")
    if not bracketed:
        return data
    data = data.replace(BRACKETED_PASTE_END, b"").replace(BRACKETED_PASTE_START, b"")
    return BRACKETED_PASTE_START + data + BRACKETED_PASTE_END


# ---- mouse reports (xterm ctlseqs, "Mouse Tracking") --------------------------------------

MOUSE_X10 = 9  # presses only, no modifiers
MOUSE_NORMAL = 1000  # presses and releases (the wheel is presses of buttons 64/65)
MOUSE_BUTTON_EVENT = 1002  # ... and motion while a button is held
MOUSE_ANY_EVENT = 1003  # ... and all motion

WHEEL_UP, WHEEL_DOWN = 64, 65
_RELEASE = 3  # the "button" of a release in the X10 byte encoding
_MOTION = 32


def mouse_report(
    mode: int,
    sgr: bool,
    kind: str,
    button: int,
    x: int,
    y: int,
    *,
    shift: bool = False,
    meta: bool = False,
    ctrl: bool = False,
) -> bytes:
    """The bytes xterm sends the guest for one mouse event, or b"" when `mode` wants none.

    `kind` is "press", "release" or "motion"; `button` 0 left, 1 middle, 2 right, 64/65 the
    wheel, -1 none (motion with no button held); `x`, `y` are 0-based cells. With `sgr`
    (mode 1006) the report is `CSI < b ; x ; y M` (`m` for a release, which keeps its
    button); otherwise the X10 form `CSI M` and three bytes of 32 + value, which cannot say
    where past column or row 223: such an event is not reported, as xterm does.
    """
    if mode == 0:
        return b""
    if kind == "release" and (mode == MOUSE_X10 or button in (WHEEL_UP, WHEEL_DOWN)):
        return b""
    if kind == "motion":
        if mode == MOUSE_ANY_EVENT or (mode == MOUSE_BUTTON_EVENT and button >= 0):
            code = (_RELEASE if button < 0 else button) + _MOTION
        else:
            return b""
    elif kind == "release" and not sgr:
        code = _RELEASE
    else:
        code = button
    if code < 0:
        return b""
    if mode != MOUSE_X10:
        code += (4 if shift else 0) + (8 if meta else 0) + (16 if ctrl else 0)
    if sgr:
        final = "m" if kind == "release" else "M"
        return f"{CSI}<{code};{x + 1};{y + 1}{final}".encode()
    if x + 1 + 32 > 255 or y + 1 + 32 > 255:
        return b""
    return b"\x1b[M" + bytes((32 + code, 32 + x + 1, 32 + y + 1))
