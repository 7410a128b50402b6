"""The `/` filter and the natural sort of list rows (tui.kubevirt.filters)."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from tui.kubevirt.filters import (
    filter_and_sort,
    is_fault,
    parse_age,
    parse_filter,
    search_text,
    sort_key,
)
from tui.kubevirt.vm import human_duration

CELLS = ["web-01", "vm-prod", "Running", "10.0.0.5"]


def test_substring_is_case_insensitive_over_every_cell() -> None:
    text = search_text(CELLS)
    assert parse_filter("WEB").matches(text)
    assert parse_filter("prod").matches(text)
    assert not parse_filter("stopped").matches(text)
    assert parse_filter("!stopped").matches(text)
    assert parse_filter("").matches(text) and not parse_filter("").active


def test_regex_when_metacharacters_and_errors_do_not_hide_rows() -> None:
    text = search_text(CELLS)
    assert parse_filter("^web-\\d+$").mode == "regex"
    assert parse_filter("^web-\\d+$").matches(text)
    assert parse_filter("Running|Starting").matches(text)
    assert not parse_filter("!run.ing").matches(text)
    broken = parse_filter("[a-")
    assert broken.error and "invalid regex" in broken.error
    assert broken.matches(text), "an unfinished regex filters nothing"


def test_label_selector() -> None:
    labels = {"app": "web", "tier": "front"}
    assert parse_filter("-l app=web").matches("", labels)
    assert not parse_filter("-l app=web,tier!=front").matches("", labels)
    assert parse_filter("!-l tier=db").matches("", labels)
    assert parse_filter("-l env in (a,b)").matches("", {"env": "a"})
    assert parse_filter("-l ==x").error
    assert parse_filter("-l").error


@given(st.text(max_size=20), st.lists(st.text(max_size=10), max_size=5))
def test_never_raises_and_invert_is_the_complement(query: str, cells: list[str]) -> None:
    text = search_text(cells)
    parsed = parse_filter(query)
    inverted = parse_filter("!" + query.lstrip("!")) if not query.startswith("!") else None
    result = parsed.matches(text, {})
    if inverted is not None and parsed.active and inverted.active:
        assert inverted.matches(text, {}) != result


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12))
def test_plain_text_matches_the_cells_it_comes_from(needle: str) -> None:
    cells = ["x" + needle.upper() + "y", "other"]
    assert parse_filter(needle).matches(search_text(cells))


@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_ages_sort_by_duration(seconds: int) -> None:
    text = human_duration(seconds)
    assert parse_age(text) is not None
    assert sort_key("AGE", text) <= sort_key("AGE", human_duration(seconds + 86400 * 400))


def test_natural_ordering() -> None:
    names = ["vm-10", "vm-2", "VM-1", "", "vm-1a"]
    assert sorted(names, key=lambda n: sort_key("NAME", n)) == [
        "VM-1",
        "vm-1a",
        "vm-2",
        "vm-10",
        "",
    ]
    assert sorted(["2Gi", "512Mi", "1G"], key=lambda q: sort_key("MEM", q)) == [
        "512Mi",
        "1G",
        "2Gi",
    ]
    ips = ["10.0.0.10", "10.0.0.9", "9.255.0.1", "::1"]
    assert sorted(ips, key=lambda ip: sort_key("IP", ip)) == sorted(
        ips, key=lambda ip: int(ipaddress.ip_address(ip)) + (0xFFFF00000000 if "." in ip else 0)
    )
    # Mixed kinds in one column still compare (a VCPU column: counts and instancetypes).
    assert sorted(["u1.small", "4", "2", ""], key=lambda v: sort_key("VCPU", v)) == [
        "2",
        "4",
        "u1.small",
        "",
    ]


@given(st.lists(st.text(max_size=8), max_size=20))
def test_sort_keys_of_one_column_always_compare(values: list[str]) -> None:
    for column in ("NAME", "AGE", "IP", "MEM"):
        sorted(values, key=lambda v, c=column: sort_key(c, v))


def test_faults_and_the_whole_pipeline() -> None:
    assert is_fault("error") and is_fault("running", restart_required=True)
    assert not is_fault("stopped")
    rows = [
        {"cells": ["web-2", "ns", "Running"], "labels": {"app": "web"}},
        {"cells": ["web-10", "ns", "Running"], "labels": {"app": "web"}},
        {"cells": ["db", "ns", "ErrorUnschedulable"], "labels": {"app": "db"}},
    ]
    columns = ["NAME", "NAMESPACE", "STATUS"]
    out = filter_and_sort(
        rows,
        lambda r: r["cells"],
        query=parse_filter("-l app=web"),
        labels=lambda r: r["labels"],
        columns=columns,
        sort_by=["NAME"],
        reverse=True,
    )
    assert [r["cells"][0] for r in out] == ["web-10", "web-2"]
    faults = filter_and_sort(
        rows,
        lambda r: r["cells"],
        keep=lambda r: is_fault("error" if "Error" in r["cells"][2] else ""),
    )
    assert [r["cells"][0] for r in faults] == ["db"]
