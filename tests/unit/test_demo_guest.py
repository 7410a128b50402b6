"""Tests for the simulated guest behind the demo cluster's serial consoles (tui/demo/guest.py)."""

from __future__ import annotations

import re

import pyte
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.demo.guest import SimulatedGuest, credentials_from_userdata

PROMPT = b"[fedora@vm1 ~]$ "
BARE_LF = re.compile(rb"(?<!\r)\n")
CURSOR_ADDRESS = re.compile(rb"\x1b\[\d+;\d+H")


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_guest(clock: FakeClock | None = None, **kwargs: object) -> SimulatedGuest:
    options: dict[str, object] = {
        "vm_name": "vm1",
        "namespace": "demo",
        "user": "fedora",
        "password": "secret",
        "clock": clock or FakeClock(),
    }
    options.update(kwargs)
    return SimulatedGuest(**options)  # type: ignore[arg-type]


def booted(clock: FakeClock | None = None, **kwargs: object) -> SimulatedGuest:
    guest = make_guest(clock, **kwargs)
    guest.boot_chunks()
    return guest


def logged_in(clock: FakeClock | None = None, **kwargs: object) -> SimulatedGuest:
    guest = booted(clock, **kwargs)
    out = guest.feed(b"fedora\rsecret\r")
    assert out.endswith(PROMPT)
    return guest


def run(guest: SimulatedGuest, command: str) -> str:
    """Type a command and Enter; return what it printed, without the echo and the next prompt."""
    out = guest.feed(command.encode() + b"\r")
    echo = command.encode() + b"\r\n"
    assert out.startswith(echo), out
    body = out[len(echo) :]
    if body.endswith(PROMPT):
        body = body[: -len(PROMPT)]
    return body.decode()


def screen_after(*chunks: bytes, columns: int = 80, lines: int = 24) -> pyte.Screen:
    screen = pyte.Screen(columns, lines)
    stream = pyte.ByteStream(screen)
    for chunk in chunks:
        stream.feed(chunk)
    return screen


def cursor_line(screen: pyte.Screen) -> str:
    return screen.display[screen.cursor.y].rstrip()


# -- boot --------------------------------------------------------------------------------------


def test_boot_log_ends_at_the_login_prompt() -> None:
    guest = make_guest()
    assert not guest.booted
    chunks = guest.boot_chunks()
    assert guest.booted
    assert all(isinstance(delay, float) and isinstance(data, bytes) for delay, data in chunks)
    assert 2.0 <= sum(delay for delay, _ in chunks) <= 3.0
    log = b"".join(data for _, data in chunks)
    assert log.endswith(b"\r\nvm1 login: ")
    assert b"[\x1b[0;32m  OK  \x1b[0m] Started " in log
    assert b"Linux version 6.11.4-301.fc41.x86_64" in log
    assert b"Welcome to \x1b[0;34mFedora Linux 41 (Cloud Edition)\x1b[0m!" in log
    assert not BARE_LF.search(log)
    assert b"no password set" not in log


def test_boot_log_renders_to_a_login_prompt_on_a_terminal() -> None:
    log = b"".join(data for _, data in make_guest(hostname="vm1.example.com").boot_chunks())
    screen = screen_after(log)
    assert cursor_line(screen) == "vm1 login:"
    assert any(
        "Kernel 6.11.4-301.fc41.x86_64 on an x86_64 (ttyS0)" in line for line in screen.display
    )


def test_nothing_answers_before_boot_and_on_connect_is_silent() -> None:
    guest = make_guest()
    assert guest.feed(b"fedora\r") == b""
    assert guest.tick() == b""
    assert guest.on_connect() == b""
    guest.boot_chunks()
    assert guest.on_connect() == b""


# -- login -------------------------------------------------------------------------------------


def test_login_success_shows_motd_and_prompt() -> None:
    guest = booted()
    assert guest.feed(b"fedora") == b"fedora"
    assert guest.feed(b"\r") == b"\r\nPassword: "
    assert guest.feed(b"secret") == b""  # passwords are not echoed
    out = guest.feed(b"\r")
    assert re.match(rb"\r\nLast login: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} on ttyS0\r\n", out)
    assert out.endswith(PROMPT)
    assert guest.state == "shell"


