"""The simulated guest behind each demo VM's serial console.

The demo cluster runs no virtual machines, yet ``virtctl console`` (and kvtui's console view)
must find something on the other end of a VMI's serial line. :class:`SimulatedGuest` is that
something: a deterministic state machine that produces what a small Fedora-like cloud guest
writes to ``ttyS0`` -- a boot log, an ``agetty``/``login`` prompt, a tiny bash-like shell with
a line editor, and a full-screen ``top`` -- in answer to the raw bytes a viewer types.

It is pure Python on purpose: no I/O, no threads, no asyncio, and above all nothing typed by a
demo user is ever run on the host. Every "command" is a Python method producing text, every
"file" is a string. Time comes only from the injected ``clock`` so tests are reproducible.

Driver contract (the websocket handler in :mod:`tui.demo.console`):

* call :meth:`SimulatedGuest.boot_chunks` once when the VMI starts and send each chunk after its
  delay (the guest counts as booted as soon as the call returns);
* pass each binary frame from the viewer to :meth:`SimulatedGuest.feed`, send back the result;
* call :meth:`SimulatedGuest.tick` about once a second and send the result (``top`` refreshes,
  ``resize`` time-outs);
* on a new connection send :meth:`SimulatedGuest.on_connect` (always empty, as a serial line
  does not repaint); :meth:`SimulatedGuest.redraw_hint` is there for a driver that prefers to
  show the current prompt straight away.

Terminal output follows a serial tty with ``onlcr``: every line ends in ``\\r\\n``.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import ipaddress
import math
import posixpath
import re
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import yaml

__all__ = ["SimulatedGuest", "credentials_from_userdata"]

# ---------------------------------------------------------------------------------------------
# Terminal vocabulary
# ---------------------------------------------------------------------------------------------

_RESET = "\x1b[0m"
_OK = "[\x1b[0;32m  OK  \x1b[0m]"  # systemd's green status column
_UNIT = "\x1b[0;1;39m"  # systemd prints unit names in bold
_OS_COLOUR = "\x1b[0;34m"  # the "Welcome to ..." banner uses os-release's ANSI_COLOR
_ALT_SCREEN_ON = "\x1b[?1049h"
_ALT_SCREEN_OFF = "\x1b[?1049l"
_CURSOR_HIDE = "\x1b[?25l"
_CURSOR_SHOW = "\x1b[?25h"
_CLEAR = "\x1b[H\x1b[2J"
_REVERSE = "\x1b[7m"
_DIR_COLOUR = "\x1b[01;34m"  # Fedora's LS_COLORS for directories
_LINK_COLOUR = "\x1b[01;36m"  # ... and for symlinks
# What xterm's `resize` writes: save cursor, reset margins, jump far away, ask where we
# landed (the terminal answers ESC [ rows ; cols R), restore the cursor.
_RESIZE_QUERY = "\x1b7\x1b[r\x1b[999;999H\x1b[6n\x1b8"

_DEFAULT_ROWS = 24
_DEFAULT_COLS = 80
# The canonical-mode line buffer of a Linux tty holds 4095 characters; extra input is dropped.
# Capping it here also bounds the work any single line can cause.
_MAX_LINE = 4095
# No expansion may grow past this: `X=$X$X` repeated would otherwise eat the demo server's
# memory, and a real VM's misbehaviour should not become the host's.
_MAX_EXPANSION = 65536
_MAX_HISTORY = 1000
# Screen sizes beyond this are clamped when drawing `top`, so `stty rows 65535` stays cheap.
_MAX_DRAW = 500
_TTY = "ttyS0"

# A fixed wall-clock origin used when the guest runs on a fake clock, so that `date`,
# `uptime` and `top` are reproducible in tests (2025-01-15 09:30:00 UTC).
_FIXED_EPOCH = float(calendar.timegm((2025, 1, 15, 9, 30, 0, 0, 0, 0)))

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Guest-side process ids, fixed so output is deterministic.
_LOGIN_PID = 734
_BASH_PID = 1201

# ---------------------------------------------------------------------------------------------
# cloud-init user data
# ---------------------------------------------------------------------------------------------

# crypt(3) prefixes: cloud-init treats such a password as already hashed, so nobody can type it.
_HASHED_RE = re.compile(r"^\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$")
_RANDOM_PASSWORDS = frozenset({"R", "RANDOM"})
_DEFAULT_CLOUD_USER = "fedora"


def _plain_password(value: object, *, may_be_hashed: bool = True) -> str | None:
    """A password a person could type, or None when unset, random or (probably) hashed."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    if not text or text in _RANDOM_PASSWORDS:
        return None
    if may_be_hashed and _HASHED_RE.match(text):
        return None
    return text


def _default_user(cfg: dict[object, object]) -> str:
    """The distro default user that a top-level ``password:`` applies to."""
    user = cfg.get("user")
    if isinstance(user, dict):
        user = user.get("name")
    if isinstance(user, (str, int)) and str(user).strip():
        return str(user).strip()
    system_info = cfg.get("system_info")
    if isinstance(system_info, dict):
        default = system_info.get("default_user")
        if isinstance(default, dict) and default.get("name"):
            return str(default["name"])
    return _DEFAULT_CLOUD_USER


def _credentials_from_users(users: object) -> tuple[str, str] | None:
    """``users: [{name, plain_text_passwd}]``; entries like ``- default`` are skipped."""
    if not isinstance(users, list):
        return None
    for entry in users:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        # cloud-init would lock such a password; honour an explicit request to do so.
        if entry.get("lock_passwd") is True:
            continue
        password = _plain_password(entry.get("plain_text_passwd"), may_be_hashed=False)
        if password is not None:
            return str(entry["name"]), password
    return None


def _credentials_from_chpasswd(chpasswd: object) -> tuple[str, str] | None:
    """``chpasswd: {users: [{name, password, type}]}`` or the older ``chpasswd: {list: ...}``."""
    if not isinstance(chpasswd, dict):
        return None
    users = chpasswd.get("users")
    if isinstance(users, list):
        for entry in users:
            if not isinstance(entry, dict) or not entry.get("name"):
                continue
            kind = str(entry.get("type", "")).lower()
            if kind in ("hash", "random"):
                continue
            password = _plain_password(entry.get("password"), may_be_hashed=kind != "text")
            if password is not None:
                return str(entry["name"]), password
    listed = chpasswd.get("list")
    if isinstance(listed, str):
        entries = listed.splitlines()
    elif isinstance(listed, list):
        entries = [str(item) for item in listed]
    else:
        entries = []
    for item in entries:
        name, sep, password = item.strip().partition(":")
        plain = _plain_password(password)
        if sep and name.strip() and plain is not None:
            return name.strip(), plain
    return None


def credentials_from_userdata(user_data: str | None) -> tuple[str, str] | None:
    """The console login a cloud-init ``#cloud-config`` userData sets up, as (user, password).

    Understands, in this order: a top-level ``password:`` for the default user (``user:`` if
    given, else ``fedora``), ``users:`` entries with ``plain_text_passwd``, and ``chpasswd:``
    with ``users:`` or ``list:``. Random and hashed passwords cannot be typed, so they count as
    no password. Returns None when no usable password is found, for shell scripts and other
    non-cloud-config payloads, and for YAML that does not parse: it never raises.
    """
    if not isinstance(user_data, str) or not user_data.strip():
        return None
    text = user_data.lstrip("\ufeff")
    first_line = text.lstrip().split("\n", 1)[0].strip()
    # "#!/bin/sh", "#include", "#cloud-boothook" ... are not cloud-config; a header-less YAML
    # document is accepted leniently since demo users often forget the header.
    if first_line.startswith("#") and not first_line.lower().startswith("#cloud-config"):
        return None
    try:
        cfg = yaml.safe_load(text)
    except Exception:  # YAMLError, but also RecursionError on absurd nesting: never raise
        return None
    if not isinstance(cfg, dict):
        return None
    password = _plain_password(cfg.get("password"))
    if password is not None:
        return _default_user(cfg), password
    return _credentials_from_users(cfg.get("users")) or _credentials_from_chpasswd(
        cfg.get("chpasswd")
    )


# ---------------------------------------------------------------------------------------------
# Shell language: lexing, parameter and arithmetic expansion
# ---------------------------------------------------------------------------------------------


class _ShellError(Exception):
    """A parse or expansion error; the message is printed after ``-bash: ``."""


_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_CPR_RE = re.compile(r"^\x1b\[(\d{1,5});(\d{1,5})R$")
_OPERATOR_CHARS = ";|&<>()"


def _skip_arith(text: str, start: int) -> int:
    """Index just past the ``))`` closing the ``$((`` at ``start``; parentheses must balance."""
    depth = 0
    for j in range(start + 1, len(text)):
        char = text[j]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    raise _ShellError("unexpected EOF while looking for matching `))'")


def _lex(line: str) -> list[tuple[str, str]]:
    """Split a command line into ("word", raw text) and ("op", operator) tokens.

    Words keep their quotes and ``$`` references; they are expanded later, command by
    command, so that ``X=1; echo $X`` sees the assignment as bash does.
    """
    tokens: list[tuple[str, str]] = []
    word: list[str] = []
    i, n = 0, len(line)

    def flush() -> None:
        if word:
            tokens.append(("word", "".join(word)))
            word.clear()

    while i < n:
        char = line[i]
        if char in " \t":
            flush()
            i += 1
        elif char == "#" and not word:
            break  # a comment runs to the end of the line
        elif char == "\\":
            word.append(line[i : i + 2])
            i += 2
        elif char == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise _ShellError("unexpected EOF while looking for matching `''")
            word.append(line[i : end + 1])
            i = end + 1
        elif char == '"':
            j = i + 1
            while j < n and line[j] != '"':
                if line[j] == "\\":
                    j += 2
                elif line.startswith("$((", j):
                    j = _skip_arith(line, j)
                else:
                    j += 1
            if j >= n:
                raise _ShellError("unexpected EOF while looking for matching `\"'")
            word.append(line[i : j + 1])
            i = j + 1
        elif line.startswith("$((", i):
            end = _skip_arith(line, i)
            word.append(line[i:end])
            i = end
        elif line.startswith("$(", i) or char == "`":
            raise _ShellError("command substitution is not supported by this demo guest")
        elif char in _OPERATOR_CHARS:
            flush()
            pair = line[i : i + 2]
            if pair in ("&&", "||", ">>"):
                tokens.append(("op", pair))
                i += 2
            else:
                tokens.append(("op", char))
                i += 1
        else:
            word.append(char)
            i += 1
    flush()
    return tokens


Pipeline = list[list[str]]


def _parse(line: str) -> list[tuple[str, Pipeline]]:
    """Parse a line into (connector, pipeline) pairs; connector is ``;``, ``&&`` or ``||``.

    Only the parts of bash a demo user is likely to type are supported: pipes, lists and
    ``&&``/``||``. Redirections, subshells and background jobs get a clear error instead of a
    silent misreading.
    """
    items: list[tuple[str, Pipeline]] = []
    connector = ";"
    pipeline: Pipeline = []
    command: list[str] = []

    def end_command(token: str) -> None:
        nonlocal command
        if not command:
            raise _ShellError(f"syntax error near unexpected token `{token}'")
        pipeline.append(command)
        command = []

    for kind, value in _lex(line):
        if kind == "word":
            command.append(value)
        elif value == "|":
            end_command(value)
        elif value in (";", "&&", "||"):
            end_command(value)
            items.append((connector, pipeline))
            pipeline = []
            connector = value
        elif value in ("<", ">", ">>"):
            raise _ShellError("redirections are not supported by this demo guest")
        elif value == "&":
            raise _ShellError("background jobs are not supported by this demo guest")
        else:
            raise _ShellError(f"syntax error near unexpected token `{value}'")
    if command:
        pipeline.append(command)
    elif pipeline or connector in ("&&", "||"):
        raise _ShellError("syntax error: unexpected end of file")
    if pipeline:
        items.append((connector, pipeline))
    return items


class _ArithError(Exception):
    """An arithmetic expansion error, worded like bash's."""


_ARITH_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+#[0-9A-Za-z@_]+|0[xX][0-9A-Fa-f]+|\d+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%<>&^|!~()?:]))"
)
# Binary operators by precedence, lowest first (bash's table, without assignment and comma).
_BLANK_RE = re.compile(r"\s*$")
_ARITH_PREC = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    "<=": 7,
    ">": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}
# Nesting budget shared by parentheses, unary chains, ** and variables holding expressions.
# Each level costs at most ~15 Python frames, so 40 stays well inside the recursion limit.
_ARITH_MAX_DEPTH = 40
_INT64 = 1 << 64


def _wrap64(value: int) -> int:
    """Bash arithmetic is signed 64-bit and wraps silently; so must ours (and stay small)."""
    value &= _INT64 - 1
    return value - _INT64 if value >= 1 << 63 else value


