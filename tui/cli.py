"""Command line: argv -> Settings -> a checked Connection -> the Textual app.

`kvtui`, `python -m tui` and `kvtui --demo` all land in `main`. Everything that can fail
before the UI starts (no kubeconfig, unknown context, refused connection, TLS, 401) is
reported as one line on stderr with exit status 1: a user who mistyped a context should
not have to read a traceback.

This module does not import Textual at load time, so `--help` and `--version` are instant
and the import rule (only `tui/app.py` touches Textual) holds.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tui import __version__

if TYPE_CHECKING:
    from tui.cluster.connection import Connection

PROG = "kvtui"
DEMO_HINT = "try 'kvtui --demo' for a local demo cluster"
log = logging.getLogger("tui.cli")

# Later issues add `kvtui node`, `kvtui console NS/VM`, `kvtui create -f FILE`. They
# register here (name -> handler taking the remaining argv) and `main` dispatches on the
# first argument before the TUI's own parser sees it, so `kvtui --demo` and friends keep
# working unchanged. Deliberately empty until a command really exists.
Subcommand = Callable[[list[str]], int]
SUBCOMMANDS: dict[str, Subcommand] = {}  # filled at the end of this module


@dataclass(frozen=True)
class Settings:
    """What the user asked for on the command line, resolved where it depends on the cluster.

    `namespace` None means all namespaces.
    """

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    readonly: bool = False
    demo: bool = False
    real_guests: bool = False
    debug: bool = False
    log_file: Path | None = None


def default_log_file() -> Path:
    """`$XDG_STATE_HOME/kvtui/kvtui.log`, falling back to `~/.local/state/kvtui/kvtui.log`."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(state) / "kvtui" / "kvtui.log"