def test_login_prompt_line_on_a_terminal() -> None:
    guest = make_guest()
    boot = b"".join(data for _, data in guest.boot_chunks())
    screen = screen_after(boot, guest.feed(b"fedora\rsecret\r"))
    assert cursor_line(screen) == "[fedora@vm1 ~]$"
    assert screen.cursor.x == len(PROMPT)


@pytest.mark.parametrize(("user", "password"), [("fedora", "wrong"), ("root", "secret"), ("", "")])
def test_login_failure(user: str, password: str) -> None:
    guest = booted()
    out = guest.feed(f"{user}\r".encode())
    if not user:
        assert out == b"\r\nvm1 login: "  # an empty name just asks again
        return
    out = guest.feed(f"{password}\r".encode())
    assert b"\r\nLogin incorrect\r\n" in out
    assert out.endswith(b"vm1 login: ")
    assert guest.state == "login"
    # And a correct attempt afterwards still works.
    assert guest.feed(b"fedora\rsecret\r").endswith(PROMPT)


def test_without_credentials_every_login_is_refused_and_the_boot_log_says_why() -> None:
    guest = make_guest(user=None, password=None)
    log = b"".join(data for _, data in guest.boot_chunks())
    assert b"cloud-init" in log and b"no password set for user fedora" in log
    for user, password in [(b"fedora", b"fedora"), (b"root", b""), (b"", b"")]:
        out = guest.feed(user + b"\r" + (password + b"\r" if user else b""))
        assert b"Login incorrect" in out or not user
        assert out.endswith(b"vm1 login: ")
    assert guest.state == "login"


def test_user_without_password_is_refused_too() -> None:
    guest = make_guest(user="fedora", password=None)
    log = b"".join(data for _, data in guest.boot_chunks())
    assert b"no password set for user fedora" in log
    assert b"Login incorrect" in guest.feed(b"fedora\r\r")


def test_ctrl_c_at_login_starts_over() -> None:
    guest = booted()
    assert guest.feed(b"fed\x03").endswith(b"\r\nvm1 login: ")
    assert guest.feed(b"fedora\r\x03").endswith(b"\r\nvm1 login: ")
    assert guest.feed(b"fedora\rsecret\r").endswith(PROMPT)


# -- shell commands ----------------------------------------------------------------------------


def test_uname_variants() -> None:
    guest = logged_in()
    assert run(guest, "uname") == "Linux\r\n"
    assert run(guest, "uname -r") == "6.11.4-301.fc41.x86_64\r\n"
    assert run(guest, "uname -a") == (
        "Linux vm1 6.11.4-301.fc41.x86_64 #1 SMP PREEMPT_DYNAMIC Sun Oct 20 15:02:33 UTC 2024 "
        "x86_64 GNU/Linux\r\n"
    )
    assert run(guest, "uname -sm") == "Linux x86_64\r\n"
    assert "invalid option" in run(guest, "uname -z")


def test_hostname_whoami_pwd() -> None:
    guest = logged_in(hostname="vm1.lab.example")
    assert run(guest, "hostname") == "vm1.lab.example\r\n"
    assert run(guest, "hostname -s") == "vm1\r\n"
    assert run(guest, "whoami") == "fedora\r\n"
    assert run(guest, "pwd") == "/home/fedora\r\n"
    assert run(guest, "id").startswith("uid=1000(fedora) gid=1000(fedora)")


def test_ip_addr_default_masquerade_interface() -> None:
    guest = logged_in()
    out = run(guest, "ip addr")
    lines = out.split("\r\n")
    assert lines[0] == (
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000"
    )
    assert "    inet 127.0.0.1/8 scope host lo" in lines
    assert lines[6] == (
        "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default "
        "qlen 1000"
    )
    assert re.fullmatch(r"    link/ether 52:54:00(:[0-9a-f]{2}){3} brd ff:ff:ff:ff:ff:ff", lines[7])
    assert "    inet 10.0.2.2/24 brd 10.0.2.255 scope global dynamic noprefixroute eth0" in lines
    assert any(
        re.fullmatch(r"    inet6 fe80::[0-9a-f:]+/64 scope link noprefixroute ", line)
        for line in lines
    )
    assert run(guest, "ip a") == out