def _arith_number(token: str) -> int:
    """An integer constant: decimal, 0x hex, 0 octal or bash's base#digits."""
    if "#" in token:
        base_text, digits = token.split("#", 1)
        base = int(base_text[:4]) if len(base_text) <= 4 else 0
        if not 2 <= base <= 64:
            raise _ArithError("invalid arithmetic base")
    elif token[:2] in ("0x", "0X"):
        base, digits = 16, token[2:]
    elif token.startswith("0") and len(token) > 1:
        base, digits = 8, token[1:]
    else:
        base, digits = 10, token
    value = 0
    for char in digits:
        if char.isdigit():
            digit = ord(char) - ord("0")
        elif char.islower():
            digit = ord(char) - ord("a") + 10
        elif char.isupper():
            # Up to base 36 letters are case-insensitive; above it A-Z follow a-z.
            digit = ord(char) - ord("A") + (10 if base <= 36 else 36)
        elif char == "@":
            digit = 62
        else:  # "_"
            digit = 63
        if digit >= base:
            raise _ArithError("value too great for base")
        value = _wrap64(value * base + digit)
    return value


class _Arith:
    """Evaluator for bash's ``$(( ... ))``: precedence climbing over 64-bit integers.

    Evaluation happens while parsing; ``live`` is false on the side of ``&&``, ``||`` and
    ``?:`` that bash would not evaluate, so ``0 && 1/0`` is fine there too. Recursion is
    bounded so a line of 4000 ``(`` or ``-`` cannot blow Python's stack.
    """

    def __init__(self, text: str, lookup: Callable[[str, int], int], depth: int = 0) -> None:
        self.text = text
        self.lookup = lookup
        self.depth = depth
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while not _BLANK_RE.match(text, pos):
            match = _ARITH_TOKEN_RE.match(text, pos)
            if match is None:
                raise _ArithError(
                    f'syntax error: invalid arithmetic operator (error token is "{text[pos:].strip()}")'
                )
            kind = match.lastgroup or "op"
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        self.pos = 0

    def evaluate(self) -> int:
        if not self.tokens:
            return 0  # $(( )) is 0 in bash
        value = self._expr(self.depth, True)
        if self.pos < len(self.tokens):
            raise _ArithError(f'syntax error in expression (error token is "{self._rest()}")')
        return value

    def _rest(self) -> str:
        if self.pos >= len(self.tokens):
            return ""
        return self.text[self.tokens[self.pos][2] :].strip()

    def _peek(self) -> str | None:
        if self.pos < len(self.tokens):
            kind, value, _ = self.tokens[self.pos]
            return value if kind == "op" else None
        return None

    def _check_depth(self, depth: int) -> None:
        if depth > _ARITH_MAX_DEPTH:
            raise _ArithError("expression recursion level exceeded")

    def _expr(self, depth: int, live: bool) -> int:
        self._check_depth(depth)
        condition = self._binary(1, depth, live)
        if self._peek() != "?":
            return condition
        self.pos += 1
        if_true = self._expr(depth + 1, live and condition != 0)
        if self._peek() != ":":
            raise _ArithError(
                f'`:\' expected for conditional expression (error token is "{self._rest()}")'
            )
        self.pos += 1
        if_false = self._expr(depth + 1, live and condition == 0)
        return if_true if condition else if_false

    def _binary(self, level: int, depth: int, live: bool) -> int:
        left = self._power(depth, live)
        while True:
            op = self._peek()
            prec = _ARITH_PREC.get(op or "")
            if op is None or prec is None or prec < level:
                return left
            self.pos += 1
            # Right operands recurse at most once per precedence level, so they do not count
            # against the depth budget.
            if op == "&&":
                right = self._binary(prec + 1, depth, live and left != 0)
                left = int(left != 0 and right != 0)
            elif op == "||":
                right = self._binary(prec + 1, depth, live and left == 0)
                left = int(left != 0 or right != 0)
            else:
                right = self._binary(prec + 1, depth, live)
                left = self._apply(op, left, right, live)

    @staticmethod
    def _apply(op: str, a: int, b: int, live: bool) -> int:
        if op in ("/", "%"):
            if b == 0:
                if live:
                    raise _ArithError("division by 0")
                return 0
            quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # truncates like C
            return _wrap64(quotient if op == "/" else a - b * quotient)
        results = {
            "+": lambda: a + b,
            "-": lambda: a - b,
            "*": lambda: a * b,
            "<<": lambda: a << (b & 63),  # x86 masks the shift count, as bash inherits
            ">>": lambda: a >> (b & 63),
            "&": lambda: a & b,
            "|": lambda: a | b,
            "^": lambda: a ^ b,
            "==": lambda: int(a == b),
            "!=": lambda: int(a != b),
            "<": lambda: int(a < b),
            "<=": lambda: int(a <= b),
            ">": lambda: int(a > b),
            ">=": lambda: int(a >= b),
        }
        return _wrap64(results[op]())

    def _power(self, depth: int, live: bool) -> int:
        base = self._unary(depth, live)
        if self._peek() != "**":
            return base
        self.pos += 1
        self._check_depth(depth + 1)
        exponent = self._power(depth + 1, live)  # right-associative
        if exponent < 0:
            if live:
                raise _ArithError("exponent less than 0")
            return 0
        return _wrap64(pow(base, exponent, _INT64))

    def _unary(self, depth: int, live: bool) -> int:
        # In bash unary minus binds tighter than **: $((-2**2)) is 4.
        op = self._peek()
        if op in ("-", "+", "!", "~"):
            self.pos += 1
            self._check_depth(depth + 1)
            value = self._unary(depth + 1, live)
            if op == "-":
                return _wrap64(-value)
            if op == "!":
                return int(value == 0)
            if op == "~":
                return _wrap64(~value)
            return value
        return self._primary(depth, live)

    def _primary(self, depth: int, live: bool) -> int:
        if self.pos >= len(self.tokens):
            raise _ArithError('syntax error: operand expected (error token is "")')
        kind, value, _ = self.tokens[self.pos]
        if kind == "num":
            self.pos += 1
            return _arith_number(value)
        if kind == "name":
            self.pos += 1
            return self.lookup(value, depth)
        if value == "(":
            self.pos += 1
            result = self._expr(depth + 1, live)
            if self._peek() != ")":
                raise _ArithError(f'missing `)\' (error token is "{self._rest()}")')
            self.pos += 1
            return result
        raise _ArithError(f'syntax error: operand expected (error token is "{self._rest()}")')


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _onlcr(text: str) -> str:
    """What the tty's output processing does: each newline goes out as CR LF."""
    return text.replace("\n", "\r\n")


def _char_width(char: str) -> int:
    """Columns a character occupies, so backspace rubs out wide characters completely."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _strftime(fmt: str, timestamp: float) -> str:
    """``strftime`` in UTC with C-locale names, done by hand.

    The platform's strftime depends on the process locale and raises on some input; the
    guest must answer the same everywhere and never raise on whatever `date +...` gets.
    """
    tm = time.gmtime(timestamp)
    hour12 = tm.tm_hour % 12 or 12
    values = {
        "a": _DAYS[tm.tm_wday][:3],
        "A": _DAYS[tm.tm_wday],
        "b": _MONTHS[tm.tm_mon - 1][:3],
        "h": _MONTHS[tm.tm_mon - 1][:3],
        "B": _MONTHS[tm.tm_mon - 1],
        "d": f"{tm.tm_mday:02d}",
        "e": f"{tm.tm_mday:2d}",
        "H": f"{tm.tm_hour:02d}",
        "k": f"{tm.tm_hour:2d}",
        "I": f"{hour12:02d}",
        "l": f"{hour12:2d}",
        "j": f"{tm.tm_yday:03d}",
        "m": f"{tm.tm_mon:02d}",
        "M": f"{tm.tm_min:02d}",
        "S": f"{tm.tm_sec:02d}",
        "p": "AM" if tm.tm_hour < 12 else "PM",
        "y": f"{tm.tm_year % 100:02d}",
        "Y": str(tm.tm_year),
        "C": f"{tm.tm_year // 100:02d}",
        "u": str(tm.tm_wday + 1),
        "w": str((tm.tm_wday + 1) % 7),
        "Z": "UTC",
        "z": "+0000",
        "s": str(int(timestamp)),
        "n": "\n",
        "t": "\t",
        "%": "%",
    }
    values["T"] = f"{values['H']}:{values['M']}:{values['S']}"
    values["R"] = f"{values['H']}:{values['M']}"
    values["D"] = f"{values['m']}/{values['d']}/{values['y']}"
    values["F"] = f"{values['Y']}-{values['m']}-{values['d']}"
    values["c"] = f"{values['a']} {values['b']} {values['e']} {values['T']} {values['Y']}"
    values["x"] = values["D"]
    values["X"] = values["T"]
    out: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            directive = fmt[i + 1]
            out.append(values.get(directive, "%" + directive))
            i += 2
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def _echo_escapes(text: str) -> tuple[str, bool]:
    """``echo -e`` backslash escapes; the flag is False when ``\\c`` asked to stop output."""
    simple = {
        "a": "\a",
        "b": "\b",
        "e": "\x1b",
        "E": "\x1b",
        "f": "\f",
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "v": "\v",
        "\\": "\\",
    }
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\" or i + 1 >= len(text):
            out.append(char)
            i += 1
            continue
        code = text[i + 1]
        if code in simple:
            out.append(simple[code])
            i += 2
        elif code == "c":
            return "".join(out), False
        elif code == "0":
            match = re.match(r"[0-7]{0,3}", text[i + 2 :])
            digits = match.group(0) if match else ""
            out.append(chr(int(digits or "0", 8) & 0xFF))
            i += 2 + len(digits)
        elif code == "x" and re.match(r"[0-9A-Fa-f]", text[i + 2 : i + 3]):
            match = re.match(r"[0-9A-Fa-f]{1,2}", text[i + 2 :])
            digits = match.group(0) if match else "0"
            out.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        else:
            out.append(char + code)
            i += 2
    return "".join(out), True


def _stable_int(*parts: object) -> int:
    """A hash that is the same in every process (unlike ``hash()`` of a str)."""
    digest = hashlib.sha256("\0".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _mix(a: int, b: int) -> int:
    """A cheap deterministic scramble of two integers, for jitter in `top`."""
    value = (a * 2654435761 + b * 40503 + 0x9E3779B9) & 0xFFFFFFFF
    value ^= value >> 15
    value = (value * 0x2C1B3C6D) & 0xFFFFFFFF
    return value ^ (value >> 12)


def _columns(names: list[str], visible: list[int], width: int) -> str:
    """Lay names out column-major like ``ls`` does on a terminal of ``width`` columns."""
    if not names:
        return ""
    for ncols in range(len(names), 0, -1):
        nrows = math.ceil(len(names) / ncols)
        widths = [
            max(visible[c * nrows : (c + 1) * nrows], default=0)
            for c in range(math.ceil(len(names) / nrows))
        ]
        if sum(widths) + 2 * (len(widths) - 1) <= width or ncols == 1:
            break
    lines = []
    for r in range(nrows):
        indices = [c * nrows + r for c in range(len(widths)) if c * nrows + r < len(names)]
        cells = [names[i] + " " * (widths[c] - visible[i]) for c, i in enumerate(indices)]
        lines.append("  ".join(cells).rstrip(" "))
    return "\n".join(lines) + "\n"


@dataclass
class _Nic:
    """One guest network interface as ``ip addr`` shows it."""

    name: str
    mac: str
    addrs: list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]

    @property
    def link_local(self) -> ipaddress.IPv6Interface:
        """The EUI-64 fe80:: address the kernel derives from the MAC."""
        octets = [int(part, 16) for part in self.mac.split(":")]
        octets[0] ^= 0x02
        eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
        groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
        return ipaddress.IPv6Interface(f"fe80::{':'.join(groups)}/64")

    @property
    def ipv4(self) -> list[ipaddress.IPv4Interface]:
        return [a for a in self.addrs if isinstance(a, ipaddress.IPv4Interface)]

    @property
    def ipv6(self) -> list[ipaddress.IPv6Interface]:
        return [a for a in self.addrs if isinstance(a, ipaddress.IPv6Interface)]


_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _parse_ip(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    """An address with its prefix; bare addresses get KubeVirt masquerade's /24 (v6: /64)."""
    text = str(text).strip()
    if "/" not in text:
        text += "/64" if ":" in text else "/24"
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        return None


def _build_nics(
    vm_name: str, namespace: str, ips: list[str] | None, macs: list[str] | None
) -> list[_Nic]:
    """Interfaces eth0.. from the VMI's IPs and MACs.

    ``macs[i]`` is eth<i>'s MAC; with MACs given there are that many NICs and ``ips[i]`` goes
    to eth<i> (extra IPs to the last NIC, e.g. an IPv6 next to an IPv4). Without MACs each IP
    gets its own NIC with a stable made-up MAC. ``ips=None`` means KubeVirt's masquerade
    default, 10.0.2.2/24; an empty list means an interface without addresses.
    """
    addresses = [
        a for a in (_parse_ip(ip) for ip in (["10.0.2.2/24"] if ips is None else ips)) if a
    ]
    clean_macs = [str(m).strip().lower() for m in macs or []]
    count = len(clean_macs) if clean_macs else max(len(addresses), 1)
    nics = []
    for index in range(count):
        mac = clean_macs[index] if index < len(clean_macs) else ""
        if not _MAC_RE.match(mac):
            tail = _stable_int("mac", namespace, vm_name, index).to_bytes(8, "big")[:3]
            mac = "52:54:00:" + ":".join(f"{b:02x}" for b in tail)
        nics.append(_Nic(name=f"eth{index}", mac=mac, addrs=[]))
    for index, address in enumerate(addresses):
        nics[min(index, count - 1)].addrs.append(address)
    return nics