def global_options() -> argparse.ArgumentParser:
    """The options every kvtui command shares (a parent parser, so subcommands reuse them)."""
    parser = argparse.ArgumentParser(add_help=False)
    cluster = parser.add_argument_group("cluster")
    cluster.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)",
    )
    cluster.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    cluster.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        help="namespace to show (default: the context's namespace)",
    )
    cluster.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="show all namespaces (wins over -n, as in kubectl)",
    )
    cluster.add_argument(
        "--readonly",
        action="store_true",
        help="never send a mutating request; actions that change things are hidden",
    )
    cluster.add_argument(
        "--demo",
        action="store_true",
        help="start a local demo cluster (KubeVirt simulated) and use it; no cluster needed",
    )
    cluster.add_argument(
        "--real-guests",
        action="store_true",
        help="with --demo: the first 2 VMs to start boot a real tiny QEMU guest for their "
        "console (needs libvirtd, qemu-system-x86_64, busybox-static, a guest kernel)",
    )
    diag = parser.add_argument_group("diagnostics")
    diag.add_argument(
        "--debug",
        action="store_true",
        help=f"write a debug log (default file: {default_log_file()}); never to the screen",
    )
    diag.add_argument(
        "--log-file",
        metavar="PATH",
        type=Path,
        help="write the log to PATH (level INFO, or DEBUG with --debug)",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of the TUI itself (`kvtui [options]`)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "A keyboard-driven terminal UI for KubeVirt: virtual machines, their\n"
            "consoles and their lifecycle, over the Kubernetes API."
        ),
        epilog=(
            "Examples:\n"
            "  kvtui --demo                 run against a built-in demo cluster\n"
            "  kvtui --context prod -A      all namespaces of context 'prod'\n"
            "  kvtui -n vms --readonly      look, never touch\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[global_options()],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def parse_settings(argv: Sequence[str]) -> Settings:
    """Parse argv (argparse exits on --help, --version and errors)."""
    parser = build_parser()
    return settings_from(parser, parser.parse_args(list(argv)))


def settings_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Settings:
    """Settings from parsed global options (usage errors exit through `parser`)."""
    if args.demo and args.kubeconfig:
        # The demo writes its own kubeconfig; a second one would be silently ignored.
        parser.error("--demo and --kubeconfig cannot be used together")
    if getattr(args, "real_guests", False) and not args.demo:
        parser.error("--real-guests works with --demo only")
    log_file = args.log_file or (default_log_file() if args.debug else None)
    return Settings(
        kubeconfig=args.kubeconfig,
        context=args.context,
        namespace=args.namespace,
        all_namespaces=args.all_namespaces,
        readonly=args.readonly,
        demo=args.demo,
        real_guests=getattr(args, "real_guests", False),
        debug=args.debug,
        log_file=log_file,
    )


# ---- logging ---------------------------------------------------------------------------


class RedactSecrets(logging.Filter):
    """Rewrites a record's message so bearer tokens and Authorization headers never land in a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        from tui.cluster.errors import redact

        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not lose the record
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class _RedactingFormatter(logging.Formatter):
    """Also scrubs what the filter cannot see: exception text and stack traces."""

    def format(self, record: logging.LogRecord) -> str:
        from tui.cluster.errors import redact

        return redact(super().format(record))


def configure_logging(settings: Settings) -> Path | None:
    """Send logs to the log file, or nowhere; never to the terminal the TUI draws on.

    Returns the log file path, or None when logging is off.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    # Without a handler Python's "last resort" prints warnings (urllib3 retries, say) to
    # stderr, right over the TUI. Route `warnings` through logging for the same reason.
    logging.captureWarnings(True)
    if settings.log_file is None:
        root.addHandler(logging.NullHandler())
        root.setLevel(logging.CRITICAL)
        return None
    path = settings.log_file.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The log may name servers, namespaces and VMs: keep it private to the user.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    stream: TextIO = os.fdopen(fd, "a", encoding="utf-8")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(
        _RedactingFormatter("%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if settings.debug else logging.INFO)
    # The client logs whole response bodies at DEBUG: huge for lists, and annotations can
    # hold secrets. Requests and errors are still logged by our own code.
    logging.getLogger("kubernetes.client.rest").setLevel(logging.INFO)
    return path


def _close_logging() -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        handler.close()
        root.removeHandler(handler)


# ---- connecting ------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_failure(error: Exception, connection: Connection | None, *, demo: bool = False) -> str:
    """The single stderr line for a failure before the UI starts."""
    # A ClusterError's summary is the sentence written for users; its str() adds a title.
    message = _one_line(getattr(error, "summary", "") or str(error)) or type(error).__name__
    # Suggesting the demo to someone whose demo just failed (or twice) would be no help.
    hint = "" if demo or "--demo" in message else f" — {DEMO_HINT}"
    if connection is None:
        return f"{PROG}: {message}{hint}"
    where = f'the cluster at {connection.server} (context "{connection.context}")'
    prefix = f"Cannot reach the cluster at {connection.server}"
    if message.startswith(prefix):
        # "Cannot reach the cluster at URL: connection refused" -> put the context in.
        rest = message[len(prefix) :].lstrip(": ")
        return f"{PROG}: cannot reach {where}: {rest}{hint}"
    return f"{PROG}: {where}: {message}{hint}"


def connect(settings: Settings) -> Connection:
    """Load the kubeconfig and check the API answers; raises ClusterError otherwise."""
    from tui.cluster.connection import Connection
    from tui.cluster.errors import ClusterError

    try:
        connection = Connection.auto(settings.kubeconfig, settings.context)
    except ClusterError:
        raise
    except Exception as exc:  # e.g. a YAML syntax error the loader lets through
        raise ClusterError(
            "Invalid kubeconfig", str(exc), summary=f"cannot read the kubeconfig: {exc}"
        ) from exc
    try:
        info = connection.version()
    except Exception as exc:
        # Attach the connection so the message can name the server and context.
        exc.kvtui_connection = connection  # type: ignore[attr-defined]
        raise
    log.info(
        "connected to %s (context %s), Kubernetes %s",
        connection.server,
        connection.context,
        info.get("gitVersion", "?"),
    )
    return connection


def _start_demo(stack: contextlib.ExitStack, settings: Settings) -> Settings:
    """Start the demo cluster in-process; the normal client path then talks to it over HTTP."""
    from tui.demo.runtime import DemoCluster

    demo = DemoCluster(time_scale=1.0, real_guests=True if settings.real_guests else None)
    demo.start()
    stack.callback(demo.stop)
    if settings.real_guests and demo.real_guests is None:
        raise RuntimeError(
            f"--real-guests: this machine cannot run real guests: {demo.real_guests_reason}"
        )
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="kvtui-demo-"))
    kubeconfig = demo.write_kubeconfig(Path(folder) / "kubeconfig")
    log.info("demo cluster listening on %s, kubeconfig %s", demo.url, kubeconfig)
    return replace(settings, kubeconfig=str(kubeconfig))


def resolve_scope(settings: Settings, connection: Connection) -> Settings:
    """-A wins; then -n; then all namespaces for the demo, the context's namespace otherwise."""
    if settings.all_namespaces or (settings.demo and not settings.namespace):
        return replace(settings, namespace=None, all_namespaces=True)
    return replace(settings, namespace=settings.namespace or connection.namespace)


def run_tui(
    settings: Settings,
    connection: Connection,
    kubevirt_version: str | None,
    console: ConsoleTarget | None = None,
    create: CreateTarget | None = None,
) -> int:
    """Run the Textual app until the user quits; its exit status."""
    from tui.app import KvtuiApp

    app = KvtuiApp(
        connection, settings, kubevirt_version=kubevirt_version, console=console, create=create
    )
    app.run()
    return int(app.return_code or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `kvtui` and `python -m tui`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return SUBCOMMANDS[args[0]](args[1:])
    try:
        settings = parse_settings(args)
    except SystemExit as exc:  # --help, --version, usage errors: argparse already printed
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    return start(settings)


class _NoLogFile(Exception):
    """The log file cannot be written (already said on stderr)."""


@contextlib.contextmanager
def _logged(settings: Settings) -> Iterator[None]:
    """Logging for one run of a UI: opened (or one stderr line and _NoLogFile), closed at
    the end, and with --debug the file named on stderr."""
    try:
        log_path = configure_logging(settings)
    except OSError as exc:
        print(
            f"{PROG}: cannot write the log file {settings.log_file}: {exc.strerror}",
            file=sys.stderr,
        )
        raise _NoLogFile from exc
    try:
        yield
    finally:
        if log_path is not None:
            log.info("kvtui exits")
            _close_logging()
            if settings.debug:
                print(f"{PROG}: debug log written to {log_path}", file=sys.stderr)


def start(
    settings: Settings, console: ConsoleTarget | None = None, create: CreateTarget | None = None
) -> int:
    """Log, connect (starting the demo if asked) and run the UI; the exit status."""
    try:
        with _logged(settings):
            log.info("kvtui %s starting: %s", __version__, settings)
            return _connect_and_run(settings, console, create)
    except _NoLogFile:
        return 1


def _connect_and_run(
    settings: Settings, console: ConsoleTarget | None, create: CreateTarget | None
) -> int:
    with contextlib.ExitStack() as stack:
        connection: Connection | None = None
        try:
            if settings.demo:
                settings = _start_demo(stack, settings)
            connection = connect(settings)
            stack.callback(connection.close)
            settings = resolve_scope(settings, connection)
            kubevirt_version = connection.kubevirt_version()
        except Exception as exc:  # noqa: BLE001 - any failure here is one line, no traceback
            connection = connection or getattr(exc, "kvtui_connection", None)
            log.error("cannot start", exc_info=True)
            print(describe_failure(exc, connection, demo=settings.demo), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        if create is not None:
            return run_tui(settings, connection, kubevirt_version, create=create)
        if console is None:
            return run_tui(settings, connection, kubevirt_version)
        if not console.namespace:
            console = replace(console, namespace=connection.namespace)
        return run_tui(settings, connection, kubevirt_version, console=console)


# ---- kvtui console NAMESPACE/VM ---------------------------------------------------------


@dataclass(frozen=True)
class ConsoleTarget:
    """The console `kvtui console` opens at start. Empty `namespace`: the context's."""

    namespace: str
    name: str
    log: Path | None = None
    exit_key: str | None = None


# Key names people type -> Textual's names, for --exit-key ("ctrl+]" -> ctrl+right_square_bracket).
_KEY_NAMES = {
    "]": "right_square_bracket",
    "[": "left_square_bracket",
    "\\": "backslash",
    "^": "circumflex_accent",
    "_": "underscore",
    "@": "at",
}


def key_name(text: str) -> str:
    """A key as typed on the command line ("Ctrl+]", "ctrl+g", "F12") -> Textual's key name."""
    parts = [p.strip() for p in text.strip().split("+")]
    if text.strip().endswith("++"):  # "ctrl++": the plus key itself
        parts = [*parts[:-2], "plus"]
    if not parts or not all(parts):
        raise ValueError(f"not a key: {text!r}")
    *mods, last = parts
    mods = [m.lower() for m in mods]
    for mod in mods:
        if mod not in ("ctrl", "alt", "shift", "meta"):
            raise ValueError(f"unknown modifier {mod!r} in {text!r}")
    last = _KEY_NAMES.get(last, last if len(last) == 1 else last.lower())
    if len(last) == 1 and last.isalpha() and "ctrl" in mods:
        last = last.lower()
    return "+".join([*mods, last])


def console_command(argv: list[str]) -> int:
    """`kvtui console NAMESPACE/VM [--log FILE]`: straight into a VM's serial console."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} console",
        description=(
            "Open a VM's serial console. Leaving it (Ctrl+] q) shows the VM list; the\n"
            "console stays connected in the background until kvtui exits."
        ),
        epilog=(
            "Examples:\n"
            "  kvtui console default/testvm\n"
            "  kvtui console testvm --context prod        (the context's namespace)\n"
            "  kvtui console vms/web-01 --log web-01.log  (append the guest's output)\n"
            "  kvtui console --demo default/testvm\n"
            "  kvtui console default/testvm --exit-key ctrl+g\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[global_options()],
    )
    parser.add_argument("target", metavar="NAMESPACE/VM", help="the VM (namespace optional)")
    parser.add_argument(
        "--log",
        metavar="FILE",
        type=Path,
        help="append everything the guest prints to FILE (not what you type: passwords "
        "are not echoed by the guest, so they stay out of it)",
    )
    parser.add_argument(
        "--exit-key",
        metavar="KEY",
        help="the key in front of the console's own commands, and twice to leave "
        "(default Ctrl+]; also $KVTUI_CONSOLE_EXIT_KEY)",
    )
    try:
        args = parser.parse_args(argv)
        settings = settings_from(parser, args)
        namespace, _, name = args.target.rpartition("/")
        if not name or "/" in namespace:
            parser.error(f"expected NAMESPACE/VM or VM, got {args.target!r}")
        exit_key = None
        if args.exit_key:
            try:
                exit_key = key_name(args.exit_key)
            except ValueError as exc:
                parser.error(f"--exit-key: {exc}")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.log is not None:
        # Fail here, in words, rather than inside the UI.
        try:
            fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
        except OSError as exc:
            print(
                f"{PROG}: cannot write the console log {args.log}: {exc.strerror}", file=sys.stderr
            )
            return 1
    target = ConsoleTarget(namespace or settings.namespace or "", name, args.log, exit_key)
    return start(settings, target)


SUBCOMMANDS["console"] = console_command


# ---- kvtui create -f FILE -------------------------------------------------------------------


@dataclass(frozen=True)
class CreateTarget:
    """A manifest `kvtui create -f` opens in the YAML editor at start, as the user wrote it."""

    text: str
    origin: str  # "file vm.yaml", "standard input"


def _reattach_terminal() -> str | None:
    """After reading a piped stdin, give fd 0 back to the terminal (the UI reads keys there).
    None when done, else why not."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError as exc:
        return f"no terminal to run in after reading standard input ({exc.strerror})"
    os.dup2(fd, 0)
    os.close(fd)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - fd 0 lives as long as the process
    return None


def read_manifest(path: str, stdin: TextIO | None = None) -> CreateTarget:
    """The text of `path` (`-` is standard input). Raises ValueError with a one-line reason."""
    if path == "-":
        stream = stdin or sys.stdin
        if stream.isatty():
            raise ValueError(
                "-f - reads the manifest from a pipe: kubectl get vm x -o yaml | kvtui create -f -"
            )
        text = stream.read()
        origin = "standard input"
    else:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except UnicodeDecodeError:
            raise ValueError(f"{path} is not a UTF-8 text file") from None
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        origin = f"file {path}"
    if not text.strip():
        raise ValueError(f"{'standard input' if path == '-' else path} is empty")
    return CreateTarget(text, origin)


def create_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=f"{PROG} create",
        description=(
            "Open a VirtualMachine manifest in kvtui's YAML editor to check and create it:\n"
            "YAML errors with line and column, unknown fields, the server's dry run, then\n"
            "a review of the manifest and the equivalent commands before anything is created."
        ),
        epilog=(
            "Examples:\n"
            "  kvtui create -f vm.yaml\n"
            "  kvtui create -f vm.yaml -n vms --context prod\n"
            "  kubectl get vm web-01 -o yaml | kvtui create -f -\n"
            "  kvtui create --demo -f vm.yaml\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[global_options()],
    )


def parse_create(argv: Sequence[str]) -> tuple[Settings, str]:
    """(settings, the -f path). argparse exits on --help and usage errors."""
    parser = create_parser()
    parser.add_argument(
        "-f",
        "--filename",
        metavar="FILE",
        required=True,
        help="the manifest (YAML or JSON); - reads standard input",
    )
    args = parser.parse_args(list(argv))
    if args.readonly:
        parser.error("--readonly cannot create anything")
    return settings_from(parser, args), args.filename


def create_command(argv: list[str]) -> int:
    """`kvtui create -f FILE`: the file in the YAML editor, ready to check and create."""
    try:
        settings, path = parse_create(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    try:
        target = read_manifest(path)
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    if path == "-":
        problem = _reattach_terminal()
        if problem:
            print(f"{PROG}: {problem}", file=sys.stderr)
            return 1
    return start(settings, create=target)


SUBCOMMANDS["create"] = create_command


# ---- kvtui node ----------------------------------------------------------------------------


def node_command(argv: list[str]) -> int:
    """`kvtui node [--uri URI ...]`: the libvirt domains on this machine (run on a node)."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} node",
        description=(
            "Show what libvirt sees behind each VM on this machine: the domains of every\n"
            "virt-launcher's libvirt daemon (found through /proc/<pid>/root, as KubeVirt's\n"
            "virt-handler finds them; needs root) plus any --uri, live: state, CPU, memory,\n"
            "block and network rates, XML, jobs (migration progress), consoles, serial logs."
        ),
        epilog=(
            "Examples:\n"
            "  sudo kvtui node                      every launcher on this KubeVirt node\n"
            "  kvtui node --uri qemu:///system      a plain libvirt host\n"
            "  kvtui node --uri test:///default     libvirt's test driver, no daemon needed\n"
            "  kvtui node --no-discover --uri qemu+ssh://root@node-1/system --readonly\n"
            "  sudo kvtui node --kubeconfig /etc/kubernetes/admin.conf   with VMIs and VMs\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--uri",
        action="append",
        default=[],
        metavar="URI",
        help="a libvirt connection URI to show as well (repeatable)",
    )
    parser.add_argument(
        "--no-discover",
        action="store_true",
        help="do not look for virt-launcher daemons: only the --uri connections",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds between statistics refreshes (0.5-60, default 2; +/- change it live)",
    )
    parser.add_argument(
        "--readonly",
        action="store_true",
        help="open every connection read-only (as virsh -r); suspend/resume/destroy are hidden",
    )
    cluster = parser.add_argument_group(
        "cluster (optional: show each domain's VMI, VM, phase and node from the cluster)"
    )
    cluster.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig to correlate with")
    cluster.add_argument("--context", metavar="NAME", help="kubeconfig context to use")
    parser.add_argument("--debug", action="store_true", help="write a debug log (see kvtui -h)")
    parser.add_argument("--log-file", metavar="PATH", type=Path, help="write the log to PATH")
    try:
        args = parser.parse_args(argv)
        if not 0.5 <= args.interval <= 60:
            parser.error(f"--interval must be between 0.5 and 60 seconds, got {args.interval:g}")
        if args.no_discover and not args.uri:
            parser.error("--no-discover needs at least one --uri")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    from tui.libvirt_loop import LibvirtMissing, libvirt_module

    try:
        libvirt_module()
    except LibvirtMissing as exc:
        print(f"{PROG} node: {exc}", file=sys.stderr)
        return 1
    if not args.no_discover:
        from tui.node.discovery import discover

        found = discover()
        if not found.launchers and not args.uri and os.geteuid() != 0:
            print(
                f"{PROG} node: found no libvirt daemons. As a non-root user kvtui cannot look "
                "inside other users' processes (/proc/<pid>/root): run it as root "
                "(sudo kvtui node), or name a connection with --uri URI",
                file=sys.stderr,
            )
            return 1
    settings = Settings(
        debug=args.debug, log_file=args.log_file or (default_log_file() if args.debug else None)
    )
    try:
        with _logged(settings):
            return _run_node_app(args)
    except _NoLogFile:
        return 1


def _run_node_app(args: argparse.Namespace) -> int:
    connection = None
    if args.kubeconfig or args.context:
        # The kubeconfig must be readable now; the cluster itself may be unreachable for a
        # while (the UI says so and keeps showing libvirt's side).
        from tui.cluster.connection import Connection

        try:
            connection = Connection.auto(args.kubeconfig, args.context)
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            message = _one_line(getattr(exc, "summary", "") or str(exc))
            print(f"{PROG} node: {message}", file=sys.stderr)
            return 1
    from tui.app import node_app

    app = node_app(
        list(args.uri),
        discover=not args.no_discover,
        interval=args.interval,
        read_only=args.readonly,
        cluster=connection,
    )
    try:
        app.run()
    finally:
        if connection is not None:
            connection.close()
    return int(app.return_code or 0)


SUBCOMMANDS["node"] = node_command


if __name__ == "__main__":  # pragma: no cover - `python -m tui` goes through __main__.py
    sys.exit(main())