def test_ip_addr_uses_given_ips_and_macs() -> None:
    guest = logged_in(
        ips=["10.244.1.7", "fd00::7/64", "192.168.50.3/24"],
        macs=["02:aa:bb:cc:dd:01", "02:aa:bb:cc:dd:02"],
    )
    out = run(guest, "ip addr")
    assert "link/ether 02:aa:bb:cc:dd:01 brd ff:ff:ff:ff:ff:ff" in out
    assert "inet 10.244.1.7/24 brd 10.244.1.255 scope global dynamic noprefixroute eth0" in out
    assert "3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP>" in out
    assert "inet6 fd00::7/64 scope global dynamic noprefixroute" in out
    # The link-local address is derived from the MAC (EUI-64, universal/local bit flipped).
    assert "inet6 fe80::aa:bbff:fecc:dd01/64 scope link" in out
    assert "inet 192.168.50.3/24 brd 192.168.50.255 scope global dynamic noprefixroute eth1" in out
    assert run(guest, "ip -br a").splitlines()[1].split()[:3] == ["eth0", "UP", "10.244.1.7/24"]
    assert run(guest, "ip route").startswith("default via 10.244.1.1 dev eth0 proto dhcp")
    assert 'Device "eth9" does not exist.' in run(guest, "ip addr show dev eth9")
    assert 'Object "bogus" is unknown' in run(guest, "ip bogus")


def test_uptime_format_follows_the_clock() -> None:
    clock = FakeClock()
    guest = logged_in(clock)
    pattern = (
        r" (\d\d:\d\d:\d\d) up {}, +1 user,  load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d\r\n"
    )
    clock.advance(5 * 60 + 10)
    assert re.fullmatch(pattern.format("5 min"), run(guest, "uptime"))
    clock.advance(2 * 3600)
    assert re.fullmatch(pattern.format(" 2:05"), run(guest, "uptime"))
    clock.advance(3 * 86400)
    match = re.fullmatch(pattern.format("3 days,  2:05"), run(guest, "uptime"))
    assert match and match.group(1) == "11:35:10"  # fixed epoch 09:30:00 + 2:05:10
    assert run(guest, "uptime -p") == "up 3 days, 2 hours, 5 minutes\r\n"


def test_date_is_deterministic_under_a_fake_clock() -> None:
    clock = FakeClock()
    guest = logged_in(clock)
    clock.advance(65)
    assert run(guest, "date") == "Wed Jan 15 09:31:05 UTC 2025\r\n"
    assert run(guest, "date +%F_%T") == "2025-01-15_09:31:05\r\n"
    explicit = logged_in(FakeClock(), epoch=0.0)
    assert run(explicit, "date") == "Thu Jan  1 00:00:00 UTC 1970\r\n"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("echo hello-$((6*7))", "hello-42"),
        ("echo $HOSTNAME $USER", "vm1 fedora"),
        ("echo '$USER' \"$USER\" \\$USER", "$USER fedora $USER"),
        ("echo $((1 + 2 * 3)) $(( (1+2)*3 )) $((-2**2)) $((7/-2)) $((7%3))", "7 9 4 -3 1"),
        ("echo $((0x10 + 010 + 2#11)) $((1<<4)) $((5>3 && 2<1)) $((1 ? 7 : 8))", "27 16 0 7"),
        ("echo $((9223372036854775807 + 1))", "-9223372036854775808"),
        ("X=6; Y=X*7; echo $((Y)) ${#Y} $UNSET-x", "42 3 -x"),
        ("echo -n no-newline", "no-newline"),
        ("echo -e 'a\\tb'", "a\tb"),
        ("echo a  b   c", "a b c"),
        ("echo a; echo b && echo c || echo d", "a\r\nb\r\nc"),
        ("false || echo rescued; echo $?", "rescued\r\n0"),
    ],
)
def test_echo_and_expansion(command: str, expected: str) -> None:
    guest = logged_in()
    newline = "" if "-n" in command else "\r\n"
    assert run(guest, command) == expected + newline


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("echo $((1/0))", "-bash: 1/0: division by 0\r\n"),
        ("echo $((2+))", "-bash: 2+: syntax error: operand expected"),
        ("echo $((X))", None),  # unset variables are 0: no error
        ("echo 'open", "-bash: unexpected EOF while looking for matching `''\r\n"),
        ("ls |", "-bash: syntax error: unexpected end of file\r\n"),
        ("echo hi > /tmp/x", "-bash: redirections are not supported by this demo guest\r\n"),
        ("echo $(whoami)", "-bash: command substitution is not supported by this demo guest\r\n"),
    ],
)
def test_shell_errors(command: str, message: str | None) -> None:
    guest = logged_in()
    out = run(guest, command)
    if message is None:
        assert out == "0\r\n"
    else:
        assert out.startswith(message)
        assert run(guest, "echo $?") in ("1\r\n", "2\r\n")


