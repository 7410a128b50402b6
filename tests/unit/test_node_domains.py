"""Domain names, KubeVirt metadata, state words and rates: the pure part of `kvtui node`."""

from __future__ import annotations

import pytest

from tui.node.domains import (
    Rates,
    cpu_percent,
    domain_facts,
    human_duration,
    human_kib,
    human_rate,
    sparkline,
    split_name,
    state_words,
)

# What libvirt hands back for a domain KubeVirt defined: the metadata with a prefix, as
# libvirt stores a namespaced element (virt-launcher writes it with a default xmlns).
LIVE_XML = """<domain type='kvm' id='1'>
  <name>prod_web-01</name>
  <uuid>8f3c1c52-5d0e-4a8e-9b6b-6b1f0a2c7e01</uuid>
  <metadata>
    <kubevirt:kubevirt xmlns:kubevirt="http://kubevirt.io">
      <kubevirt:uid>0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e01</kubevirt:uid>
      <kubevirt:graceperiod>
        <kubevirt:deletionGracePeriodSeconds>30</kubevirt:deletionGracePeriodSeconds>
      </kubevirt:graceperiod>
      <kubevirt:migration>
        <kubevirt:uid>mig-1</kubevirt:uid>
        <kubevirt:startTimestamp>2026-11-28T23:59:00Z</kubevirt:startTimestamp>
      </kubevirt:migration>
    </kubevirt:kubevirt>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/var/run/kubevirt-private/vmi-disks/rootdisk/disk.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'>
      <mac address='02:6F:A1:00:00:01'/>
      <target dev='tap0' managed='no'/>
      <model type='virtio-non-transitional'/>
      <alias name='ua-default'/>
    </interface>
    <serial type='unix'>
      <source mode='bind' path='/var/run/kubevirt-private/u/virt-serial0'/>
      <log file='/var/run/kubevirt-private/u/virt-serial0-log' append='on'/>
      <target type='isa-serial' port='0'/>
    </serial>
    <console type='unix'>
      <source mode='bind' path='/var/run/kubevirt-private/u/virt-serial0'/>
      <target type='serial' port='0'/>
    </console>
  </devices>
</domain>"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prod_web-01", ("prod", "web-01")),
        ("default_testvmi", ("default", "testvmi")),
        ("plain-guest", ("", "plain-guest")),
        ("_odd", ("", "_odd")),
        ("odd_", ("", "odd_")),
        ("a_b_c", ("a", "b_c")),  # namespaces hold no `_`: the first one splits
    ],
)
def test_split_name(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected


def test_facts_from_live_kubevirt_xml() -> None:
    facts = domain_facts(LIVE_XML)
    assert facts.kubevirt
    assert facts.uid == "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e01"
    assert facts.migration == {"uid": "mig-1", "startTimestamp": "2026-11-28T23:59:00Z"}
    assert facts.grace_period == {"deletionGracePeriodSeconds": "30"}
    assert (facts.vcpus, facts.memory_kib, facts.current_memory_kib) == (2, 2097152, 1048576)
    assert [d.target for d in facts.disks] == ["vda"]
    assert facts.nics[0].mac == "02:6F:A1:00:00:01" and facts.nics[0].alias == "ua-default"
    serial = facts.serials[0]
    assert (serial.kind, serial.path, serial.log) == (
        "unix",
        "/var/run/kubevirt-private/u/virt-serial0",
        "/var/run/kubevirt-private/u/virt-serial0-log",
    )
    assert facts.console_kind == "unix"


def test_facts_from_the_xml_kubevirt_writes_default_namespace() -> None:
    xml = (
        LIVE_XML.replace(
            '<kubevirt:kubevirt xmlns:kubevirt="http://kubevirt.io">',
            '<kubevirt xmlns="http://kubevirt.io">',
        )
        .replace("kubevirt:", "")
        .replace("</kubevirt>\n  </metadata>", "</kubevirt>\n  </metadata>")
    )
    assert domain_facts(xml).uid == "0d6a1e6e-11aa-4c1f-8a51-7f6b3c0a9e01"


def test_foreign_metadata_is_not_kubevirt() -> None:
    xml = """<domain><name>x</name><metadata>
      <kubevirt xmlns="http://example.com/not-kubevirt"><uid>nope</uid></kubevirt>
      <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"/>
    </metadata></domain>"""
    assert domain_facts(xml).uid == ""


def test_units_and_garbage() -> None:
    xml = "<domain><memory unit='GiB'>8</memory><currentMemory unit='MiB'>512</currentMemory><vcpu>x</vcpu></domain>"
    facts = domain_facts(xml)
    assert (facts.memory_kib, facts.current_memory_kib, facts.vcpus) == (8 * 1024**2, 512 * 1024, 0)
    assert domain_facts("<domain").uid == ""  # malformed: empty, no exception
    assert domain_facts("").disks == ()


def test_state_words() -> None:
    assert state_words(1, 1) == "running (booted)"
    assert state_words(3, 2) == "paused (migrating)"
    assert state_words(3, 5) == "paused (I/O error)"
    assert state_words(5, 2) == "shut off (destroyed)"
    assert state_words(1, 0) == "running"
    assert state_words(42, 0) == "state 42"


def test_rates_from_counters() -> None:
    rates = Rates(history=3)
    rates.sample(10.0, {"cpu": 0, "rd": 1000})
    assert rates.rate("cpu") is None  # one sample: no rate yet
    rates.sample(12.0, {"cpu": 1_000_000_000, "rd": 5000})
    assert rates.rate("cpu") == 500_000_000
    assert rates.rate("rd") == 2000
    rates.sample(13.0, {"cpu": 500, "rd": 6000})  # the counter restarted (guest rebooted)
    assert rates.rate("rd") == 1000
    assert rates.series("rd") == (2000, 1000)
    for t in (14.0, 15.0, 16.0):
        rates.sample(t, {"rd": 6000})
    assert rates.series("rd") == (0, 0, 0)  # history is bounded
    rates.sample(17.0, {"rd": None})
    assert rates.rate("rd") is None


def test_cpu_percent_is_share_of_the_vcpus() -> None:
    assert cpu_percent(1e9, 1) == pytest.approx(100.0)
    assert cpu_percent(1e9, 4) == pytest.approx(25.0)
    assert cpu_percent(None, 2) is None
    assert cpu_percent(5e8, 0) == pytest.approx(50.0)


def test_human_formats() -> None:
    assert human_rate(None) == ""
    assert human_rate(812) == "812B"
    assert human_rate(1500) == "1.5K"
    assert human_rate(23 * 1024 * 1024) == "23M"
    assert human_kib(512 * 1024) == "512Mi"
    assert human_kib(2 * 1024**2) == "2Gi"
    assert human_kib(1536 * 1024) == "1.5Gi"
    assert human_kib(0) == ""
    assert human_duration(45) == "45s"
    assert human_duration(3 * 3600 + 240) == "3h4m"
    assert human_duration(None) == ""


def test_sparkline() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([0, 50, 100]) == "▁▄█"
    assert len(sparkline(range(100), width=8)) == 8