def _arch_of(kernel: str) -> str:
    """The machine architecture a kernel release string implies (x86_64 unless it says)."""
    for arch in ("aarch64", "arm64", "s390x", "ppc64le", "riscv64"):
        if arch in kernel:
            return "aarch64" if arch == "arm64" else arch
    return "x86_64"


def _os_release(os_name: str) -> dict[str, str]:
    """Fields of /etc/os-release guessed from a pretty name such as "Fedora Linux 41 (Cloud Edition)"."""
    match = re.match(r"^(.*?)\s+(\d[\w.]*)\s*(.*)$", os_name)
    if match:
        name, version_id, extra = match.group(1), match.group(2), match.group(3)
    else:
        name, version_id, extra = os_name, "", ""
    ident = (name.split() or ["linux"])[0].lower()
    ident = {"red": "rhel", "centos": "centos"}.get(
        ident, re.sub(r"[^a-z0-9._-]", "", ident) or "linux"
    )
    version = f"{version_id} {extra}".strip()
    fields = {"NAME": name, "VERSION": version, "ID": ident, "VERSION_ID": version_id}
    if ident == "fedora":
        fields["ID_LIKE"] = ""
    elif ident in ("rhel", "centos"):
        fields["ID_LIKE"] = "rhel centos fedora" if ident == "rhel" else "rhel fedora"
    elif ident == "ubuntu":
        fields["ID_LIKE"] = "debian"
    fields["PRETTY_NAME"] = os_name
    fields["ANSI_COLOR"] = "0;34"
    fields["HOME_URL"] = {
        "fedora": "https://fedoraproject.org/",
        "ubuntu": "https://www.ubuntu.com/",
        "rhel": "https://www.redhat.com/",
        "centos": "https://centos.org/",
    }.get(ident, "https://kubevirt.io/")
    return {k: v for k, v in fields.items() if v}


# The processes `top` and `ps` show: (pid, user, VIRT KiB, RES KiB, SHR KiB, command,
# activity 0..2, CPU seconds used by the end of boot).
_PROCESSES: tuple[tuple[int, str, int, int, int, str, int, float], ...] = (
    (1, "root", 39640, 21376, 11520, "systemd", 1, 1.21),
    (2, "root", 0, 0, 0, "kthreadd", 0, 0.0),
    (3, "root", 0, 0, 0, "pool_workqueue_release", 0, 0.0),
    (15, "root", 0, 0, 0, "ksoftirqd/0", 1, 0.05),
    (16, "root", 0, 0, 0, "rcu_preempt", 2, 0.11),
    (44, "root", 0, 0, 0, "kworker/0:2-events", 2, 0.08),
    (398, "root", 42912, 14848, 13568, "systemd-journal", 1, 0.31),
    (441, "root", 34148, 11264, 7936, "systemd-udevd", 0, 0.22),
    (560, "systemd-resolve", 21860, 13568, 11136, "systemd-resolve", 0, 0.09),
    (571, "chrony", 84692, 4096, 3584, "chronyd", 0, 0.02),
    (585, "dbus", 9424, 4736, 3968, "dbus-broker", 0, 0.04),
    (602, "root", 255260, 19072, 15872, "NetworkManager", 1, 0.18),
    (611, "root", 17584, 8832, 7552, "systemd-logind", 0, 0.05),
    (640, "root", 160604, 4608, 3968, "qemu-ga", 1, 0.03),
    (702, "root", 15188, 9344, 8064, "sshd", 0, 0.01),
    (_LOGIN_PID, "root", 19916, 6912, 5888, "login", 0, 0.01),
)
_TASKS_TOTAL = 97  # listed processes plus idle kernel threads nobody wants to read about


@dataclass
class _Result:
    """What a command produced: stdout (piped on), stderr (to the terminal), exit status."""

    out: str = ""
    err: str = ""
    status: int = 0
    action: str | None = None  # "top", "logout" or "resize": the shell changes mode after it


Command = Callable[[list[str], "str | None"], _Result]

# ---------------------------------------------------------------------------------------------
# The guest
# ---------------------------------------------------------------------------------------------

_OFF = "off"
_LOGIN = "login"
_PASSWORD = "password"
_SHELL = "shell"
_TOP = "top"
_RESIZE = "resize"

# Commands that exist only to explain themselves are left out of `help`.
_UNLISTED_COMMANDS = frozenset({"halt", "poweroff", "reboot", "shutdown"})