def test_unknown_command() -> None:
    guest = logged_in()
    assert run(guest, "foo") == "-bash: foo: command not found\r\n"
    assert run(guest, "echo $?") == "127\r\n"
    assert run(guest, "sudo foo") == "sudo: foo: command not found\r\n"
    assert run(guest, "sudo whoami") == "root\r\n"


def test_os_release_ls_help_and_clear() -> None:
    guest = logged_in()
    os_release = run(guest, "cat /etc/os-release")
    assert 'PRETTY_NAME="Fedora Linux 41 (Cloud Edition)"\r\n' in os_release
    assert 'ID="fedora"\r\n' in os_release and 'VERSION_ID="41"\r\n' in os_release
    assert run(guest, "ls") == "README.txt\r\n"
    assert ".bashrc" in run(guest, "ls -a")
    assert "\x1b[01;34mhome\x1b[0m" in run(guest, "ls /")
    assert run(guest, "ls / | grep ^us") == "usr\r\n"  # no colour into a pipe
    assert "not a real virtual machine" in run(guest, "cat README.txt")
    assert run(guest, "cat /nope") == "cat: /nope: No such file or directory\r\n"
    help_text = run(guest, "help")
    for name in ("uname", "hostname", "ip", "uptime", "echo", "top", "stty", "exit"):
        assert re.search(rf"\b{name}\b", help_text)
    assert run(guest, "clear") == "\x1b[H\x1b[2J"
    assert guest.feed(b"cd /etc\r") == b"cd /etc\r\n[fedora@vm1 etc]$ "
    assert guest.feed(b"pwd\r").endswith(b"/etc\r\n[fedora@vm1 etc]$ ")
    assert guest.feed(b"cd\r").endswith(PROMPT)


def test_pipelines_and_filters() -> None:
    guest = logged_in()
    assert run(guest, "ip a | grep 'inet ' | wc -l") == "2\r\n"
    assert run(guest, "echo b; echo a") == "b\r\na\r\n"
    assert run(guest, "cat /etc/os-release | head -n 1") == 'NAME="Fedora Linux"\r\n'
    assert run(guest, "ps aux | grep -c systemd") != "0\r\n"
    assert run(guest, "top | cat") == "top: failed tty get\r\n"
    batch = run(guest, "top -b | head -1")
    assert batch.startswith("top - ") and "load average" in batch


def test_stty_size_and_rows_cols() -> None:
    guest = logged_in()
    assert run(guest, "stty size") == "24 80\r\n"
    assert run(guest, "stty rows 40 cols 120") == ""
    assert run(guest, "stty size") == "40 120\r\n"
    assert (guest.rows, guest.cols) == (40, 120)
    assert "invalid integer argument" in run(guest, "stty rows lots")


def test_resize_reads_the_terminal_size_report() -> None:
    clock = FakeClock()
    guest = logged_in(clock)
    out = guest.feed(b"resize\r")
    assert out.endswith(b"\x1b[6n\x1b8")
    assert guest.state == "resize"
    out = guest.feed(b"\x1b[33;101R")
    assert out == b"COLUMNS=101;\r\nLINES=33;\r\nexport COLUMNS LINES;\r\n" + PROMPT
    assert (guest.rows, guest.cols) == (33, 101)
    guest.feed(b"resize\r")
    assert guest.tick() == b""
    clock.advance(1.5)
    assert guest.tick() == b"resize: Time out occurred\r\n" + PROMPT


@pytest.mark.parametrize("command", ["exit", "logout"])
def test_exit_returns_to_the_login_prompt(command: str) -> None:
    guest = logged_in()
    out = guest.feed(command.encode() + b"\r")
    assert b"logout\r\n" in out
    assert out.endswith(b"\r\nvm1 login: ")
    assert guest.state == "login"
    assert guest.feed(b"fedora\rsecret\r").endswith(PROMPT)


