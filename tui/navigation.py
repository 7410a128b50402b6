"""Where the user can go and how they say it: the `:` command table, history, favourites.

Pure code (no Textual, no I/O), so the rules k9s users rely on are unit-tested on their own:

- `parse(":vm vm-prod")` -> Command(view "vm", namespace "vm-prod"); `-A` or `all` means all
  namespaces; `:ctx NAME` switches context; `:q` quits. Unknown words raise UnknownCommand
  with a sentence fit to show the user.
- `complete("vm v", namespaces=[...])` -> candidates: aliases for the first word, then
  namespaces (or contexts, for `:ctx`) for the argument.
- `History`: back `[`, forward `]`, last `-` (like `cd -`), as in k9s.
- `Favourites`: namespaces recently used, on keys 1-9; 0 is all namespaces (k9s).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

ALL_WORDS = ("-A", "all", "--all-namespaces")


@dataclass(frozen=True)
class View:
    """One thing the `:` command can show.

    `kinds` are `tui.cluster.kinds` keys (plural.group) listed together (instancetypes:
    namespaced and cluster ones). A view without kinds is special (contexts, quit).
    """

    name: str
    title: str
    aliases: tuple[str, ...]
    kinds: tuple[str, ...] = ()
    namespaced: bool = True  # takes a namespace argument
    help: str = ""


VIEWS: tuple[View, ...] = (
    View(
        "vm",
        "VirtualMachines",
        ("vm", "vms", "virtualmachines", "virtualmachine"),
        ("virtualmachines.kubevirt.io",),
        help="virtual machines",
    ),
    View(
        "vmi",
        "VirtualMachineInstances",
        ("vmi", "vmis", "virtualmachineinstances", "virtualmachineinstance"),
        ("virtualmachineinstances.kubevirt.io",),
        help="running VM instances",
    ),
    View(
        "ns",
        "Namespaces",
        ("ns", "namespaces", "namespace"),
        ("namespaces",),
        namespaced=False,
        help="namespaces (enter: their VMs)",
    ),
    View(
        "tmpl",
        "Templates",
        ("tmpl", "templates", "template"),
        ("templates.template.openshift.io",),
        help="VM templates",
    ),
    View(
        "it",
        "Instancetypes",
        ("it", "instancetypes", "instancetype", "vmf", "vmcf"),
        (
            "virtualmachineinstancetypes.instancetype.kubevirt.io",
            "virtualmachineclusterinstancetypes.instancetype.kubevirt.io",
        ),
        help="instancetypes, namespaced and cluster",
    ),
    View(
        "pref",
        "Preferences",
        ("pref", "preferences", "preference", "vmp", "vmcp"),
        (
            "virtualmachinepreferences.instancetype.kubevirt.io",
            "virtualmachineclusterpreferences.instancetype.kubevirt.io",
        ),
        help="preferences, namespaced and cluster",
    ),
    View(
        "dv",
        "DataVolumes",
        ("dv", "dvs", "datavolumes", "datavolume"),
        ("datavolumes.cdi.kubevirt.io",),
        help="DataVolumes with import progress",
    ),
    View(
        "snap",
        "Snapshots",
        ("snap", "snapshots", "snapshot", "vmsnapshot", "vmsnapshots"),
        ("virtualmachinesnapshots.snapshot.kubevirt.io",),
        help="VM snapshots",
    ),
    View(
        "vmim",
        "Migrations",
        ("vmim", "vmims", "migrations", "migration"),
        ("virtualmachineinstancemigrations.kubevirt.io",),
        help="live migrations",
    ),
    View("ev", "Events", ("ev", "events", "event"), ("events",), help="events"),
    View(
        "node",
        "Nodes",
        ("node", "nodes", "no"),
        ("nodes",),
        namespaced=False,
        help="cluster nodes",
    ),
    View(
        "ctx",
        "Contexts",
        ("ctx", "contexts", "context"),
        namespaced=False,
        help="kubeconfig contexts (:ctx NAME switches)",
    ),
    View(
        "new",
        "New VM",
        ("new", "create"),
        namespaced=False,
        help="create a VM: :new (form), :new --template NAME, :new --yaml",
    ),
    View("q", "Quit", ("q", "quit", "q!", "exit"), namespaced=False, help="quit kvtui"),
)

_BY_ALIAS: dict[str, View] = {alias: view for view in VIEWS for alias in view.aliases}


def view_named(name: str) -> View:
    """The view called `name` (its canonical name or any alias); KeyError otherwise."""
    return _BY_ALIAS[name.lower()]


def aliases() -> list[str]:
    """Every alias, canonical names first (in table order), for completion and help."""
    names = [view.name for view in VIEWS]
    rest = sorted(alias for alias in _BY_ALIAS if alias not in names)
    return names + rest


class UnknownCommand(ValueError):
    """The `:` line names no view; str() is the message for the user."""


@dataclass(frozen=True)
class Command:
    """A parsed `:` line.

    `namespace`: None when the line named none (keep the current one); `all_namespaces`
    True for `-A`/`all`. `argument` is the raw argument (a context name for `:ctx`).
    """

    view: View
    argument: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False

    @property
    def quits(self) -> bool:
        return self.view.name == "q"


def parse(line: str) -> Command:
    """Parse a `:` line (the leading ':' is optional). Raises UnknownCommand."""
    words = line.strip().lstrip(":").split()
    if not words:
        raise UnknownCommand("Type a view name, e.g. :vm, :ns, :tmpl (? lists the keys)")
    first, rest = words[0], words[1:]
    try:
        view = view_named(first)
    except KeyError:
        raise UnknownCommand(
            f"Unknown command {first!r}: try one of {', '.join(v.name for v in VIEWS)}"
        ) from None
    if view.name == "new":
        parse_new(" ".join(rest))  # raises for options it does not know
        return Command(view, " ".join(rest) or None)
    if len(rest) > 1:
        raise UnknownCommand(f":{view.name} takes at most one argument, not {len(rest)}")
    argument = rest[0] if rest else None
    if view.name in ("ctx", "q") or not view.namespaced or argument is None:
        if argument is not None and view.name == "q":
            raise UnknownCommand(":q takes no argument")
        if argument is not None and view.name != "ctx":
            raise UnknownCommand(f":{view.name} is not namespaced; it takes no argument")
        return Command(view, argument)
    if argument in ALL_WORDS:
        return Command(view, argument, None, all_namespaces=True)
    return Command(view, argument, namespace=argument)


@dataclass(frozen=True)
class NewVm:
    """What `:new` asked for: `how` is "form", "template" (with `template`, maybe NS/NAME)
    or "yaml"."""

    how: str = "form"
    template: str = ""


NEW_USAGE = ":new (the form), :new --template NAME (or NS/NAME), :new --yaml"


def parse_new(argument: str | None) -> NewVm:
    """The argument of `:new`. Raises UnknownCommand with the usage for anything else."""
    words = (argument or "").split()
    if not words:
        return NewVm()
    if words[0] in ("--yaml", "-y", "yaml") and len(words) == 1:
        return NewVm("yaml")
    if words[0] in ("--template", "-t", "template"):
        if len(words) == 2:
            return NewVm("template", words[1])
        if len(words) == 1:
            raise UnknownCommand(f":new --template needs a template name ({NEW_USAGE})")
    if words[0].startswith("--template="):
        name = words[0].split("=", 1)[1]
        if name and len(words) == 1:
            return NewVm("template", name)
    raise UnknownCommand(f":new takes no {' '.join(words)!r}: {NEW_USAGE}")


def complete(
    line: str,
    *,
    namespaces: Iterable[str] = (),
    contexts: Iterable[str] = (),
    templates: Iterable[str] = (),
) -> list[str]:
    """Whole-line candidates for what has been typed (without the ':').

    The first word completes to aliases; the argument completes to namespaces (plus `all`)
    for namespaced views, to contexts for `:ctx`, to template names after
    `:new --template`. Candidates keep their order: canonical names before other aliases,
    then sorted names.
    """
    text = line.lstrip(":")
    words = text.split()
    if not words or (len(words) == 1 and not text.endswith(" ")):
        prefix = words[0].lower() if words else ""
        return [alias for alias in aliases() if alias.startswith(prefix)]
    try:
        view = view_named(words[0])
    except KeyError:
        return []
    rest = words[1:]
    if view.name == "new" and rest and rest[0] in ("--template", "-t"):
        if len(rest) == 2 and not text.endswith(" ") or len(rest) == 1 and text.endswith(" "):
            start = rest[1] if len(rest) == 2 else ""
            return [
                f"{words[0]} {rest[0]} {name}"
                for name in sorted(set(templates))
                if name.startswith(start)
            ]
        return []
    if len(words) > 2 or (len(words) == 2 and text.endswith(" ")):
        return []
    prefix = words[1] if len(words) == 2 else ""
    if view.name == "new":
        return [f"{words[0]} {o}" for o in ("--template ", "--yaml") if o.startswith(prefix)]
    if view.name == "ctx":
        pool: list[str] = sorted(set(contexts))
    elif view.namespaced:
        pool = ["all", *sorted(set(namespaces))]
    else:
        return []
    return [f"{words[0]} {name}" for name in pool if name.startswith(prefix)]


def common_prefix(candidates: Sequence[str]) -> str:
    """The longest prefix all candidates share ('' for none): what tab can fill in safely."""
    if not candidates:
        return ""
    first, last = min(candidates), max(candidates)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


@dataclass(frozen=True)
class Location:
    """A place in the UI: a view and its namespace (None: all namespaces)."""

    view: str
    namespace: str | None = None

    def describe(self) -> str:
        where = "all namespaces" if self.namespace is None else self.namespace
        return f":{self.view} {where}" if view_named(self.view).namespaced else f":{self.view}"


@dataclass
class History:
    """Visited locations with a cursor: back/forward like a browser, last like `cd -`.

    Visiting a new place drops the forward part, as browsers do. Repeating the current
    location is not recorded (pressing `:vm` twice should not need two `[`).
    """

    limit: int = 50
    entries: list[Location] = field(default_factory=list)
    index: int = -1
    # Where we were just before the current location, for `-`.
    previous: Location | None = None

    @property
    def current(self) -> Location | None:
        return self.entries[self.index] if 0 <= self.index < len(self.entries) else None

    def visit(self, location: Location) -> None:
        if self.current == location:
            return
        previous = self.current
        del self.entries[self.index + 1 :]
        self.entries.append(location)
        if len(self.entries) > self.limit:
            del self.entries[0]
        self.index = len(self.entries) - 1
        self.previous = previous

    def back(self) -> Location | None:
        """Step back; None (and no move) at the oldest entry."""
        if self.index <= 0:
            return None
        self.previous = self.current
        self.index -= 1
        return self.current

    def forward(self) -> Location | None:
        """Step forward; None (and no move) at the newest entry."""
        if self.index >= len(self.entries) - 1:
            return None
        self.previous = self.current
        self.index += 1
        return self.current

    def last(self) -> Location | None:
        """The place before the current one (whatever way we came), recorded as a visit."""
        target = self.previous
        if target is None or target == self.current:
            return None
        self.visit(target)
        return target


@dataclass
class Favourites:
    """Namespaces on the digit keys: 0 is all namespaces, 1-9 the most recently used."""

    namespaces: list[str] = field(default_factory=list)
    size: int = 9

    def use(self, namespace: str | None) -> None:
        """Record a namespace the user went to (most recent first; all is always 0)."""
        if not namespace:
            return
        if namespace in self.namespaces:
            self.namespaces.remove(namespace)
        self.namespaces.insert(0, namespace)
        del self.namespaces[self.size :]

    def slot(self, digit: int) -> tuple[bool, str | None]:
        """(found, namespace) for a digit key: (True, None) is all namespaces for 0."""
        if digit == 0:
            return True, None
        if 1 <= digit <= len(self.namespaces):
            return True, self.namespaces[digit - 1]
        return False, None

    def labels(self) -> list[tuple[int, str]]:
        """(digit, label) pairs for display, 0 first."""
        return [(0, "all"), *((i + 1, ns) for i, ns in enumerate(self.namespaces))]