class SimulatedGuest:
    """A fake Linux guest on the other end of a VM's serial console.

    Keyword arguments describe the guest: ``hostname`` defaults to the VM name; ``user`` and
    ``password`` are the console login (normally from cloud-init: see
    :func:`credentials_from_userdata`) -- without a password every login is refused, as on a
    cloud image nobody set a password for; ``ips``/``macs`` shape ``ip addr`` (see
    :func:`_build_nics`); ``clock`` is the only time source. ``epoch`` is the guest's wall
    clock at construction: by default the real time when running on the real monotonic clock,
    else a fixed date so a fake clock makes every output reproducible. ``memory_mib`` and
    ``cpus`` only feed the boot log, ``free`` and ``top``.
    """

    def __init__(
        self,
        *,
        vm_name: str,
        namespace: str,
        hostname: str | None = None,
        user: str | None = None,
        password: str | None = None,
        os_name: str = "Fedora Linux 41 (Cloud Edition)",
        kernel: str = "6.11.4-301.fc41.x86_64",
        ips: list[str] | None = None,
        macs: list[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        epoch: float | None = None,
        memory_mib: int = 2048,
        cpus: int = 1,
    ) -> None:
        self.vm_name = vm_name
        self.namespace = namespace
        self.hostname = (hostname or vm_name or "localhost").strip() or "localhost"
        # A password without a user is cloud-init's top-level `password:`, which applies to the
        # image's default user.
        self.user = user if user else (_DEFAULT_CLOUD_USER if password is not None else None)
        self.password = password
        self.os_name = os_name or "Linux"
        self.kernel = kernel or "6.11.4-301.fc41.x86_64"
        self.arch = _arch_of(self.kernel)
        self.memory_mib = max(int(memory_mib), 64)
        self.cpus = max(int(cpus), 1)
        self._nics = _build_nics(vm_name, namespace, ips, macs)
        self._clock = clock
        self._t0 = clock()
        if epoch is None:
            epoch = time.time() if clock is time.monotonic else _FIXED_EPOCH
        self._epoch = float(epoch)

        self.booted = False
        self._state = _OFF
        self.rows = _DEFAULT_ROWS
        self.cols = _DEFAULT_COLS
        # Input decoding: UTF-8 may arrive split across frames, escape sequences too.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._esc: str | None = None
        self._after_cr = False
        self._line = ""
        self._echo = True
        self._history: list[str] = []
        self._history_pos = 0
        self._login_name = ""
        self._last_login = self._epoch
        self._login_uptime = 0.0
        self._vars: dict[str, str] = {}
        self._home = "/"
        self._cwd = "/"
        self._status = 0
        self._sudo = False
        self._stdout_tty = True
        self._random_state = _stable_int("random", namespace, vm_name) & 0x7FFFFFFF
        self._top_last: list[str] = []
        self._resize_started = 0.0

    # -- public API ----------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """Where the guest is: off, login, password, shell, top or resize."""
        return self._state

    @property
    def short_hostname(self) -> str:
        """The host name up to the first dot, as agetty and bash's ``\\h`` show it."""
        return self.hostname.split(".", 1)[0] or self.hostname

    def boot_chunks(self) -> list[tuple[float, bytes]]:
        """The boot log as (delay_seconds_before_chunk, bytes) pairs, ending at the login prompt.

        Firmware and kernel lines, systemd's coloured ``[  OK  ]`` lines, cloud-init (which
        says so when no password was set, so demo users know why logins fail), the issue
        banner and ``<hostname> login: ``. Delays add up to about 2.5 seconds; the driver may
        scale them. The guest counts as booted (at the login prompt) when this returns.
        """
        # A reboot from inside top must not leave the viewer on the alternate screen.
        restore = _CURSOR_SHOW + _ALT_SCREEN_OFF if self._state == _TOP else ""
        self.booted = True
        self._state = _LOGIN
        self._line = ""
        self._echo = True
        self._esc = None
        chunks = [
            (delay, _onlcr(text).encode("utf-8", "replace")) for delay, text in self._boot_log()
        ]
        if restore:
            chunks[0] = (chunks[0][0], restore.encode() + chunks[0][1])
        return chunks

    def on_connect(self) -> bytes:
        """What a newly attached viewer is sent: nothing, as a real serial line doesn't repaint."""
        return b""

    def redraw_hint(self) -> bytes:
        """Bytes that show the current state to a newly attached viewer, if the driver wants to.

        A real console shows nothing until the user presses Enter; a demo may prefer to show
        the prompt (or ``top``'s screen) at once. Nothing changes in the guest's state.
        """
        if self._state == _LOGIN:
            text = "\n" + self._login_prompt() + self._line
        elif self._state == _PASSWORD:
            text = "\nPassword: "
        elif self._state == _SHELL:
            text = "\n" + self._prompt() + (self._line if self._echo else "")
        elif self._state == _TOP:
            return (
                _ALT_SCREEN_ON + _CURSOR_HIDE + self._top_draw(full=True, remember=False)
            ).encode("utf-8", "replace")
        else:
            return b""
        return _onlcr(text).encode("utf-8", "replace")

    def feed(self, data: bytes) -> bytes:
        """Process bytes typed by the viewer and return what the guest writes back.

        Input is raw terminal bytes in any chunking (one byte at a time, or several lines
        pasted at once): Enter is CR (LF and CR LF work too), DEL/BS erase, ^C, ^D, ^U, ^W, ^L
        and arrow keys (history) are understood; other escape sequences are swallowed. Before
        boot nothing answers.
        """
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        if not self.booted:
            return b""
        text = self._decoder.decode(bytes(data))
        out = [self._feed_char(char) for char in text]
        return "".join(out).encode("utf-8", "replace")

    def tick(self) -> bytes:
        """Periodic work, about once a second: ``top`` redraws what changed; ``resize`` times out."""
        if self._state == _TOP:
            return self._top_draw(full=False).encode("utf-8", "replace")
        if self._state == _RESIZE and self._clock() - self._resize_started >= 1.0:
            self._state = _SHELL
            self._status = 1
            return _onlcr("resize: Time out occurred\n" + self._prompt()).encode("utf-8", "replace")
        return b""

    def cloud_init_credentials(self, user_data: str | None) -> tuple[str, str] | None:
        """Take the console login from a cloud-init userData (see :func:`credentials_from_userdata`).

        The userData is authoritative, as in a real guest: without a usable password in it,
        logins are refused. Call before :meth:`boot_chunks` so the boot log agrees. Returns
        the credentials found.
        """
        found = credentials_from_userdata(user_data)
        self.user, self.password = found if found else (None, None)
        return found

    # -- time ----------------------------------------------------------------------------------

    def _uptime(self) -> float:
        return max(0.0, self._clock() - self._t0)

    def _now(self) -> float:
        return self._epoch + self._uptime()

    @staticmethod
    def _loadavg(up: float) -> tuple[float, float, float]:
        """Plausible load averages: busy just after boot, then settling, with a little wobble."""
        one = 0.35 * math.exp(-up / 60) + 0.02 + 0.04 * math.sin(up / 17) ** 2
        five = 0.25 * math.exp(-up / 300) + 0.01 + 0.02 * math.sin(up / 53) ** 2
        fifteen = 0.12 * math.exp(-up / 900) + 0.01 * math.sin(up / 131) ** 2
        return round(one, 2), round(five, 2), round(fifteen, 2)

    def _uptime_line(self) -> str:
        """procps' ``uptime`` line: `` 09:30:05 up 5 min,  1 user,  load average: ...``."""
        up = int(self._uptime())
        days, rem = divmod(up, 86400)
        hours, minutes = rem // 3600, rem % 3600 // 60
        text = f" {_strftime('%H:%M:%S', self._now())} up "
        if days:
            text += f"{days} day{'s' if days != 1 else ''}, "
        text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
        users = 1 if self._state in (_SHELL, _TOP, _RESIZE) else 0
        text += f"{users:2d} user{'' if users == 1 else 's'}, "
        one, five, fifteen = self._loadavg(self._uptime())
        return text + f" load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"

    # -- boot ----------------------------------------------------------------------------------

    def _uuid(self, purpose: str) -> str:
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"kvtui-demo:{self.namespace}/{self.vm_name}:{purpose}")
        )

    def _boot_log(self) -> list[tuple[float, str]]:
        """The boot log as (delay, text) with "\\n" line ends; see :meth:`boot_chunks`."""

        def kmsg(stamp: float, text: str) -> str:
            return f"[{stamp:12.6f}] {text}\n"

        def ok(verb: str, unit: str, description: str) -> str:
            return f"{_OK} {verb} {_UNIT}{unit}{_RESET} - {description}.\n"

        def starting(unit: str, description: str) -> str:
            return f"         Starting {_UNIT}{unit}{_RESET} - {description}...\n"

        mem_kib = self.memory_mib * 1024
        host = self.hostname
        arch = self.arch
        cloud_init = "24.2-1.fc41" if "fc4" in self.kernel else "24.1.3"
        started = self._now()
        if self.os_name.lower().startswith("fedora"):
            # Fedora cloud images have a btrfs root; the others mostly ext4 or xfs.
            root_fs = kmsg(
                1.201345,
                "BTRFS: device label fedora devid 1 transid 94 /dev/vda4 scanned by mount (512)",
            ) + kmsg(1.268820, "BTRFS info (device vda4): first mount of filesystem")
        else:
            root_fs = kmsg(
                1.268820,
                "EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.",
            )
        chunks: list[tuple[float, str]] = []
        chunks.append(
            (
                0.10,
                "SeaBIOS (version 1.16.3-2.fc41)\n"
                f"Machine UUID {self._uuid('firmware')}\n"
                "Booting from Hard Disk...\n",
            )
        )
        chunks.append(
            (
                0.35,
                kmsg(
                    0.0,
                    f"Linux version {self.kernel} (mockbuild@build.kvtui.demo) (gcc (GCC) 14.2.1, "
                    "GNU ld version 2.43.1) #1 SMP PREEMPT_DYNAMIC Sun Oct 20 15:02:33 UTC 2024",
                )
                + kmsg(
                    0.0,
                    f"Command line: BOOT_IMAGE=(hd0,gpt3)/vmlinuz-{self.kernel} "
                    f"root=UUID={self._uuid('root')} ro rootflags=subvol=root no_timer_check "
                    "net.ifnames=0 console=tty1 console=ttyS0,115200n8",
                )
                + kmsg(0.0, "DMI: KubeVirt None/RHEL, BIOS 1.16.3-2.fc41 04/01/2014")
                + kmsg(0.0, "Hypervisor detected: KVM")
                + kmsg(
                    0.012418,
                    f"Memory: {mem_kib * 94 // 100}K/{mem_kib}K available "
                    f"(20480K kernel code, 4460K rwdata, {mem_kib * 6 // 100}K reserved)",
                )
                + kmsg(0.031507, f"smpboot: Allowing {self.cpus} CPUs, 0 hotplug CPUs"),
            )
        )
        chunks.append(
            (
                0.30,
                kmsg(0.412301, "Freeing unused kernel image (initmem) memory: 4556K")
                + kmsg(0.520884, "Run /init as init process")
                + kmsg(0.833560, "virtio_blk virtio2: 1/0/0 default/read/poll queues")
                + kmsg(
                    0.841002,
                    "virtio_blk virtio2: [vda] 10485760 512-byte logical blocks (5.37 GB/5.00 GiB)",
                )
                + kmsg(0.862117, " vda: vda1 vda2 vda3 vda4 vda5")
                + root_fs,
            )
        )
        chunks.append(
            (
                0.25,
                kmsg(
                    1.521937,
                    "systemd[1]: systemd 256.7-1.fc41 running in system mode "
                    "(+PAM +AUDIT +SELINUX +SECCOMP +ACL +BLKID +KMOD +TPM2 +ZSTD +BPF_FRAMEWORK)",
                )
                + kmsg(1.530114, "systemd[1]: Detected virtualization kvm.")
                + kmsg(1.530120, f"systemd[1]: Detected architecture {arch.replace('_', '-')}.")
                + kmsg(1.561457, f"systemd[1]: Hostname set to <{host}>.")
                + f"\nWelcome to {_OS_COLOUR}{self.os_name}{_RESET}!\n\n",
            )
        )
        chunks.append(
            (
                0.20,
                ok("Created slice", "system-getty.slice", "Slice /system/getty")
                + ok("Created slice", "system-serial\\x2dgetty.slice", "Slice /system/serial-getty")
                + ok("Started", "systemd-journald.service", "Journal Service")
                + ok(
                    "Finished", "systemd-remount-fs.service", "Remount Root and Kernel File Systems"
                )
                + ok("Reached target", "local-fs.target", "Local File Systems"),
            )
        )
        chunks.append(
            (
                0.20,
                starting("systemd-udevd.service", "Rule-based Manager for Device Events and Files")
                + ok(
                    "Started",
                    "systemd-udevd.service",
                    "Rule-based Manager for Device Events and Files",
                )
                + ok(
                    "Finished",
                    "systemd-tmpfiles-setup.service",
                    "Create System Files and Directories",
                )
                + ok("Reached target", "sysinit.target", "System Initialization")
                + ok("Started", "dbus-broker.service", "D-Bus System Message Bus")
                + ok("Started", "chronyd.service", "NTP client/server"),
            )
        )
        chunks.append(
            (
                0.25,
                starting("cloud-init-local.service", "Cloud-init: Local Stage (pre-network)")
                + ok(
                    "Finished", "cloud-init-local.service", "Cloud-init: Local Stage (pre-network)"
                )
                + ok("Started", "NetworkManager.service", "Network Manager")
                + ok("Reached target", "network.target", "Network")
                + starting("cloud-init.service", "Cloud-init: Network Stage"),
            )
        )
        ci = "cloud-init[812]: "
        network = "".join(kmsg(6.904112, ci + "ci-info: " + row) for row in self._ci_info_table())
        chunks.append(
            (
                0.30,
                kmsg(
                    6.512304,
                    ci + f"Cloud-init v. {cloud_init} running 'init' at "
                    f"{_strftime('%a, %d %b %Y %H:%M:%S +0000', started)}. Up 6.51 seconds.",
                )
                + network,
            )
        )
        chunks.append(
            (
                0.20,
                ok("Finished", "cloud-init.service", "Cloud-init: Network Stage")
                + ok("Reached target", "cloud-config.target", "Cloud-config availability")
                + ok("Started", "sshd.service", "OpenSSH server daemon")
                + ok("Started", "qemu-guest-agent.service", "QEMU Guest Agent")
                + ok("Started", f"serial-getty@{_TTY}.service", f"Serial Getty on {_TTY}")
                + ok("Reached target", "getty.target", "Login Prompts")
                + ok("Reached target", "multi-user.target", "Multi-User System"),
            )
        )
        final = kmsg(
            9.871520,
            f"cloud-init[901]: Cloud-init v. {cloud_init} finished at "
            f"{_strftime('%a, %d %b %Y %H:%M:%S +0000', started + 2)}. "
            "Datasource DataSourceNoCloud [seed=/dev/vdb].  Up 9.87 seconds",
        )
        if self.password is None:
            # Said last, right above the prompt, so the demo user sees why logins will fail.
            who = self.user or _DEFAULT_CLOUD_USER
            final += kmsg(
                9.871533,
                f"cloud-init[901]: ci-info: no password set for user {who}: console login is "
                "disabled (add 'password:' to the VM's cloud-init userData)",
            )
        chunks.append((0.30, final + self._issue() + self._login_prompt()))
        return chunks

    def _ci_info_table(self) -> list[str]:
        """cloud-init's "Net device info" table."""
        rows = [("lo", "True", "127.0.0.1", "255.0.0.0", "host", ".")]
        rows.append(("lo", "True", "::1/128", ".", "host", "."))
        for nic in self._nics:
            for addr in nic.ipv4:
                rows.append((nic.name, "True", str(addr.ip), str(addr.netmask), "global", nic.mac))
            for addr in [*nic.ipv6, nic.link_local]:
                scope = "link" if addr.ip.is_link_local else "global"
                rows.append((nic.name, "True", str(addr.with_prefixlen), ".", scope, nic.mac))
        header = ("Device", "Up", "Address", "Mask", "Scope", "Hw-Address")
        widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(len(header))]
        rule = "+" + "+".join("-" * w for w in widths) + "+"

        def fmt(row: tuple[str, ...]) -> str:
            return "|" + "|".join(cell.center(w) for cell, w in zip(row, widths, strict=True)) + "|"

        title = "Net device info".center(len(rule), "+")
        return [title, rule, fmt(header), rule, *(fmt(r) for r in rows), rule]

    def _issue(self) -> str:
        """/etc/issue as agetty prints it before the login prompt (with the IPs, as Fedora does)."""
        if self.os_name.startswith(("Ubuntu", "Debian")):
            text = f"\n{self.os_name} {self.short_hostname} {_TTY}\n\n"
        else:
            text = f"\n{self.os_name}\nKernel {self.kernel} on an {self.arch} ({_TTY})\n\n"
        for nic in self._nics:
            addrs = [str(a.ip) for a in nic.ipv4[:1]] + [str(nic.link_local.ip)]
            text += f"{nic.name}: {' '.join(addrs)}\n"
        return text

    # -- input ---------------------------------------------------------------------------------

    def _feed_char(self, char: str) -> str:
        if self._esc is not None:
            return self._continue_escape(char)
        if char == "\x1b":
            self._esc = ""
            return ""
        # Terminals that send CR LF for Enter must not produce two Enters.
        if char == "\n" and self._after_cr:
            self._after_cr = False
            return ""
        self._after_cr = char == "\r"
        return self._dispatch("\r" if char == "\n" else char)

    def _continue_escape(self, char: str) -> str:
        """Collect an escape sequence (CSI or SS3) and dispatch it as one key."""
        if char < " " or char == "\x7f":
            # A control character cancels the sequence and counts on its own (ESC then Enter).
            self._esc = None
            return self._feed_char(char)
        seq = self._esc + char
        if seq in ("[", "O"):
            self._esc = seq
            return ""
        if seq.startswith("[") and len(seq) > 1:
            if "\x40" <= char <= "\x7e":
                self._esc = None
                return self._dispatch("\x1b" + seq)
            # Parameters stay short; anything longer is garbage, not a key.
            self._esc = seq if len(seq) < 32 else None
            return ""
        self._esc = None
        if seq.startswith("O") and len(seq) == 2:
            return self._dispatch("\x1b[" + seq[1])  # SS3 arrows = CSI arrows
        return ""  # Alt+key: nothing to do

    def _dispatch(self, key: str) -> str:
        if self._state in (_LOGIN, _PASSWORD, _SHELL):
            return _onlcr(self._edit(key))
        if self._state == _TOP:
            return self._top_key(key)
        if self._state == _RESIZE:
            return self._resize_key(key)
        return ""

    # -- the line editor (login name, password, shell) -----------------------------------------

    def _erase(self, text: str) -> str:
        """Rub characters out on screen, the way the tty's ECHOE does."""
        width = sum(_char_width(c) for c in text)
        return "\b \b" * width

    def _replace_line(self, new: str) -> str:
        old, self._line = self._line, new
        return self._erase(old) + new if self._echo else ""

    def _edit(self, key: str) -> str:
        echo = self._state != _PASSWORD and self._echo
        if key.startswith("\x1b"):
            if self._state == _SHELL and key in ("\x1b[A", "\x1b[B"):
                return self._history_step(-1 if key == "\x1b[A" else 1)
            return ""
        if key == "\r":
            return self._enter()
        if key in ("\x7f", "\x08"):
            if not self._line:
                return ""
            last, self._line = self._line[-1], self._line[:-1]
            return self._erase(last) if echo else ""
        if key == "\x03":
            return self._interrupt()
        if key == "\x04":
            if self._line:
                return ""
            if self._state == _SHELL:
                return "logout\n" + self._logout()
            return ""
        if key == "\x15":  # ^U kills the whole line
            old, self._line = self._line, ""
            return self._erase(old) if echo else ""
        if key == "\x17":  # ^W kills the previous word
            kept = re.sub(r"\S+\s*$", "", self._line)
            old, self._line = self._line[len(kept) :], kept
            return self._erase(old) if echo else ""
        if key == "\x0c" and self._state == _SHELL:  # ^L
            return _CLEAR + self._prompt() + (self._line if echo else "")
        if key == "\t" and self._state == _SHELL:
            return self._complete()
        if len(key) != 1 or not key.isprintable():
            return ""
        if len(self._line) >= _MAX_LINE:
            return ""
        self._line += key
        return key if echo else ""

    def _interrupt(self) -> str:
        self._line = ""
        if self._state == _SHELL:
            self._status = 130
            return "^C\n" + self._prompt()
        # agetty/login simply start over.
        self._state = _LOGIN
        return "\n" + self._login_prompt()

    def _history_step(self, step: int) -> str:
        if not self._history:
            return ""
        self._history_pos = min(max(self._history_pos + step, 0), len(self._history))
        entry = self._history[self._history_pos] if self._history_pos < len(self._history) else ""
        return self._replace_line(entry)

    def _complete(self) -> str:
        """Tab completes a command name when it is the only match, else rings the bell."""
        if " " in self._line:
            return "\a"
        matches = [c for c in self._commands() if c.startswith(self._line)]
        if len(matches) != 1:
            return "\a"
        addition = matches[0][len(self._line) :] + " "
        self._line += addition
        return addition if self._echo else ""

    def _enter(self) -> str:
        line, self._line = self._line, ""
        if self._state == _LOGIN:
            name = line.strip()
            if not name:
                return "\n" + self._login_prompt()
            self._login_name = name
            self._state = _PASSWORD
            return "\nPassword: "
        if self._state == _PASSWORD:
            return "\n" + self._check_login(line)
        # The shell.
        if line.strip():
            if not self._history or self._history[-1] != line:  # HISTCONTROL=ignoredups
                self._history.append(line)
                del self._history[:-_MAX_HISTORY]
        self._history_pos = len(self._history)
        out = "\n" + self._run_line(line)
        if self._state == _SHELL:
            out += self._prompt()
        return out

    # -- login ---------------------------------------------------------------------------------

    def _login_prompt(self) -> str:
        return f"{self.short_hostname} login: "

    def _check_login(self, password: str) -> str:
        if self.user is not None and self.password is not None:
            if self._login_name == self.user and password == self.password:
                return self._start_shell()
        self._state = _LOGIN
        return "\nLogin incorrect\n" + self._login_prompt()

    def _start_shell(self) -> str:
        user = self._login_name
        self._state = _SHELL
        previous, self._last_login = self._last_login, self._now()
        self._login_uptime = self._uptime()
        self._home = "/root" if user == "root" else f"/home/{user}"
        self._cwd = self._home
        self._status = 0
        self._echo = True
        self._sudo = False
        self._vars = {
            "HOME": self._home,
            "USER": user,
            "LOGNAME": user,
            "HOSTNAME": self.hostname,
            "SHELL": "/bin/bash",
            "PATH": f"{self._home}/.local/bin:{self._home}/bin:/usr/local/bin:/usr/bin",
            "TERM": "vt220",
            "LANG": "C.UTF-8",
            "HISTSIZE": str(_MAX_HISTORY),
            "HISTCONTROL": "ignoredups",
            "MAIL": f"/var/spool/mail/{user}",
            "SHLVL": "1",
            "OLDPWD": self._home,
        }
        return (
            f"Last login: {_strftime('%a %b %e %H:%M:%S %Y', previous)} on {_TTY}\n"
            + self._prompt()
        )

    def _logout(self) -> str:
        """Back to agetty: the issue banner and a fresh login prompt."""
        self._state = _LOGIN
        self._line = ""
        self._echo = True
        return self._issue() + self._login_prompt()

    def _prompt(self) -> str:
        user = self._login_name
        if self._cwd == self._home:
            where = "~"
        elif self._cwd == "/":
            where = "/"
        else:
            where = posixpath.basename(self._cwd)
        return f"[{user}@{self.short_hostname} {where}]{'#' if user == 'root' else '$'} "

    # -- the shell -----------------------------------------------------------------------------

    def _run_line(self, line: str) -> str:
        """Run one command line; returns terminal text with "\\n" line ends."""
        try:
            items = _parse(line)
        except _ShellError as exc:
            self._status = 2
            return f"-bash: {exc}\n"
        out: list[str] = []
        action = None
        for connector, pipeline in items:
            if connector == "&&" and self._status != 0:
                continue
            if connector == "||" and self._status == 0:
                continue
            text, action = self._run_pipeline(pipeline)
            out.append(text)
            if action:
                # A mode switch (top, logout, resize) ends the line: what follows is dropped.
                break
        return "".join(out) + self._apply_action(action)

    def _apply_action(self, action: str | None) -> str:
        if action == "top":
            self._state = _TOP
            return _ALT_SCREEN_ON + _CURSOR_HIDE + self._top_draw(full=True)
        if action == "logout":
            return "logout\n" + self._logout()
        if action == "resize":
            self._state = _RESIZE
            self._resize_started = self._clock()
            return _RESIZE_QUERY
        return ""

    def _run_pipeline(self, pipeline: Pipeline) -> tuple[str, str | None]:
        out: list[str] = []
        stdin: str | None = None
        action = None
        for index, raw_words in enumerate(pipeline):
            self._stdout_tty = index == len(pipeline) - 1
            try:
                words = [w for w in (self._expand_word(raw) for raw in raw_words) if w is not None]
            except _ShellError as exc:
                out.append(f"-bash: {exc}\n")
                self._status = 1
                stdin = ""
                continue
            result = self._run_simple(words, stdin)
            out.append(result.err)
            stdin = result.out
            self._status = result.status
            if result.action:
                action = result.action
                break
        self._stdout_tty = True
        out.append(stdin or "")
        return "".join(out), action

    def _run_simple(self, words: list[str], stdin: str | None) -> _Result:
        assignments = []
        while words and _ASSIGN_RE.match(words[0]):
            assignments.append(words.pop(0))
        if not words:
            for assignment in assignments:
                name, _, value = assignment.partition("=")
                self._vars[name] = value
            return _Result()
        name, args = words[0], words[1:]
        for prefix in ("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"):
            if name.startswith(prefix) and "/" not in name[len(prefix) :]:
                name = name[len(prefix) :]
        handler = self._commands().get(name)
        if handler is not None:
            return handler(args, stdin)
        if "/" in name:
            kind = self._fs_kind(self._resolve(name))
            if kind == "dir":
                return _Result(err=f"-bash: {name}: Is a directory\n", status=126)
            if kind == "file":
                return _Result(err=f"-bash: {name}: Permission denied\n", status=126)
            return _Result(err=f"-bash: {name}: No such file or directory\n", status=127)
        return _Result(err=f"-bash: {name}: command not found\n", status=127)

    # -- expansion -----------------------------------------------------------------------------

    def _expand_word(self, raw: str) -> str | None:
        """Quote removal plus ``~``, ``$NAME``, ``${NAME}``, ``$?`` and ``$((...))`` expansion.

        Returns None for a word that vanishes (an unquoted expansion of nothing), as bash
        drops it; there is no word splitting or globbing.
        """
        out: list[str] = []
        size = 0

        def add(text: str) -> None:
            # Checked on every piece, so even "$X$X$X..." inside quotes stops early.
            nonlocal size
            size += len(text)
            if size > _MAX_EXPANSION:
                raise _ShellError("expansion too long for this demo guest")
            out.append(text)

        quoted = False
        i, n = 0, len(raw)
        if raw == "~" or raw.startswith("~/"):
            add(self._home)
            i = 1
        while i < n:
            char = raw[i]
            if char == "\\":
                if i + 1 < n:
                    add(raw[i + 1])
                    quoted = True
                i += 2
            elif char == "'":
                end = raw.index("'", i + 1)
                add(raw[i + 1 : end])
                quoted = True
                i = end + 1
            elif char == '"':
                quoted = True
                i += 1
                while i < n and raw[i] != '"':
                    if raw[i] == "\\" and i + 1 < n and raw[i + 1] in '$`"\\':
                        add(raw[i + 1])
                        i += 2
                    elif raw[i] == "$":
                        text, i = self._expand_dollar(raw, i)
                        add(text)
                    else:
                        add(raw[i])
                        i += 1
                i += 1
            elif char == "$":
                text, i = self._expand_dollar(raw, i)
                add(text)
            else:
                add(char)
                i += 1
        word = "".join(out)
        return None if not word and not quoted else word

    def _expand_dollar(self, text: str, i: int) -> tuple[str, int]:
        """Expand the ``$`` reference at ``text[i]``; returns its value and the index after it."""
        if text.startswith("$((", i):
            end = _skip_arith(text, i)
            return str(self._arith(text[i + 3 : end - 2])), end
        if text.startswith("${", i):
            end = text.find("}", i + 2)
            if end < 0:
                raise _ShellError("unexpected EOF while looking for matching `}'")
            name = text[i + 2 : end]
            if name.startswith("#") and _NAME_RE.fullmatch(name[1:]):
                return str(len(self._var(name[1:]))), end + 1
            if _NAME_RE.fullmatch(name) or (len(name) == 1 and name in "?$#0123456789-!*@"):
                return self._var(name), end + 1
            raise _ShellError(f"{text[i : end + 1]}: bad substitution")
        if i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in "?$#!-*@0123456789":
                return self._var(nxt), i + 2
            match = _NAME_RE.match(text, i + 1)
            if match:
                return self._var(match.group(0)), match.end()
        return "$", i + 1

    def _var(self, name: str) -> str:
        """A shell variable, including bash's dynamic and special ones."""
        special = {
            "?": lambda: str(self._status),
            "$": lambda: str(_BASH_PID),
            "#": lambda: "0",
            "0": lambda: "-bash",
            "-": lambda: "himBHs",
            "PWD": lambda: self._cwd,
            "UID": lambda: str(self._uid(self._login_name)),
            "EUID": lambda: str(self._uid(self._login_name)),
            "PPID": lambda: str(_LOGIN_PID),
            "SECONDS": lambda: str(int(self._uptime() - self._login_uptime)),
            "RANDOM": self._next_random,
            "BASH_VERSION": lambda: "5.2.32(1)-release",
            "LINES": lambda: str(self.rows),
            "COLUMNS": lambda: str(self.cols),
        }
        if name in self._vars:
            return self._vars[name]
        getter = special.get(name)
        return getter() if getter else ""

    def _next_random(self) -> str:
        """$RANDOM from a seeded LCG: looks random, yet repeats run for run."""
        self._random_state = (self._random_state * 1103515245 + 12345) & 0x7FFFFFFF
        return str(self._random_state >> 16 & 0x7FFF)

    def _arith(self, expression: str) -> int:
        """``$((expression))``: parameters expanded first, then bash integer arithmetic."""
        expanded: list[str] = []
        i = 0
        while i < len(expression):
            if expression[i] == "$":
                text, i = self._expand_dollar(expression, i)
                expanded.append(text)
            else:
                expanded.append(expression[i])
                i += 1
        text = "".join(expanded)
        try:
            return _Arith(text, self._arith_variable).evaluate()
        except _ArithError as exc:
            raise _ShellError(f"{text.strip()}: {exc}") from None

    def _arith_variable(self, name: str, depth: int) -> int:
        """A variable inside arithmetic: empty is 0, a number is itself, else an expression."""
        value = self._var(name).strip()
        if not value:
            return 0
        if re.fullmatch(r"-?\d{1,19}", value):
            return _wrap64(int(value))
        # The nested expression inherits the depth, so X=X cannot recurse forever.
        return _Arith(value, self._arith_variable, depth + 1).evaluate()

    # -- the tiny file system ------------------------------------------------------------------

    def _files(self) -> dict[str, Callable[[], str]]:
        """Readable files, generated on demand so they reflect the current state."""
        home = self._home
        nic = self._nics[0]
        first_ip = str(nic.ipv4[0].ip) if nic.ipv4 else str(nic.link_local.ip)
        readme = (
            "This is not a real virtual machine.\n\n"
            f"kvtui's demo cluster simulates the serial console of VM {self.vm_name}\n"
            f"in namespace {self.namespace}: a small scripted shell answers you.\n"
            "Type `help` for its commands; try `top`, `ip addr` or `echo $((6*7))`.\n"
            "`exit` (or Ctrl+D) logs out.\n"
        )
        os_release = "".join(
            f'{key}="{value}"\n' for key, value in _os_release(self.os_name).items()
        )
        one, five, fifteen = self._loadavg(self._uptime())
        files: dict[str, Callable[[], str]] = {
            "/etc/hostname": lambda: self.hostname + "\n",
            "/etc/os-release": lambda: os_release,
            "/etc/machine-id": lambda: self._uuid("machine-id").replace("-", "") + "\n",
            "/etc/hosts": lambda: (
                "127.0.0.1   localhost localhost.localdomain\n"
                "::1         localhost localhost.localdomain\n"
                f"{first_ip}   {self.hostname}\n"
            ),
            "/proc/uptime": lambda: (
                f"{self._uptime():.2f} {self._uptime() * 0.97 * self.cpus:.2f}\n"
            ),
            "/proc/loadavg": lambda: f"{one:.2f} {five:.2f} {fifteen:.2f} 1/{_TASKS_TOTAL} 1388\n",
            "/proc/version": lambda: (
                f"Linux version {self.kernel} (mockbuild@build.kvtui.demo) #1 SMP\n"
            ),
        }
        if home != "/root":
            files[f"{home}/README.txt"] = lambda: readme
            files[f"{home}/.bashrc"] = lambda: (
                "# .bashrc\n\n# Source global definitions\nif [ -f /etc/bashrc ]; then\n"
                "    . /etc/bashrc\nfi\n"
            )
            files[f"{home}/.bash_profile"] = lambda: (
                "# .bash_profile\n\n# Get the aliases and functions\n"
                "if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\nfi\n"
            )
            files[f"{home}/.bash_logout"] = lambda: "# ~/.bash_logout\n"
        return files

    _ROOT_ENTRIES = "afs boot dev etc home media mnt opt proc root run srv sys tmp usr var".split()
    _ROOT_LINKS = {"bin": "usr/bin", "lib": "usr/lib", "lib64": "usr/lib64", "sbin": "usr/bin"}

    def _dirs(self) -> set[str]:
        dirs = {"/", *(f"/{d}" for d in self._ROOT_ENTRIES)}
        dirs |= {"/usr/bin", "/usr/lib", "/usr/lib64", "/usr/local", "/var/log", "/var/tmp"}
        if self._home != "/root":
            dirs |= {self._home, f"{self._home}/.ssh"}
        return dirs

    def _resolve(self, path: str) -> str:
        joined = posixpath.normpath(posixpath.join(self._cwd, path))
        return "/" + joined.lstrip("/")

    def _fs_kind(self, path: str) -> str | None:
        if path in self._dirs():
            return "dir"
        if path in self._files():
            return "file"
        if path.lstrip("/") in self._ROOT_LINKS:
            return "link"
        return None

    def _listing(self, path: str) -> list[tuple[str, str]]:
        """(name, kind) entries of a directory, sorted bytewise as in the C.UTF-8 locale."""
        entries: dict[str, str] = {}
        for candidate in self._dirs():
            if candidate != "/" and posixpath.dirname(candidate) == path:
                entries[posixpath.basename(candidate)] = "dir"
        for candidate in self._files():
            if posixpath.dirname(candidate) == path:
                entries[posixpath.basename(candidate)] = "file"
        if path == "/":
            entries.update(dict.fromkeys(self._ROOT_LINKS, "link"))
        return sorted(entries.items())

    def _read(self, path: str) -> str:
        return self._files()[path]()

    # -- commands ------------------------------------------------------------------------------

    def _commands(self) -> dict[str, Command]:
        return {
            "cat": self._cmd_cat,
            "cd": self._cmd_cd,
            "clear": lambda args, stdin: _Result(out=_CLEAR),
            "date": self._cmd_date,
            "echo": self._cmd_echo,
            "env": self._cmd_env,
            "exit": lambda args, stdin: _Result(action="logout"),
            "export": self._cmd_export,
            "false": lambda args, stdin: _Result(status=1),
            "free": self._cmd_free,
            "grep": self._cmd_grep,
            "halt": self._cmd_power,
            "head": self._cmd_head,
            "help": self._cmd_help,
            "history": self._cmd_history,
            "hostname": self._cmd_hostname,
            "id": self._cmd_id,
            "ip": self._cmd_ip,
            "logout": lambda args, stdin: _Result(action="logout"),
            "ls": self._cmd_ls,
            "poweroff": self._cmd_power,
            "printenv": self._cmd_printenv,
            "ps": self._cmd_ps,
            "pwd": lambda args, stdin: _Result(out=self._cwd + "\n"),
            "reboot": self._cmd_power,
            "resize": self._cmd_resize,
            "shutdown": self._cmd_power,
            "sort": self._cmd_sort,
            "stty": self._cmd_stty,
            "sudo": self._cmd_sudo,
            "tail": self._cmd_tail,
            "top": self._cmd_top,
            "true": lambda args, stdin: _Result(),
            "uname": self._cmd_uname,
            "unset": self._cmd_unset,
            "uptime": self._cmd_uptime,
            "wc": self._cmd_wc,
            "whoami": lambda args, stdin: _Result(out=self._effective_user() + "\n"),
        }

    def _effective_user(self) -> str:
        return "root" if self._sudo else self._login_name

    @staticmethod
    def _uid(user: str) -> int:
        return 0 if user == "root" else 1000

    def _cmd_help(self, args: list[str], stdin: str | None) -> _Result:
        width = max(self.cols, 40)
        lines, line = [], ""
        for name in sorted(set(self._commands()) - _UNLISTED_COMMANDS):
            if line and len(line) + 1 + len(name) > width - 2:
                lines.append(line)
                line = ""
            line = f"{line} {name}" if line else name
        lines.append(line)
        text = (
            "This VM is simulated by kvtui's demo cluster; its shell knows these commands:\n\n"
            + "".join(f"  {entry}\n" for entry in lines)
            + "\nPipes (|), ;, && and || work, as do quotes, $VAR and $((arithmetic)).\n"
            "`top` is full-screen (q quits); `stty rows R cols C` sets the size it uses.\n"
        )
        return _Result(out=text)

    def _cmd_echo(self, args: list[str], stdin: str | None) -> _Result:
        newline, escapes = True, False
        while args and re.fullmatch(r"-[neE]+", args[0]):
            for flag in args[0][1:]:
                if flag == "n":
                    newline = False
                else:
                    escapes = flag == "e"
            args = args[1:]
        text = " ".join(args)
        if escapes:
            text, keep_going = _echo_escapes(text)
            newline = newline and keep_going
        return _Result(out=text + ("\n" if newline else ""))

    def _cmd_uname(self, args: list[str], stdin: str | None) -> _Result:
        fields = {
            "s": "Linux",
            "n": self.hostname,
            "r": self.kernel,
            "v": "#1 SMP PREEMPT_DYNAMIC Sun Oct 20 15:02:33 UTC 2024",
            "m": self.arch,
            "p": self.arch,
            "i": self.arch,
            "o": "GNU/Linux",
        }
        long_options = {
            "--all": "a",
            "--kernel-name": "s",
            "--nodename": "n",
            "--kernel-release": "r",
            "--kernel-version": "v",
            "--machine": "m",
            "--processor": "p",
            "--hardware-platform": "i",
            "--operating-system": "o",
        }
        wanted: set[str] = set()
        for arg in args:
            if arg in long_options:
                wanted.add(long_options[arg])
            elif arg.startswith("-") and len(arg) > 1 and not arg.startswith("--"):
                for flag in arg[1:]:
                    if flag not in "asnrvmpio":
                        return _Result(
                            err=f"uname: invalid option -- '{flag}'\n"
                            "Try 'uname --help' for more information.\n",
                            status=1,
                        )
                    wanted.add(flag)
            else:
                return _Result(
                    err=f"uname: extra operand '{arg}'\nTry 'uname --help' for more information.\n",
                    status=1,
                )
        if "a" in wanted:
            # coreutils leaves out -p and -i from -a when they are "unknown"; Fedora's are.
            wanted = {"s", "n", "r", "v", "m", "o"}
        order = [flag for flag in "snrvmpio" if flag in (wanted or {"s"})]
        return _Result(out=" ".join(fields[flag] for flag in order) + "\n")

    def _cmd_hostname(self, args: list[str], stdin: str | None) -> _Result:
        if not args or args[0] in ("-f", "--fqdn", "--long"):
            return _Result(out=self.hostname + "\n")
        if args[0] in ("-s", "--short"):
            return _Result(out=self.short_hostname + "\n")
        if args[0] in ("-I", "--all-ip-addresses"):
            addrs = [str(a.ip) for nic in self._nics for a in nic.addrs]
            return _Result(out="".join(a + " " for a in addrs) + "\n")
        if args[0] in ("-i", "--ip-address"):
            nic = self._nics[0]
            return _Result(out=" ".join(str(a.ip) for a in nic.addrs) + "\n")
        if args[0].startswith("-"):
            return _Result(err=f"hostname: invalid option -- '{args[0][1:2]}'\n", status=1)
        return _Result(err="hostname: you must be root to change the host name\n", status=1)

    def _cmd_id(self, args: list[str], stdin: str | None) -> _Result:
        user = args[0] if args else self._effective_user()
        if user not in ("root", self._login_name):
            return _Result(err=f"id: '{user}': no such user\n", status=1)
        context = " context=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023"
        if user == "root":
            return _Result(out=f"uid=0(root) gid=0(root) groups=0(root){context}\n")
        return _Result(
            out=f"uid=1000({user}) gid=1000({user}) groups=1000({user}),4(adm),10(wheel),"
            f"190(systemd-journal){context}\n"
        )

    def _cmd_ip(self, args: list[str], stdin: str | None) -> _Result:
        """iproute2's ``ip addr``, ``ip link`` and ``ip route``, abbreviations included."""
        family: str | None = None
        brief = False
        words: list[str] = []
        for arg in args:
            if arg in ("-4", "-6"):
                family = arg[1]
            elif arg in ("-br", "-brief", "--brief"):
                brief = True
            elif arg.startswith(("-c", "--c")):
                continue  # colour makes no difference on this serial line
            elif arg.startswith("-") and not words:
                return _Result(err=f'Option "{arg}" is unknown, try "ip -help".\n', status=255)
            else:
                words.append(arg)
        if not words:
            return _Result(
                err="Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n"
                "where  OBJECT := { address | link | route }\n",
                status=255,
            )
        obj, rest = words[0], words[1:]
        if "address".startswith(obj):
            kind = "addr"
        elif "link".startswith(obj):
            kind = "link"
        elif "route".startswith(obj):
            kind = "route"
        else:
            return _Result(err=f'Object "{obj}" is unknown, try "ip help".\n', status=255)
        if rest and rest[0] in ("add", "del", "delete", "flush", "set", "change", "replace"):
            return _Result(err="RTNETLINK answers: Operation not permitted\n", status=2)
        if rest and rest[0] in ("show", "list", "ls", "lst", "s"):
            rest = rest[1:]
        if rest and rest[0] == "dev":
            rest = rest[1:]
        device = rest[0] if rest else None
        if kind == "route":
            return _Result(out=self._ip_route(family or "4"))
        names = ["lo", *(nic.name for nic in self._nics)]
        if device is not None and device not in names:
            return _Result(err=f'Device "{device}" does not exist.\n', status=1)
        blocks = []
        for index, name in enumerate(names, start=1):
            if device is None or device == name:
                nic = self._nics[index - 2] if index > 1 else None
                blocks.append(self._ip_block(index, nic, kind, family, brief))
        return _Result(out="".join(blocks))

    def _ip_block(
        self, index: int, nic: _Nic | None, kind: str, family: str | None, brief: bool
    ) -> str:
        """One interface in ``ip addr``/``ip link`` format (or its ``-br`` one-liner)."""
        lease = max(86_313_600 - int(self._uptime()), 0)
        # (family, address with prefix, the rest of the inet line, lifetime line)
        addrs: list[tuple[str, str, str, str]] = []
        forever = "valid_lft forever preferred_lft forever"
        dhcp = f"valid_lft {lease}sec preferred_lft {lease}sec"
        if nic is None:
            name, state = "lo", "UNKNOWN"
            flags, mtu, qdisc = "<LOOPBACK,UP,LOWER_UP>", 65536, "noqueue"
            link = "link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"
            addrs.append(("4", "127.0.0.1/8", "scope host lo", forever))
            addrs.append(("6", "::1/128", "scope host noprefixroute ", forever))
        else:
            name, state = nic.name, "UP"
            flags, mtu, qdisc = "<BROADCAST,MULTICAST,UP,LOWER_UP>", 1500, "fq_codel"
            link = f"link/ether {nic.mac} brd ff:ff:ff:ff:ff:ff"
            for addr in nic.ipv4:
                brd = (
                    f"brd {addr.network.broadcast_address} " if addr.network.prefixlen < 31 else ""
                )
                rest = f"{brd}scope global dynamic noprefixroute {nic.name}"
                addrs.append(("4", addr.with_prefixlen, rest, dhcp))
            for addr in nic.ipv6:
                addrs.append(
                    ("6", addr.with_prefixlen, "scope global dynamic noprefixroute ", dhcp)
                )
            addrs.append(("6", nic.link_local.with_prefixlen, "scope link noprefixroute ", forever))
        addrs = [a for a in addrs if family is None or a[0] == family]
        if brief:
            if kind == "link":
                mac = nic.mac if nic else "00:00:00:00:00:00"
                return f"{name:<16} {state:<14} {mac} {flags} \n"
            return f"{name:<16} {state:<14} " + "".join(a[1] + " " for a in addrs) + "\n"
        mode = "mode DEFAULT " if kind == "link" else ""
        lines = [
            f"{index}: {name}: {flags} mtu {mtu} qdisc {qdisc} state {state} {mode}"
            "group default qlen 1000",
            f"    {link}",
        ]
        if nic is not None:
            lines.append(f"    altname enp{index - 1}s0")
        if kind == "addr":
            for fam, address, rest, lifetime in addrs:
                lines.append(f"    {'inet' if fam == '4' else 'inet6'} {address} {rest}")
                lines.append(f"       {lifetime}")
        return "".join(line + "\n" for line in lines)

    def _ip_route(self, family: str) -> str:
        """The routing table DHCP (IPv4) or router advertisements (IPv6) would have set up."""
        lines = []
        for metric, nic in enumerate(self._nics, start=100):
            if family == "6":
                lines += [
                    f"{a.network} dev {nic.name} proto ra metric {metric} pref medium"
                    for a in nic.ipv6
                ]
                lines.append(f"fe80::/64 dev {nic.name} proto kernel metric 1024 pref medium")
                continue
            for addr in nic.ipv4:
                if metric == 100 and addr.network.prefixlen < 31:
                    gateway = addr.network.network_address + 1
                    lines.insert(
                        0,
                        f"default via {gateway} dev {nic.name} proto dhcp src {addr.ip} "
                        f"metric {metric} ",
                    )
                lines.append(
                    f"{addr.network} dev {nic.name} proto kernel scope link src {addr.ip} "
                    f"metric {metric} "
                )
        return "".join(line + "\n" for line in lines)

    def _cmd_uptime(self, args: list[str], stdin: str | None) -> _Result:
        if args and args[0] in ("-p", "--pretty"):
            minutes = int(self._uptime()) // 60
            days, rem = divmod(minutes, 1440)
            hours, mins = divmod(rem, 60)
            parts = []
            if days:
                parts.append(f"{days} day{'s' if days != 1 else ''}")
            if hours:
                parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
            if mins or not parts:
                parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
            return _Result(out="up " + ", ".join(parts) + "\n")
        if args and args[0] in ("-s", "--since"):
            return _Result(out=_strftime("%Y-%m-%d %H:%M:%S", self._epoch) + "\n")
        if args:
            return _Result(err=f"uptime: invalid option -- '{args[0].lstrip('-')[:1]}'\n", status=1)
        return _Result(out=self._uptime_line() + "\n")

    def _cmd_date(self, args: list[str], stdin: str | None) -> _Result:
        now = self._now()
        fmt = "%a %b %e %H:%M:%S %Z %Y"
        for arg in args:
            if arg in ("-u", "--utc", "--universal"):
                continue  # the guest's clock is UTC anyway
            if arg.startswith("+"):
                fmt = arg[1:]
            elif arg in ("-R", "--rfc-email"):
                fmt = "%a, %d %b %Y %H:%M:%S %z"
            elif arg in ("-I", "--iso-8601", "--iso-8601=date"):
                fmt = "%Y-%m-%d"
            elif arg in ("--iso-8601=seconds", "-Iseconds"):
                fmt = "%Y-%m-%dT%H:%M:%S+00:00"
            else:
                return _Result(err=f"date: invalid option or date '{arg}'\n", status=1)
        return _Result(out=_strftime(fmt, now) + "\n")

    def _cmd_cat(self, args: list[str], stdin: str | None) -> _Result:
        if not args:
            return _Result(out=stdin or "")
        out, err, status = [], [], 0
        for arg in args:
            if arg == "-":
                out.append(stdin or "")
                continue
            path = self._resolve(arg)
            kind = self._fs_kind(path)
            if kind == "file":
                out.append(self._read(path))
            elif kind in ("dir", "link"):
                err.append(f"cat: {arg}: Is a directory\n")
                status = 1
            else:
                err.append(f"cat: {arg}: No such file or directory\n")
                status = 1
        return _Result(out="".join(out), err="".join(err), status=status)

    def _cmd_cd(self, args: list[str], stdin: str | None) -> _Result:
        if len(args) > 1:
            return _Result(err="-bash: cd: too many arguments\n", status=1)
        target = args[0] if args else self._home
        if target == "-":
            target = self._vars.get("OLDPWD", self._home)
        path = self._resolve(target)
        kind = self._fs_kind(path)
        if kind == "link":
            path = "/" + self._ROOT_LINKS[path.lstrip("/")]
        elif kind == "file":
            return _Result(err=f"-bash: cd: {target}: Not a directory\n", status=1)
        elif kind is None:
            return _Result(err=f"-bash: cd: {target}: No such file or directory\n", status=1)
        self._vars["OLDPWD"] = self._cwd
        self._cwd = path
        return _Result(out=path + "\n" if args and args[0] == "-" else "")

    def _cmd_ls(self, args: list[str], stdin: str | None) -> _Result:
        flags: set[str] = set()
        paths: list[str] = []
        for arg in args:
            if arg.startswith("--"):
                continue  # --color=auto and friends change nothing here
            if arg.startswith("-") and len(arg) > 1:
                for flag in arg[1:]:
                    if flag not in "alAh1dFrtS":
                        return _Result(
                            err=f"ls: invalid option -- '{flag}'\nTry 'ls --help' for more information.\n",
                            status=2,
                        )
                    flags.add(flag)
            else:
                paths.append(arg)
        shown_paths = paths or ["."]
        err, status = [], 0
        file_entries: list[tuple[str, str, str]] = []
        dir_listings: list[tuple[str, list[tuple[str, str, str]]]] = []
        for arg in shown_paths:
            path = self._resolve(arg)
            kind = self._fs_kind(path)
            if kind is None:
                err.append(f"ls: cannot access '{arg}': No such file or directory\n")
                status = 2
            elif kind == "dir" and "d" not in flags:
                entries = [(name, k, posixpath.join(path, name)) for name, k in self._listing(path)]
                if "a" not in flags and "A" not in flags:
                    entries = [e for e in entries if not e[0].startswith(".")]
                if "a" in flags:
                    entries = [(".", "dir", path), ("..", "dir", posixpath.dirname(path)), *entries]
                if "r" in flags:
                    entries.reverse()
                dir_listings.append((arg, entries))
            else:
                file_entries.append((arg, kind, path))
        blocks: list[str] = []
        if file_entries:
            blocks.append(self._ls_format(file_entries, "l" in flags, "1" in flags, total=False))
        for arg, entries in dir_listings:
            body = self._ls_format(entries, "l" in flags, "1" in flags, total=True)
            if len(dir_listings) + len(file_entries) > 1:
                body = f"{arg}:\n{body}"
            blocks.append(body)
        return _Result(out="\n".join(blocks), err="".join(err), status=status)

    def _ls_format(
        self, entries: list[tuple[str, str, str]], long: bool, one_per_line: bool, total: bool
    ) -> str:
        colour = self._stdout_tty

        def painted(name: str, kind: str) -> str:
            if not colour or kind == "file":
                return name
            return f"{_DIR_COLOUR if kind == 'dir' else _LINK_COLOUR}{name}{_RESET}"

        if long:
            stamp = _strftime("%b %e %H:%M", self._epoch)
            lines = [f"total {4 * len(entries)}"] if total else []
            owners = [
                self._login_name
                if path.startswith(self._home) and self._home != "/root"
                else "root"
                for _, _, path in entries
            ]
            width = max((len(o) for o in owners), default=4)
            for (name, kind, path), user in zip(entries, owners, strict=True):
                owner = user.ljust(width)
                if kind == "dir":
                    private = path in (self._home, f"{self._home}/.ssh")
                    mode, size = ("drwx------." if private else "drwxr-xr-x."), 4096
                elif kind == "link":
                    mode, size = "lrwxrwxrwx.", len(self._ROOT_LINKS.get(path.lstrip("/"), ""))
                else:
                    mode, size = "-rw-r--r--.", len(self._read(path).encode())
                target = f" -> {self._ROOT_LINKS[path.lstrip('/')]}" if kind == "link" else ""
                lines.append(
                    f"{mode} 1 {owner} {owner} {size:>5} {stamp} {painted(name, kind)}{target}"
                )
            return "".join(line + "\n" for line in lines)
        names = [painted(name, kind) for name, kind, _ in entries]
        if not colour or one_per_line:
            return "".join(name + "\n" for name in names)
        return _columns(names, [len(name) for name, _, _ in entries], self.cols or _DEFAULT_COLS)

    def _cmd_env(self, args: list[str], stdin: str | None) -> _Result:
        env = dict(self._vars)
        env["PWD"] = self._cwd
        return _Result(out="".join(f"{k}={v}\n" for k, v in sorted(env.items())))

    def _cmd_printenv(self, args: list[str], stdin: str | None) -> _Result:
        if not args:
            return self._cmd_env(args, stdin)
        values = [self._vars.get(name) if name != "PWD" else self._cwd for name in args]
        found = [v for v in values if v is not None]
        return _Result(
            out="".join(v + "\n" for v in found), status=0 if len(found) == len(args) else 1
        )

    def _cmd_export(self, args: list[str], stdin: str | None) -> _Result:
        if not args or args == ["-p"]:
            return _Result(
                out="".join(f'declare -x {k}="{v}"\n' for k, v in sorted(self._vars.items()))
            )
        for arg in args:
            name, sep, value = arg.partition("=")
            if not _NAME_RE.fullmatch(name):
                return _Result(err=f"-bash: export: `{arg}': not a valid identifier\n", status=1)
            if sep:
                self._vars[name] = value
        return _Result()

    def _cmd_unset(self, args: list[str], stdin: str | None) -> _Result:
        for name in args:
            self._vars.pop(name, None)
        return _Result()

    def _cmd_history(self, args: list[str], stdin: str | None) -> _Result:
        if args == ["-c"]:
            self._history.clear()
            self._history_pos = 0
            return _Result()
        entries = list(enumerate(self._history, start=1))
        if args and args[0].isdigit():
            entries = entries[-int(args[0]) :] if int(args[0]) else []
        return _Result(out="".join(f"{num:>5}  {line}\n" for num, line in entries))

    def _cmd_stty(self, args: list[str], stdin: str | None) -> _Result:
        if not args or args[0] in ("-a", "--all"):
            text = f"speed 115200 baud; rows {self.rows}; columns {self.cols}; line = 0;\n"
            if args:
                text += (
                    "intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D; werase = ^W;\n"
                    "-parenb -parodd cs8 hupcl -cstopb cread clocal -crtscts\n"
                    "icrnl ixon -ixoff iutf8\nopost onlcr\n"
                    f"isig icanon {'' if self._echo else '-'}echo echoe echok\n"
                )
            return _Result(out=text)
        if args == ["size"]:
            return _Result(out=f"{self.rows} {self.cols}\n")
        i = 0
        while i < len(args):
            arg = args[i]
            if arg in ("rows", "cols", "columns"):
                if i + 1 >= len(args):
                    return _Result(err=f"stty: missing argument to '{arg}'\n", status=1)
                value = args[i + 1]
                if not re.fullmatch(r"\d{1,5}", value) or int(value) > 65535:
                    return _Result(err=f"stty: invalid integer argument: '{value}'\n", status=1)
                if arg == "rows":
                    self.rows = int(value)
                else:
                    self.cols = int(value)
                i += 2
                continue
            if arg in ("echo", "sane"):
                self._echo = True
            elif arg == "-echo":
                self._echo = False
            elif arg not in (
                "cooked",
                "-raw",
                "icanon",
                "onlcr",
                "icrnl",
                "isig",
                "iutf8",
                "115200",
            ):
                return _Result(
                    err=f"stty: invalid argument '{arg}'\nTry 'stty --help' for more information.\n",
                    status=1,
                )
            i += 1
        return _Result()

    def _cmd_resize(self, args: list[str], stdin: str | None) -> _Result:
        if not self._stdout_tty:
            return _Result(err="resize: stdout is not a terminal\n", status=1)
        return _Result(action="resize")

    def _cmd_top(self, args: list[str], stdin: str | None) -> _Result:
        if "-b" in args or any(a.startswith("-b") for a in args):
            # Batch mode prints one plain frame, which also makes `top -b -n 1 | head` work.
            return _Result(out="".join(line + "\n" for line in self._top_lines(plain=True)))
        if not self._stdout_tty:
            return _Result(err="top: failed tty get\n", status=1)
        return _Result(action="top")

    def _cmd_power(self, args: list[str], stdin: str | None) -> _Result:
        return _Result(
            err="This VM's guest is simulated by kvtui's demo cluster: restart or stop the VM "
            "from kvtui instead.\n",
            status=1,
        )

    def _cmd_sudo(self, args: list[str], stdin: str | None) -> _Result:
        if not args:
            return _Result(err="usage: sudo [-h] [-u user] command [arg ...]\n", status=1)
        if args[0].startswith("-") or args[0] in ("su", "bash", "sh"):
            return _Result(
                err="sudo: interactive root shells are not available in this demo guest\n", status=1
            )
        was, self._sudo = self._sudo, True
        try:
            result = self._run_simple(list(args), stdin)
        finally:
            self._sudo = was
        if result.status == 127 and result.err.startswith("-bash: "):
            result.err = "sudo: " + result.err[len("-bash: ") :]
        return result

    def _cmd_free(self, args: list[str], stdin: str | None) -> _Result:
        mem = self._memory()
        unit = "k"
        for arg in args:
            if arg in ("-m", "--mebi"):
                unit = "m"
            elif arg in ("-g", "--gibi"):
                unit = "g"
            elif arg in ("-h", "--human"):
                unit = "h"
            elif arg not in ("-k", "--kibi", "-w", "--wide"):
                return _Result(err=f"free: invalid option -- '{arg.lstrip('-')[:1]}'\n", status=1)

        def show(kib: int) -> str:
            if unit == "m":
                return str(kib // 1024)
            if unit == "g":
                return str(kib // (1024 * 1024))
            if unit == "h":
                if kib >= 1024 * 1024:
                    return f"{kib / 1024 / 1024:.1f}Gi"
                if kib >= 1024:
                    return f"{kib / 1024:.0f}Mi" if kib >= 100 * 1024 else f"{kib / 1024:.1f}Mi"
                return f"{kib}Ki"
            return str(kib)

        header = f"{'':8}" + "".join(
            f"{h:>12}" for h in ("total", "used", "free", "shared", "buff/cache", "available")
        )
        row = f"{'Mem:':<8}" + "".join(
            f"{show(v):>12}"
            for v in (
                mem["total"],
                mem["used"],
                mem["free"],
                mem["shared"],
                mem["cache"],
                mem["avail"],
            )
        )
        swap = f"{'Swap:':<8}" + "".join(f"{show(v):>12}" for v in (mem["swap"], 0, mem["swap"]))
        return _Result(out=f"{header}\n{row}\n{swap}\n")

    def _memory(self) -> dict[str, int]:
        """A small, steady memory picture in KiB, slightly breathing over time."""
        total = self.memory_mib * 1024 * 96 // 100
        up = self._uptime()
        used = min(int(231_000 + 2_000 * math.sin(up / 29) + min(up, 600) * 20), total // 2)
        cache = min(int(402_000 + min(up, 3600) * 8), total * 3 // 10)
        free = max(total - used - cache, 0)
        return {
            "total": total,
            "used": used,
            "free": free,
            "shared": 1_092,
            "cache": cache,
            "avail": max(total - used, 0),
            "swap": min(self.memory_mib, 8192) * 1024,
        }

    def _cmd_ps(self, args: list[str], stdin: str | None) -> _Result:
        user = self._login_name
        if not args:
            rows = [(_BASH_PID, "bash"), (1388, "ps")]
            return _Result(
                out=f"{'PID':>7} {'TTY':<8} {'TIME':>8} CMD\n"
                + "".join(f"{pid:>7} {_TTY:<8} {'00:00:00':>8} {cmd}\n" for pid, cmd in rows)
            )
        if not any(
            a.lstrip("-") in ("aux", "ef", "e", "ax", "A", "eF", "auxf", "efH") for a in args
        ):
            return _Result(
                err="error: unsupported option (this demo guest knows ps, ps aux, ps -ef)\n",
                status=1,
            )
        start = _strftime("%H:%M", self._epoch)
        mem_total = self._memory()["total"]
        lines = [
            f"{'USER':<8} {'PID':>7} {'%CPU':>4} {'%MEM':>4} {'VSZ':>6} {'RSS':>5} TTY      STAT START   TIME COMMAND"
        ]
        table = [*self._process_rows(), (1388, user, 10_116, 3_712, 3_200, "ps", 0, 0.0)]
        for pid, owner, virt, res, _shr, cmd, _act, _base in table:
            tty = _TTY if pid in (_LOGIN_PID, _BASH_PID, 1388) else "?"
            stat = "R+" if cmd == "ps" else ("Ss" if virt else "S")
            shown = cmd if virt else f"[{cmd}]"
            owner = owner if len(owner) <= 8 else owner[:7] + "+"
            lines.append(
                f"{owner:<8} {pid:>7} {0.0:>4.1f} {res * 100 / mem_total:>4.1f} {virt:>6} {res:>5} "
                f"{tty:<8} {stat:<4} {start:>5}   0:00 {shown}"
            )
        return _Result(out="".join(line + "\n" for line in lines))

    # -- text filters for pipelines ------------------------------------------------------------

    def _inputs(
        self, files: list[str], stdin: str | None, name: str
    ) -> tuple[list[tuple[str, str]], str]:
        """(label, text) for each input file, or stdin; plus error text for missing files."""
        if not files:
            return [("", stdin or "")], ""
        inputs, err = [], ""
        for arg in files:
            path = self._resolve(arg)
            if self._fs_kind(path) == "file":
                inputs.append((arg, self._read(path)))
            else:
                err += f"{name}: {arg}: No such file or directory\n"
        return inputs, err

    def _cmd_grep(self, args: list[str], stdin: str | None) -> _Result:
        """grep with fixed-string patterns (plus ^/$ anchors).

        Regular expressions typed by a visitor are deliberately not run: a catastrophic
        pattern would stall the whole demo server, which drives every guest.
        """
        flags: set[str] = set()
        rest: list[str] = []
        for arg in args:
            if arg.startswith("-") and len(arg) > 1 and not rest:
                flags.update(arg[1:])
            else:
                rest.append(arg)
        if not rest:
            return _Result(err="Usage: grep [OPTION]... PATTERNS [FILE]...\n", status=2)
        pattern, files = rest[0], rest[1:]
        icase = "i" in flags
        start = pattern.startswith("^")
        end = pattern.endswith("$") and not pattern.endswith("\\$")
        needle = pattern[1 if start else 0 : -1 if end and len(pattern) > int(start) else None]
        if icase:
            needle = needle.lower()

        def matches(line: str) -> bool:
            hay = line.lower() if icase else line
            if start and end:
                found = hay == needle
            elif start:
                found = hay.startswith(needle)
            elif end:
                found = hay.endswith(needle)
            else:
                found = needle in hay
            return found != ("v" in flags)

        inputs, err = self._inputs(files, stdin, "grep")
        out, count_total = [], 0
        for label, text in inputs:
            prefix = f"{label}:" if len(files) > 1 else ""
            hits = [(num, line) for num, line in enumerate(text.splitlines(), 1) if matches(line)]
            count_total += len(hits)
            if "c" in flags:
                out.append(f"{prefix}{len(hits)}\n")
            elif "q" not in flags:
                out.extend(
                    f"{prefix}{f'{num}:' if 'n' in flags else ''}{line}\n" for num, line in hits
                )
        status = 2 if err and not count_total else (0 if count_total else 1)
        return _Result(out="".join(out), err="" if "s" in flags else err, status=status)

    def _line_count(self, args: list[str]) -> tuple[int, list[str]] | str:
        count, files = 10, []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "-n" and i + 1 < len(args):
                value = args[i + 1]
                i += 2
            elif arg.startswith("-n"):
                value, i = arg[2:], i + 1
            elif re.fullmatch(r"-\d+", arg):
                value, i = arg[1:], i + 1
            else:
                files.append(arg)
                i += 1
                continue
            if not re.fullmatch(r"\d{1,9}", value):
                return f"invalid number of lines: '{value}'"
            count = int(value)
        return count, files

    def _cmd_head(self, args: list[str], stdin: str | None) -> _Result:
        parsed = self._line_count(args)
        if isinstance(parsed, str):
            return _Result(err=f"head: {parsed}\n", status=1)
        count, files = parsed
        inputs, err = self._inputs(files, stdin, "head")
        out = "".join(line + "\n" for _, text in inputs for line in text.splitlines()[:count])
        return _Result(out=out, err=err, status=1 if err else 0)

    def _cmd_tail(self, args: list[str], stdin: str | None) -> _Result:
        parsed = self._line_count(args)
        if isinstance(parsed, str):
            return _Result(err=f"tail: {parsed}\n", status=1)
        count, files = parsed
        inputs, err = self._inputs(files, stdin, "tail")
        out = "".join(
            line + "\n"
            for _, text in inputs
            for line in (text.splitlines()[-count:] if count else [])
        )
        return _Result(out=out, err=err, status=1 if err else 0)

    def _cmd_wc(self, args: list[str], stdin: str | None) -> _Result:
        flags = {c for a in args if a.startswith("-") for c in a[1:]} or {"l", "w", "c"}
        files = [a for a in args if not a.startswith("-")]
        inputs, err = self._inputs(files, stdin, "wc")
        out = []
        for label, text in inputs:
            counts = []
            if "l" in flags:
                counts.append(text.count("\n"))
            if "w" in flags:
                counts.append(len(text.split()))
            if "c" in flags or "m" in flags:
                counts.append(len(text.encode()) if "c" in flags else len(text))
            width = 1 if len(counts) == 1 and not files else 7
            out.append(
                " ".join(f"{c:>{width}}" for c in counts) + (f" {label}" if label else "") + "\n"
            )
        return _Result(out="".join(out), err=err, status=1 if err else 0)

    def _cmd_sort(self, args: list[str], stdin: str | None) -> _Result:
        flags = {c for a in args if a.startswith("-") for c in a[1:]}
        files = [a for a in args if not a.startswith("-")]
        inputs, err = self._inputs(files, stdin, "sort")
        lines = [line for _, text in inputs for line in text.splitlines()]
        if "n" in flags:

            def key(line: str) -> tuple[float, str]:
                match = re.match(r"\s*(-?\d+(?:\.\d+)?)", line)
                return (float(match.group(1)) if match else 0.0, line)

            lines.sort(key=key, reverse="r" in flags)
        else:
            lines.sort(reverse="r" in flags)
        if "u" in flags:
            lines = list(dict.fromkeys(lines))
        return _Result(out="".join(line + "\n" for line in lines), err=err, status=2 if err else 0)

    # -- top -----------------------------------------------------------------------------------

    def _process_rows(self) -> list[tuple[int, str, int, int, int, str, int, float]]:
        user = self._login_name or "root"
        rows = list(_PROCESSES)
        rows.append((_BASH_PID, user, 232_716, 5_632, 3_840, "bash", 0, 0.02))
        return rows

    def _screen_size(self) -> tuple[int, int]:
        rows = min(self.rows or _DEFAULT_ROWS, _MAX_DRAW)
        cols = min(self.cols or _DEFAULT_COLS, _MAX_DRAW)
        return rows, cols

    def _top_lines(self, *, plain: bool = False) -> list[str]:
        """One frame of top: the summary area, the column header and the busiest processes."""
        rows, cols = self._screen_size()
        up = self._uptime()
        second = int(up)
        mem = self._memory()
        user = self._login_name or "root"
        procs = [*self._process_rows(), (1387, user, 236_644, 5_504, 3_456, "top", 3, 0.0)]
        table = []
        for pid, owner, virt, res, shr, cmd, activity, base in procs:
            jitter = _mix(pid, second)
            if activity == 3:  # top itself is never idle
                cpu = 0.3 if jitter % 3 else 0.7
            elif activity == 2:
                cpu = 0.3 * (jitter % 3 == 0)
            elif activity == 1:
                cpu = 0.3 * (jitter % 7 == 0)
            else:
                cpu = 0.3 * (jitter % 31 == 0)
            seconds = base + up * (0.0004 * activity)
            minutes, secs = divmod(seconds, 60)
            owner = owner if len(owner) <= 8 else owner[:7] + "+"
            state = "R" if activity == 3 else ("I" if not virt and activity == 2 else "S")
            table.append(
                (
                    -cpu,
                    pid,
                    f"{pid:>7} {owner:<8} {20:>3} {0:>3} {virt:>7} {res:>6} {shr:>6} {state} "
                    f"{cpu:>5.1f} {res * 100 / mem['total']:>5.1f} {int(minutes):>3}:{secs:05.2f} {cmd}",
                )
            )
        table.sort()
        busy = sum(-entry[0] for entry in table)
        us, sy = round(busy * 0.6, 1), round(busy * 0.4, 1)
        mib = {k: v / 1024 for k, v in mem.items()}
        lines = [
            "top -" + self._uptime_line(),
            f"Tasks: {_TASKS_TOTAL:>3} total,   1 running, {_TASKS_TOTAL - 1:>3} sleeping,   0 stopped,   0 zombie",
            f"%Cpu(s): {us:>4.1f} us, {sy:>4.1f} sy,  0.0 ni, {100 - us - sy:>4.1f} id,  0.0 wa,  0.0 hi,  0.0 si,  0.0 st",
            f"MiB Mem : {mib['total']:>8.1f} total, {mib['free']:>8.1f} free, {mib['used']:>8.1f} used, "
            f"{mib['cache']:>8.1f} buff/cache",
            f"MiB Swap: {mib['swap']:>8.1f} total, {mib['swap']:>8.1f} free, {0:>8.1f} used. "
            f"{mib['avail']:>8.1f} avail Mem",
            "",
            f"{'PID':>7} {'USER':<8} {'PR':>3} {'NI':>3} {'VIRT':>7} {'RES':>6} {'SHR':>6} S "
            f"{'%CPU':>5} {'%MEM':>5} {'TIME+':>9} COMMAND",
            *(entry[2] for entry in table),
        ]
        if plain:
            return lines
        lines = [line[:cols] for line in lines[:rows]]
        if len(lines) > 6:
            lines[6] = _REVERSE + lines[6].ljust(cols) + _RESET
        return lines

    def _top_draw(self, *, full: bool, remember: bool = True) -> str:
        """Paint top with absolute cursor addressing; incremental redraws only touch changed rows."""
        frame = self._top_lines()
        parts = [_CLEAR] if full else []
        for index, line in enumerate(frame):
            if full or index >= len(self._top_last) or self._top_last[index] != line:
                parts.append(f"\x1b[{index + 1};1H{line}\x1b[K")
        if remember:
            self._top_last = frame
        if not parts:
            return ""
        # Park the cursor on the message line, where top takes its input.
        parts.append(f"\x1b[{min(6, len(frame) or 1)};1H")
        return "".join(parts)

    def _top_key(self, key: str) -> str:
        if key in ("q", "Q", "\x03"):
            self._state = _SHELL
            self._top_last = []
            self._status = 0
            return _CURSOR_SHOW + _ALT_SCREEN_OFF + _onlcr(self._prompt())
        if key == "\x0c":
            return self._top_draw(full=True)
        if key in (" ", "\r"):
            return self._top_draw(full=False)
        return ""

    # -- resize --------------------------------------------------------------------------------

    def _resize_key(self, key: str) -> str:
        match = _CPR_RE.match(key)
        if match:
            self.rows, self.cols = int(match.group(1)), int(match.group(2))
            self._state = _SHELL
            self._status = 0
            return _onlcr(
                f"COLUMNS={self.cols};\nLINES={self.rows};\nexport COLUMNS LINES;\n"
                + self._prompt()
            )
        if key == "\x03":
            self._state = _SHELL
            self._status = 130
            return _onlcr("^C\n" + self._prompt())
        return ""