def test_all_output_lines_end_in_crlf() -> None:
    guest = logged_in()
    for command in ("ip addr", "help", "ls -la", "cat /etc/os-release", "free -m", "ps aux", "env"):
        out = guest.feed(command.encode() + b"\r")
        assert not BARE_LF.search(out), command


# -- line editing ------------------------------------------------------------------------------


def test_byte_at_a_time_equals_all_at_once() -> None:
    typed = b"echo hello-$((6*7))\r"
    whole = logged_in().feed(typed)
    guest = logged_in()
    pieces = b"".join(guest.feed(bytes([byte])) for byte in typed)
    assert pieces == whole
    assert whole == b"echo hello-$((6*7))\r\nhello-42\r\n" + PROMPT


def test_byte_at_a_time_login_and_utf8_split_across_frames() -> None:
    guest = booted()
    out = b"".join(guest.feed(bytes([byte])) for byte in b"fedora\rsecret\r")
    assert out.endswith(PROMPT)
    snowman = "echo \u2603\r".encode()
    out = b"".join(guest.feed(bytes([byte])) for byte in snowman)
    assert "\u2603\r\n\u2603\r\n".encode() in out


def test_several_lines_in_one_frame() -> None:
    guest = logged_in()
    out = guest.feed(b"echo one\recho two\r\nwhoami\n")
    assert out == (
        b"echo one\r\none\r\n"
        + PROMPT
        + b"echo two\r\ntwo\r\n"
        + PROMPT
        + b"whoami\r\nfedora\r\n"
        + PROMPT
    )


@pytest.mark.parametrize("backspace", [b"\x7f", b"\x08"])
def test_backspace_rubs_out(backspace: bytes) -> None:
    guest = logged_in()
    assert guest.feed(b"ecx") == b"ecx"
    assert guest.feed(backspace) == b"\b \b"
    assert guest.feed(b"ho hi\r") == b"ho hi\r\nhi\r\n" + PROMPT
    assert guest.feed(backspace) == b""  # nothing left to erase


def test_backspace_on_a_terminal() -> None:
    guest = make_guest()
    boot = b"".join(data for _, data in guest.boot_chunks())
    screen = screen_after(boot, guest.feed(b"fedora\rsecret\r"), guest.feed(b"whoamx\x7fi"))
    assert cursor_line(screen) == "[fedora@vm1 ~]$ whoami"


def test_ctrl_c_cancels_the_line() -> None:
    guest = logged_in()
    assert guest.feed(b"echo never\x03") == b"echo never^C\r\n" + PROMPT
    assert run(guest, "echo $?") == "130\r\n"


def test_ctrl_u_and_ctrl_w() -> None:
    guest = logged_in()
    assert guest.feed(b"abc\x15") == b"abc" + b"\b \b" * 3
    assert guest.feed(b"echo one two\x17") == b"echo one two" + b"\b \b" * 3
    assert guest.feed(b"\r") == b"\r\none\r\n" + PROMPT


def test_ctrl_d_logs_out_only_on_an_empty_line() -> None:
    guest = logged_in()
    assert guest.feed(b"ab\x04") == b"ab"
    guest.feed(b"\x15")
    out = guest.feed(b"\x04")
    assert out.startswith(b"logout\r\n") and out.endswith(b"vm1 login: ")
    assert guest.state == "login"


def test_arrow_keys_are_swallowed_or_recall_history() -> None:
    guest = logged_in()
    assert guest.feed(b"\x1b[C\x1b[D\x1bOD") == b""
    run(guest, "whoami")
    assert guest.feed(b"\x1b[A") == b"whoami"
    assert guest.feed(b"\x1b") == b""  # a sequence split across frames
    assert guest.feed(b"[B") == b"\b \b" * 6
    assert guest.feed(b"\x1b[A\r") == b"whoami\r\nfedora\r\n" + PROMPT


def test_redraw_hint_shows_the_prompt_without_changing_state() -> None:
    guest = logged_in()
    guest.feed(b"ech")
    assert guest.redraw_hint() == b"\r\n" + PROMPT + b"ech"
    assert guest.feed(b"o x\r") == b"o x\r\nx\r\n" + PROMPT
    assert booted().redraw_hint() == b"\r\nvm1 login: "


