"""The `:` command table, completion, history and favourites (tui.navigation), and the
generic list rows (tui.kubevirt.listing): pure code, no UI."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tui.cluster import kinds
from tui.kubevirt import listing
from tui.navigation import (
    VIEWS,
    Favourites,
    History,
    Location,
    UnknownCommand,
    common_prefix,
    complete,
    parse,
    view_named,
)

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)


# ---- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "view"),
    [
        ("vm", "vm"),
        ("vms", "vm"),
        ("virtualmachines", "vm"),
        ("vmi", "vmi"),
        ("ns", "ns"),
        ("namespaces", "ns"),
        ("tmpl", "tmpl"),
        ("templates", "tmpl"),
        ("it", "it"),
        ("instancetypes", "it"),
        ("pref", "pref"),
        ("preferences", "pref"),
        ("dv", "dv"),
        ("datavolumes", "dv"),
        ("snap", "snap"),
        ("snapshots", "snap"),
        ("vmim", "vmim"),
        ("migrations", "vmim"),
        ("ev", "ev"),
        ("events", "ev"),
        ("node", "node"),
        ("nodes", "node"),
        ("ctx", "ctx"),
        ("contexts", "ctx"),
        ("q", "q"),
        ("quit", "q"),
        ("VM", "vm"),
    ],
)
def test_every_alias_names_its_view(alias: str, view: str) -> None:
    assert parse(f":{alias}").view.name == view
    assert parse(alias).view.name == view


def test_every_view_kind_exists_in_the_kind_table() -> None:
    for view in VIEWS:
        for key in view.kinds:
            assert kinds.by_key(key).key == key


def test_namespace_argument() -> None:
    command = parse(":vm vm-prod")
    assert (command.view.name, command.namespace, command.all_namespaces) == (
        "vm",
        "vm-prod",
        False,
    )
    assert parse("vm").namespace is None and not parse("vm").all_namespaces


@pytest.mark.parametrize("word", ["-A", "all", "--all-namespaces"])
def test_all_namespaces(word: str) -> None:
    command = parse(f":dv {word}")
    assert command.all_namespaces and command.namespace is None


def test_ctx_takes_a_context_name() -> None:
    assert parse(":ctx kvtui-demo-viewer").argument == "kvtui-demo-viewer"
    assert parse(":ctx").argument is None
    assert parse(":q").quits


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (":nope", "Unknown command 'nope'"),
        (":", "Type a view name"),
        (":vm a b", "at most one argument"),
        (":ns vm-prod", "not namespaced"),
        (":q now", "takes no argument"),
    ],
)
def test_bad_lines_say_why(line: str, message: str) -> None:
    with pytest.raises(UnknownCommand, match=message):
        parse(line)


# ---- completion -------------------------------------------------------------------------


def test_completion_of_aliases_canonical_first() -> None:
    candidates = complete("v")
    assert candidates[:3] == ["vm", "vmi", "vmim"]
    assert "virtualmachines" in candidates
    assert complete("tm") == ["tmpl"]
    assert complete("zzz") == []


def test_completion_of_namespaces_and_contexts() -> None:
    namespaces = ["vm-prod", "vm-dev", "default"]
    assert complete("vm vm-", namespaces=namespaces) == ["vm vm-dev", "vm vm-prod"]
    assert complete("vm ", namespaces=namespaces)[0] == "vm all"
    assert complete("ctx kvtui-demo-v", contexts=["kvtui-demo", "kvtui-demo-viewer"]) == [
        "ctx kvtui-demo-viewer"
    ]
    assert complete("node x", namespaces=namespaces) == []


def test_common_prefix() -> None:
    assert common_prefix(["vm vm-dev", "vm vm-prod"]) == "vm vm-"
    assert common_prefix([]) == ""
    assert common_prefix(["tmpl"]) == "tmpl"


# ---- history and favourites ---------------------------------------------------------------


def test_history_back_forward_last() -> None:
    history = History()
    vm, dv, ns = Location("vm"), Location("dv", "vm-dev"), Location("ns")
    for location in (vm, dv, ns):
        history.visit(location)
    history.visit(ns)  # repeating the current place is not a new entry
    assert history.back() == dv
    assert history.back() == vm
    assert history.back() is None, "nothing before the first place"
    assert history.forward() == dv
    assert history.forward() == ns
    assert history.forward() is None
    assert history.last() == dv, "- goes to where we just were"
    assert history.last() == ns, "and - again comes back"


def test_history_visit_drops_the_forward_part() -> None:
    history = History()
    history.visit(Location("vm"))
    history.visit(Location("dv"))
    history.back()
    history.visit(Location("ev"))
    assert history.forward() is None
    assert history.back() == Location("vm")


def test_location_describe() -> None:
    assert Location("vm", None).describe() == ":vm all namespaces"
    assert Location("dv", "vm-dev").describe() == ":dv vm-dev"
    assert Location("ns").describe() == ":ns"
    assert view_named("namespaces").name == "ns"


def test_favourites_most_recent_first_zero_is_all() -> None:
    favourites = Favourites(size=3)
    for namespace in ("a", "b", "c", "a", None, "d"):
        favourites.use(namespace)
    assert favourites.namespaces == ["d", "a", "c"]
    assert favourites.slot(0) == (True, None)
    assert favourites.slot(1) == (True, "d")
    assert favourites.slot(3) == (True, "c")
    assert favourites.slot(4) == (False, None)
    assert favourites.labels()[0] == (0, "all")


# ---- list rows ------------------------------------------------------------------------------


def test_jsonpath_subset() -> None:
    obj = {"status": {"conditions": [{"type": "Ready", "status": "True"}], "ips": ["1.2.3.4"]}}
    assert listing.jsonpath(obj, ".status.conditions[?(@.type=='Ready')].status") == "True"
    assert listing.jsonpath(obj, ".status.ips[0]") == "1.2.3.4"
    assert listing.jsonpath(obj, ".status.ips[3]") is None
    assert listing.jsonpath(obj, ".spec.x") is None


def test_template_row_from_labels() -> None:
    template = {
        "metadata": {
            "name": "fedora-server-small",
            "namespace": "openshift",
            "uid": "u1",
            "creationTimestamp": "2026-07-01T11:00:00Z",
            "labels": {
                "os.template.kubevirt.io/fedora40": "true",
                "os.template.kubevirt.io/fedora39": "true",
                "workload.template.kubevirt.io/server": "true",
                "flavor.template.kubevirt.io/small": "true",
                "template.kubevirt.io/type": "base",
            },
            "annotations": {"openshift.io/display-name": "Fedora VM"},
        }
    }
    columns = listing.columns("tmpl", [kinds.TEMPLATES], all_namespaces=True)
    assert columns == ["NAME", "NAMESPACE", "OS", "WORKLOAD", "FLAVOR", "DISPLAY NAME", "AGE"]
    row = listing.row("tmpl", kinds.TEMPLATES, template, columns, now=NOW)
    assert row.key == "u1"
    assert row.cells == [
        "fedora-server-small",
        "openshift",
        "fedora39,fedora40",
        "server",
        "small",
        "Fedora VM",
        "60m",
    ]


def test_datavolume_progress_bar() -> None:
    assert listing.progress_bar("45.23%") == "████░░░░░░ 45.23%"
    assert listing.progress_bar("100.0%") == "██████████ 100.0%"
    assert listing.progress_bar("N/A") == "N/A"
    assert listing.progress_bar(None) == ""
    dv = {
        "metadata": {"name": "d", "namespace": "n"},
        "status": {"phase": "ImportInProgress", "progress": "45.23%", "restartCount": 0},
    }
    columns = listing.columns("dv", [kinds.DATAVOLUMES], all_namespaces=False)
    assert columns == ["NAME", "PHASE", "PROGRESS", "RESTARTS", "AGE"]
    row = listing.row("dv", kinds.DATAVOLUMES, dv, columns, now=NOW)
    assert row.cells[:4] == ["d", "ImportInProgress", "████░░░░░░ 45.23%", "0"]
    assert row.key == "datavolumes.cdi.kubevirt.io/n/d"


def test_instancetypes_mix_namespaced_and_cluster() -> None:
    both = [kinds.INSTANCETYPES, kinds.CLUSTER_INSTANCETYPES]
    columns = listing.columns("it", both, all_namespaces=False)
    assert columns == ["NAME", "NAMESPACE", "CPU", "MEMORY", "AGE"]
    cluster = {
        "metadata": {"name": "u1.small"},
        "spec": {"cpu": {"guest": 1}, "memory": {"guest": "2Gi"}},
    }
    row = listing.row("it", kinds.CLUSTER_INSTANCETYPES, cluster, columns, now=NOW)
    assert row.cells[:4] == ["u1.small", "<cluster>", "1", "2Gi"]


def test_printer_columns_for_other_views() -> None:
    columns = listing.columns("vmi", [kinds.VMIS], all_namespaces=False)
    assert columns == ["NAME", "PHASE", "IP", "NODENAME", "READY", "AGE"]
    vmi = {
        "metadata": {"name": "a"},
        "status": {
            "phase": "Running",
            "interfaces": [{"ipAddress": "10.0.0.5"}],
            "nodeName": "node-1",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    row = listing.row("vmi", kinds.VMIS, vmi, columns, now=NOW)
    assert row.cells[:5] == ["a", "Running", "10.0.0.5", "node-1", "True"]
    assert row.styles[1] == "green"
    assert listing.columns("ns", [kinds.NAMESPACES], all_namespaces=True) == [
        "NAME",
        "STATUS",
        "AGE",
    ]
    assert listing.columns("ev", [kinds.EVENTS], all_namespaces=False)[-1] == "LAST SEEN"