# -- top ---------------------------------------------------------------------------------------


def test_top_enters_draws_refreshes_and_leaves() -> None:
    clock = FakeClock()
    guest = logged_in(clock)
    out = guest.feed(b"top\r")
    assert out.startswith(b"top\r\n\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J")
    assert b"\x1b[1;1Htop - 09:30:00 up 0 min,  1 user,  load average:" in out
    assert (
        b"\x1b[7m    PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND"
        in out
    )
    assert len(CURSOR_ADDRESS.findall(out)) >= 24
    assert guest.state == "top"

    clock.advance(1)
    refresh = guest.tick()
    assert refresh.startswith(b"\x1b[1;1Htop - 09:30:01 ")
    assert CURSOR_ADDRESS.search(refresh)
    assert b"\x1b[2J" not in refresh  # an incremental redraw, not a clear

    assert guest.feed(b"x\x1b[A") == b""  # other keys do nothing
    out = guest.feed(b"q")
    assert out == b"\x1b[?25h\x1b[?1049l" + PROMPT
    assert guest.state == "shell"
    assert guest.tick() == b""


def test_top_on_a_terminal_and_ctrl_c_quits() -> None:
    guest = logged_in()
    out = guest.feed(b"top\r")
    screen = screen_after(out)
    assert screen.display[0].startswith("top - 09:30:00 up 0 min,  1 user,  load average:")
    assert screen.display[1].startswith("Tasks:")
    assert screen.display[6].split()[:3] == ["PID", "USER", "PR"]
    assert screen.buffer[6][0].reverse
    assert any(line.split()[-1:] == ["top"] for line in screen.display[7:])
    assert guest.feed(b"\x03") == b"\x1b[?25h\x1b[?1049l" + PROMPT


def test_top_follows_the_stty_size() -> None:
    guest = logged_in()
    run(guest, "stty rows 12 cols 50")
    out = guest.feed(b"top\r")
    rows = {int(m) for m in re.findall(rb"\x1b\[(\d+);1H[^\x1b]", out)}
    assert max(rows) == 12
    header = re.search(rb"\x1b\[7m([^\x1b]*)\x1b\[0m", out)
    assert header and len(header.group(1)) == 50
    screen = screen_after(out, columns=50, lines=12)
    assert screen.display[11].strip()  # the last row is used


# -- determinism and robustness ----------------------------------------------------------------


def test_sessions_are_reproducible() -> None:
    script = [b"fedora\r", b"secret\r", b"uptime; date; echo $RANDOM\r", b"top\r", b"q", b"ls -l\r"]

    def session() -> list[bytes]:
        clock = FakeClock()
        guest = make_guest(clock)
        outputs = [data for _, data in guest.boot_chunks()]
        for keys in script:
            clock.advance(7)
            outputs.append(guest.feed(keys))
            outputs.append(guest.tick())
        return outputs

    assert session() == session()


def test_boot_again_from_top_leaves_the_alternate_screen() -> None:
    guest = logged_in()
    guest.feed(b"top\r")
    chunks = guest.boot_chunks()
    assert chunks[0][1].startswith(b"\x1b[?25h\x1b[?1049l")
    assert guest.state == "login"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.binary(max_size=64), max_size=8), st.sampled_from(["off", "login", "shell", "top"])
)
def test_random_bytes_never_raise(frames: list[bytes], start: str) -> None:
    clock = FakeClock()
    guest = make_guest(clock)
    if start != "off":
        guest.boot_chunks()
    if start in ("shell", "top"):
        guest.feed(b"fedora\rsecret\r")
    if start == "top":
        guest.feed(b"top\r")
    for frame in frames:
        assert isinstance(guest.feed(frame), bytes)
        clock.advance(0.7)
        assert isinstance(guest.tick(), bytes)
    assert isinstance(guest.redraw_hint(), bytes)


_SHELLISH = st.text(
    alphabet=st.sampled_from(list("$(){}*+-/%<>=!&|;'\"\\ 0123456789abxyzXY_#~^?:\t")), max_size=80
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_SHELLISH, st.text(max_size=80)))
def test_random_command_lines_never_raise(line: str) -> None:
    guest = logged_in()
    for command in (line, f"echo $(({line}))", f"echo {line}"):
        out = guest.feed(command.replace("\r", " ").replace("\n", " ").encode() + b"\r")
        assert isinstance(out, bytes)
        if guest.state == "top":
            guest.feed(b"q")
        elif guest.state == "resize":
            guest.feed(b"\x03")
        elif guest.state != "shell":
            guest.feed(b"fedora\rsecret\r")


def test_pathological_arithmetic_is_refused_not_fatal() -> None:
    guest = logged_in()
    deep = "echo $((" + "(" * 300 + "1" + ")" * 300 + "))"
    assert "expression recursion level exceeded" in run(guest, deep)
    assert "expression recursion level exceeded" in run(guest, "echo $((" + "-" * 2000 + "1))")
    assert "expression recursion level exceeded" in run(guest, "X=X; echo $((X))")
    assert run(guest, "echo $((2**2**2**2))") == "65536\r\n"
    huge = run(
        guest, "X=" + "a" * 3000 + "; X=$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X$X; echo ok"
    )
    assert "expansion too long" in huge and huge.endswith("ok\r\n")


# -- cloud-init credentials --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_data", "expected"),
    [
        ("#cloud-config\npassword: fedora\nchpasswd: { expire: False }\n", ("fedora", "fedora")),
        ("#cloud-config\nuser: cloud-user\npassword: redhat\n", ("cloud-user", "redhat")),
        ("#cloud-config\nuser: {name: admin}\npassword: 1234\n", ("admin", "1234")),
        (
            "#cloud-config\nusers:\n  - default\n  - name: alice\n    plain_text_passwd: wonder\n",
            ("alice", "wonder"),
        ),
        ("#cloud-config\nchpasswd:\n  list: |\n    bob:builder\n", ("bob", "builder")),
        ("#cloud-config\nchpasswd:\n  list:\n    - carol:pw1\n", ("carol", "pw1")),
        (
            "#cloud-config\nchpasswd:\n  users:\n    - {name: dave, password: pw2}\n",
            ("dave", "pw2"),
        ),
        (
            "#cloud-config\nchpasswd:\n  users:\n    - {name: x, password: h, type: hash}\n"
            "    - {name: erin, password: pw3, type: text}\n",
            ("erin", "pw3"),
        ),
        ("password: nohdr\n", ("fedora", "nohdr")),  # header-less YAML is accepted leniently
        ("#cloud-config\nssh_authorized_keys: [ssh-ed25519 AAAA]\n", None),
        ("#cloud-config\nchpasswd: {expire: false}\n", None),
        ("#cloud-config\nchpasswd:\n  list: |\n    frank:RANDOM\n", None),
        ("#cloud-config\npassword: $6$salt$hashedhashedhashed\n", None),
        (
            "#cloud-config\nusers:\n  - name: gina\n    plain_text_passwd: pw\n    lock_passwd: true\n",
            None,
        ),
        ("#!/bin/bash\necho password: nope\n", None),
        ("#cloud-config\npassword: [unclosed\n", None),
        ("#cloud-config\n: : :\n\t- ][\n", None),
        ("#cloud-config\n- just\n- a list\n", None),
        ("", None),
        (None, None),
    ],
)
def test_credentials_from_userdata(user_data: str | None, expected: tuple[str, str] | None) -> None:
    assert credentials_from_userdata(user_data) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_credentials_from_userdata_never_raises(text: str) -> None:
    result = credentials_from_userdata("#cloud-config\n" + text)
    assert result is None or (isinstance(result, tuple) and len(result) == 2)
    credentials_from_userdata(text)


def test_cloud_init_credentials_sets_the_login() -> None:
    guest = make_guest(user=None, password=None)
    assert guest.cloud_init_credentials("#cloud-config\nuser: ann\npassword: pw\n") == ("ann", "pw")
    log = b"".join(data for _, data in guest.boot_chunks())
    assert b"no password set" not in log
    assert guest.feed(b"ann\rpw\r").endswith(b"[ann@vm1 ~]$ ")
    assert guest.cloud_init_credentials("#cloud-config\n{}") is None
    assert (guest.user, guest.password) == (None, None)
