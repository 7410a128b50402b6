"""The create-VM logic (tui/kubevirt/builder.py): validation, manifests, the way back, commands.

Every manifest `build_vm` makes from a form `validate_form` accepts must pass the demo's copy
of KubeVirt's admission rules and strict field validation; hypothesis generates the forms.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import shlex
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tui.demo.admission import admit
from tui.demo.schema import unknown_fields
from tui.demo.seed import seed_objects
from tui.kubevirt.builder import (
    CLOUD_INIT_MAX,
    BootSource,
    CloudInit,
    DiskSpec,
    FieldError,
    NicSpec,
    VmForm,
    build_vm,
    cloud_config,
    effective_run_strategy,
    equivalent_commands,
    form_from_vm,
    format_labels,
    image_problem,
    needs_start_call,
    parse_labels,
    parse_memory,
    parse_size,
    ssh_key_problem,
    to_yaml,
    validate_form,
)
from tui.kubevirt.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    dns_label_problem,
    dns_subdomain_problem,
    label_value_errors,
    qualified_name_errors,
    suggest_dns_label,
)
from tui.kubevirt.quantity import QUANTITY_PATTERN, parse_quantity
from tui.kubevirt.templates import process_template

MANIFESTS = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
FEDORA = "quay.io/containerdisks/fedora:41"


def manifest(name: str, index: int = -1, kind: str = "VirtualMachine") -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]
    return [d for d in docs if d.get("kind") == kind][index]


def fields(errors: list[FieldError]) -> dict[str, str]:
    return {e.field: e.message for e in errors}


def ssh_key(kind: str = "ssh-ed25519", payload: bytes = b"\x01" * 32, comment: str = "me@host"):
    blob = len(kind).to_bytes(4, "big") + kind.encode() + len(payload).to_bytes(4, "big") + payload
    return f"{kind} {base64.b64encode(blob).decode()} {comment}".strip()


def assert_admitted(vm: dict[str, Any]) -> None:
    result = admit("VirtualMachine", vm)
    assert result.allowed, result.causes
    assert unknown_fields("VirtualMachine", vm) == []
    for dvt in vm["spec"].get("dataVolumeTemplates") or []:
        dv = {"apiVersion": dvt.get("apiVersion", "cdi.kubevirt.io/v1beta1"), "kind": "DataVolume"}
        dv.update({"metadata": dvt["metadata"], "spec": dvt["spec"]})
        assert admit("DataVolume", dv).allowed, admit("DataVolume", dv).causes
        assert unknown_fields("DataVolume", dv) == []


def template_spec(vm: dict[str, Any]) -> dict[str, Any]:
    return vm["spec"]["template"]["spec"]


# --------------------------------------------------------------------------------------
# Quantities
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2Gi", "2Gi"),
        ("2048Mi", "2Gi"),
        ("2G", "2G"),
        ("1000M", "1G"),
        (" 1.5Gi ", "1536Mi"),
        ("1024M", "1024M"),
        ("1073741824", "1Gi"),
        ("2000000000", "2G"),
        ("1e9", "1G"),
        ("512Mi", "512Mi"),
    ],
)
def test_parse_memory_accepts_and_normalises(text: str, expected: str) -> None:
    assert parse_memory(text) == expected
    assert parse_quantity(expected) == parse_quantity(text.strip())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 GB", "'2 GB': use a number with a unit like 2Gi or 2048Mi (did you mean 2G or 2Gi?)"),
        ("2GB", "'2GB': use a number with a unit like 2Gi or 2048Mi (did you mean 2G or 2Gi?)"),
        ("2GiB", "'2GiB': use a number with a unit like 2Gi or 2048Mi (did you mean 2Gi?)"),
        ("2gi", "'2gi': use a number with a unit like 2Gi or 2048Mi (did you mean 2Gi?)"),
        ("lots", "'lots': use a number with a unit like 2Gi or 2048Mi"),
        ("", "enter a size with a unit, like 2Gi or 2048Mi"),
        ("0", "'0': must be more than zero"),
        ("-1Gi", "'-1Gi': must be more than zero"),
        ("2048", "'2048' is 2048 bytes: add a unit, like 2048Mi or 2048Gi"),
        ("512k", "'512k' is too small: at least 1M"),
        ("2m", "'2m': 'm' means a thousandth of a byte; did you mean 2Mi or 2M?"),
        ("1.0000001Ki", "'1.0000001Ki' is not a whole number of bytes"),
    ],
)
def test_parse_memory_rejects_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_memory(text)
    assert str(info.value) == message


def test_parse_size_minimum_and_normalising() -> None:
    assert parse_size("30Gi") == "30Gi"
    assert parse_size("10240Mi") == "10Gi"
    assert parse_size("1T") == "1T"
    with pytest.raises(ValueError, match="too small: at least 1Mi"):
        parse_size("100Ki")


_SUFFIXES = ["Ki", "Mi", "Gi", "Ti", "k", "M", "G", "T", ""]


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(_SUFFIXES))
def test_parse_memory_keeps_the_value(number: int, suffix: str) -> None:
    text = f"{number}{suffix}"
    try:
        out = parse_memory(text)
    except ValueError as exc:
        assert parse_quantity(text) < 10**6  # only too small is refused
        assert str(exc).startswith(f"'{text}'")
        return
    assert re.match(QUANTITY_PATTERN, out)
    assert parse_quantity(out) == parse_quantity(text)
    assert parse_memory(out) == out  # normalised once is normalised
    # a binary amount stays binary, a decimal one decimal
    if suffix.endswith("i"):
        assert out[-1] == "i"
    elif suffix:
        assert not out.endswith("i")


@given(st.text(max_size=12))
def test_parse_memory_never_fails_otherwise(text: str) -> None:
    try:
        out = parse_memory(text)
    except ValueError as exc:
        assert str(exc)
    else:
        assert parse_quantity(out) >= 10**6


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(4096), places=3))
def test_fractional_sizes(number: Decimal) -> None:
    text = f"{number}Gi"
    value = parse_quantity(text)
    if value != value.to_integral_value():
        with pytest.raises(ValueError, match="not a whole number of bytes"):
            parse_size(text)
    elif value >= 1024**2:
        assert parse_quantity(parse_size(text)) == value


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a name is required"),
        ("My-VM", "must be lowercase: try 'my-vm'"),
        ("my_vm", "can't contain '_' (use lowercase letters, digits and '-'): try 'my-vm'"),
        ("web 01", "can't contain a space (use lowercase letters, digits and '-'): try 'web-01'"),
        ("-web", "must start and end with a letter or digit: try 'web'"),
        ("a" * 64, "must be at most 63 characters (this one has 64)"),
        ("vm.one", "can't contain '.' (use lowercase letters, digits and '-'): try 'vm-one'"),
    ],
)
def test_name_messages(name: str, message: str) -> None:
    form = VmForm(name=name, boot=BootSource("container", image=FEDORA))
    assert fields(validate_form(form)).get("name") == message


def test_taken_name() -> None:
    form = VmForm(name="vm-x", namespace="vm-dev", boot=BootSource("container", image=FEDORA))
    errors = validate_form(form, taken_names={"vm-x", "other"})
    assert errors == [FieldError("name", "vm-x already exists in vm-dev")]


def test_taken_volume_for_the_boot_datavolume() -> None:
    form = VmForm(name="vm-x", namespace="vm-dev", boot=BootSource("blank", size="10Gi"))
    messages = fields(validate_form(form, taken_volumes={"vm-x"}))
    assert messages["name"].startswith("a DataVolume or PVC named vm-x already exists in vm-dev")


@given(st.text(alphabet="abcXYZ019-_. é", max_size=70))
def test_name_check_is_dns1123_label(name: str) -> None:
    form = VmForm(name=name, boot=BootSource("container", image=FEDORA))
    problem = fields(validate_form(form)).get("name")
    valid = bool(name) and not dns1123_label_errors(name)
    assert (problem is None) == valid
    if valid:
        assert_admitted(build_vm(form))
    elif name:
        assert problem == dns_label_problem(name)
        suggestion = suggest_dns_label(name)
        assert suggestion == "" or not dns1123_label_errors(suggestion)


# --------------------------------------------------------------------------------------
# Generated valid forms: validation agrees, admission and schema accept, the way back works
# --------------------------------------------------------------------------------------

# DNS-1123 labels, built rather than drawn from a regex (much faster to generate).
labels_ = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", max_size=20).map(
    lambda s: ("v" + s).rstrip("-")
)
quantities = st.one_of(
    st.builds(lambda n: f"{n}Gi", st.integers(1, 64)),
    st.builds(lambda n: f"{n}Mi", st.integers(64, 8192)),
    st.builds(lambda n: f"{n}G", st.integers(1, 64)),
    st.builds(lambda n: f"{n}M", st.integers(100, 8000)),
)
sizes = st.one_of(
    st.builds(lambda n: f"{n}Gi", st.integers(1, 500)), st.sampled_from(["512Mi", "1T", "30G"])
)
storage_classes = st.one_of(st.none(), st.sampled_from(["local-storage", "fast.ssd", "ceph-rbd"]))
images = st.sampled_from(
    [FEDORA, "quay.io/containerdisks/ubuntu:24.04", "registry:5000/kubevirt/alpine:devel", "alpine"]
)


@st.composite
def boot_sources(draw: Any) -> BootSource:
    kind = draw(
        st.sampled_from(
            ["container", "http", "registry", "datasource", "clone-pvc", "pvc", "blank", "pxe"]
        )
    )
    bus = draw(st.sampled_from(["virtio", "sata", "scsi"]))
    order = draw(st.sampled_from([1, None]))
    common = {"bus": bus, "boot_order": order}
    if kind == "container":
        return BootSource(kind, image=draw(images), **common)
    if kind == "http":
        url = draw(st.sampled_from(["https://example.com/f.qcow2", "http://10.0.0.1:8080/x.img"]))
        return BootSource(kind, url=url, size=draw(sizes), storage_class=draw(storage_classes))
    if kind == "registry":
        return BootSource(kind, url="docker://" + draw(images), size=draw(sizes), **common)
    if kind == "datasource":
        ns = draw(st.one_of(st.none(), st.just("kubevirt-os-images")))
        size = draw(st.one_of(st.none(), sizes))
        return BootSource(kind, name=draw(labels_), namespace=ns, size=size, **common)
    if kind == "clone-pvc":
        return BootSource(kind, name=draw(labels_), namespace=draw(labels_), **common)
    if kind == "pvc":
        return BootSource(kind, claim=draw(labels_), **common)
    if kind == "blank":
        return BootSource(kind, size=draw(sizes), storage_class=draw(storage_classes), **common)
    return BootSource("pxe")


@st.composite
def extra_disks(draw: Any) -> list[DiskSpec]:
    names = draw(
        st.lists(st.sampled_from(["data", "scratch", "logs", "db"]), unique=True, max_size=3)
    )
    disks = []
    for name in names:
        source = draw(st.sampled_from(["blank", "pvc", "container"]))
        bus = draw(st.sampled_from(["virtio", "sata", "scsi"]))
        if source == "blank":
            disks.append(
                DiskSpec(name, "blank", draw(sizes), bus, storage_class=draw(storage_classes))
            )
        elif source == "pvc":
            disks.append(DiskSpec(name, "pvc", None, bus, claim_name=draw(labels_)))
        else:
            disks.append(DiskSpec(name, "container", None, bus, image=draw(images)))
    return disks


macs = st.builds(
    lambda b: ":".join(f"{x:02x}" for x in [0x02, *b]),
    st.lists(st.integers(0, 255), min_size=5, max_size=5),
)


@st.composite
def nic_lists(draw: Any, need_one: bool) -> list[NicSpec]:
    nics = []
    if draw(st.booleans()) or need_one:
        nics.append(NicSpec("default", "pod", draw(st.sampled_from(["masquerade", "bridge"]))))
    for idx in range(draw(st.integers(0, 2))):
        network = draw(st.sampled_from(["br-net", "vm-dev/br-net", "storage.net"]))
        nics.append(NicSpec(f"nic{idx}", network, "bridge"))
    if not nics and need_one:
        nics.append(NicSpec("default"))
    used: set[str] = set()
    for nic in nics:
        nic.model = draw(st.sampled_from(["virtio", "e1000e", "rtl8139"]))
        mac = draw(st.one_of(st.none(), macs))
        if mac and mac not in used:
            nic.mac = mac
            used.add(mac)
    return nics


ssh_keys = st.builds(
    lambda kind, payload, comment: ssh_key(kind, payload, comment),
    st.sampled_from(["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"]),
    st.binary(min_size=8, max_size=64),
    st.sampled_from(["", "me@host", "laptop key"]),
)
passwords = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20
)
cloud_inits = st.one_of(
    st.none(),
    st.builds(
        CloudInit,
        user=st.one_of(st.none(), st.sampled_from(["fedora", "cloud-user", "_svc", "root"])),
        password=passwords,
        ssh_keys=st.lists(ssh_keys, max_size=2),
    ),
    st.builds(lambda keys: CloudInit(ssh_keys=keys), st.lists(ssh_keys, min_size=1, max_size=2)),
    st.builds(
        lambda host: CloudInit(raw_user_data=f"#cloud-config\nhostname: {host}\npackages: [git]\n"),
        labels_,
    ),
    st.just(CloudInit(raw_user_data="#!/bin/sh\necho hello > /tmp/hello\n")),
)


@st.composite
def forms(draw: Any) -> VmForm:
    boot = draw(boot_sources())
    name = draw(labels_)
    assume(len(name) <= 40)
    form = VmForm(
        name=name,
        namespace=draw(st.sampled_from(["", "default", "vm-dev"])),
        description=draw(st.sampled_from(["", "A test VM", "Build box: ci"])),
        labels=draw(
            st.dictionaries(
                st.sampled_from(["app", "tier", "env", "example.com/team"]), labels_, max_size=3
            )
        ),
        boot=boot,
        disks=draw(extra_disks()),
        nics=draw(nic_lists(need_one=boot.kind == "pxe")),
        cloud_init=draw(cloud_inits),
        run_strategy=draw(st.sampled_from(["Always", "Halted", "Manual", "RerunOnFailure"])),
        start_after_create=draw(st.booleans()),
        termination_grace_period=draw(st.sampled_from([None, 0, 180, 3600])),
    )
    if draw(st.booleans()):
        kind = draw(
            st.sampled_from(["VirtualMachineClusterInstancetype", "VirtualMachineInstancetype"])
        )
        form.instancetype = (kind, draw(st.sampled_from(["u1.medium", "cmedium", "n1.large"])))
        form.sockets = form.cores = form.threads = None
        form.memory = None
    else:
        form.sockets = draw(st.one_of(st.none(), st.integers(1, 4)))
        form.cores = draw(st.one_of(st.none(), st.integers(1, 4)))
        form.threads = draw(st.one_of(st.none(), st.integers(1, 2)))
        form.memory = draw(quantities)
    if draw(st.booleans()):
        kind = draw(
            st.sampled_from(["VirtualMachineClusterPreference", "VirtualMachinePreference"])
        )
        form.preference = (kind, draw(st.sampled_from(["fedora", "windows.11", "rhel.9"])))
    return form


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forms())
def test_valid_forms_make_admitted_vms(form: VmForm) -> None:
    assert validate_form(form) == []
    vm = build_vm(form)
    assert_admitted(vm)
    spec = vm["spec"]
    assert spec["runStrategy"] == effective_run_strategy(form)
    labels = spec["template"]["metadata"]["labels"]
    assert labels["kubevirt.io/domain"] == labels["vm.kubevirt.io/name"] == form.name
    domain = template_spec(vm)["domain"]
    if form.instancetype:
        assert "memory" not in domain and "cpu" not in domain
        assert spec["instancetype"]["name"] == form.instancetype[1]
    else:
        assert domain["memory"]["guest"] == parse_memory(form.memory)
    disks = domain["devices"]["disks"]
    volumes = {v["name"] for v in template_spec(vm)["volumes"]}
    assert [d["name"] for d in disks if d["name"] not in volumes] == []
    orders = [d["bootOrder"] for d in disks if "bootOrder" in d]
    orders += [i["bootOrder"] for i in domain["devices"]["interfaces"] if "bootOrder" in i]
    assert len(orders) == len(set(orders))
    if form.boot.kind == "pxe":
        assert domain["devices"]["interfaces"][0]["bootOrder"] == 1
        assert "rootdisk" not in volumes


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forms())
def test_built_vms_come_back_as_their_form(form: VmForm) -> None:
    vm = build_vm(form)
    back = form_from_vm(vm)
    expected = copy.deepcopy(form)
    expected.start_after_create = False
    expected.run_strategy = effective_run_strategy(form)
    if expected.memory:
        expected.memory = parse_memory(expected.memory)
    if expected.cloud_init is not None and not any(
        [expected.cloud_init.user, expected.cloud_init.password]
    ):
        expected.cloud_init.user = None
    assert back == expected
    assert build_vm(back) == vm  # and building again changes nothing
    assert back.base is not None


# --------------------------------------------------------------------------------------
# Specific rules
# --------------------------------------------------------------------------------------


def base_form(**kwargs: Any) -> VmForm:
    values: dict[str, Any] = {"name": "vm1", "boot": BootSource("container", image=FEDORA)}
    values.update(kwargs)
    return VmForm(**values)


@pytest.mark.parametrize(
    ("mac", "message"),
    [
        ("02:00:00:ab:cd:ef", None),
        ("02-00-00-AB-CD-EF", None),
        ("02:00:00:ab:cd", "'02:00:00:ab:cd' is not a MAC address like 02:00:00:ab:cd:ef"),
        ("0200.00ab.cdef", "'0200.00ab.cdef' is not a MAC address like 02:00:00:ab:cd:ef"),
        ("zz:00:00:ab:cd:ef", "'zz:00:00:ab:cd:ef' is not a MAC address like 02:00:00:ab:cd:ef"),
        (
            "02:00:00:00:00:00:00:01",
            "'02:00:00:00:00:00:00:01' is not a MAC address like 02:00:00:ab:cd:ef",
        ),
        (
            "01:00:5e:00:00:01",
            "the first byte must be even: a multicast address can't be a NIC's "
            "(02:… is a safe local prefix)",
        ),
    ],
)
def test_mac_format(mac: str, message: str | None) -> None:
    form = base_form(nics=[NicSpec("default", mac=mac)])
    assert fields(validate_form(form)).get("nics[0].mac") == message
    if message is None:
        assert_admitted(build_vm(form))


@given(st.text(alphabet="0123456789abcdefABCDEF:-.xz", max_size=20))
def test_any_mac_the_form_accepts_is_admitted(mac: str) -> None:
    form = base_form(nics=[NicSpec("default", mac=mac)])
    if "nics[0].mac" not in fields(validate_form(form)):
        assert_admitted(build_vm(form))


def test_duplicate_disk_and_nic_names() -> None:
    form = base_form(
        disks=[
            DiskSpec("data", size="1Gi"),
            DiskSpec("data", size="2Gi"),
            DiskSpec("rootdisk", "pvc", claim_name="c"),
        ],
        nics=[NicSpec("default"), NicSpec("default", "br-net", "bridge")],
        cloud_init=CloudInit(user="fedora", disk_name="data"),
    )
    messages = fields(validate_form(form))
    assert messages["disks[0].name"] == "'data' is already used by the cloud-init disk"
    assert messages["disks[1].name"] == "'data' is already used by the cloud-init disk"
    assert messages["disks[2].name"] == "'rootdisk' is already used by the boot disk"
    assert messages["nics[1].name"] == "'default' is already used by nics[0]"


def test_one_pod_network_and_masquerade_only_on_pod() -> None:
    form = base_form(
        nics=[
            NicSpec("a", "pod", "masquerade"),
            NicSpec("b", "pod", "bridge"),
            NicSpec("c", "vm-dev/br-net", "masquerade"),
        ]
    )
    messages = fields(validate_form(form))
    assert messages["nics[1].network"] == "only one NIC can be on the pod network (nics[0] is)"
    assert messages["nics[2].binding"] == (
        "masquerade works only on the pod network: use bridge for a NetworkAttachmentDefinition"
    )
    # and what the form refuses, KubeVirt refuses too
    assert not admit("VirtualMachine", build_vm(form)).allowed


def test_pxe_needs_a_nic_and_boots_it_first() -> None:
    form = base_form(boot=BootSource("pxe"), nics=[])
    assert fields(validate_form(form)) == {
        "boot.kind": "PXE boot needs a network interface: add one under NICs"
    }
    form = base_form(
        boot=BootSource("pxe"),
        nics=[NicSpec("default"), NicSpec("prov", "vm-dev/pxe-net", "bridge")],
        disks=[DiskSpec("install", size="20Gi")],
    )
    assert validate_form(form) == []
    vm = build_vm(form)
    assert_admitted(vm)
    devices = template_spec(vm)["domain"]["devices"]
    assert devices["interfaces"][0]["bootOrder"] == 1
    assert "bootOrder" not in devices["interfaces"][1]
    # after the network install, the VM boots from its disk
    assert devices["disks"] == [{"name": "install", "disk": {"bus": "virtio"}, "bootOrder": 2}]
    assert form_from_vm(vm) == form


def test_boot_disk_has_boot_order_one() -> None:
    vm = build_vm(base_form(disks=[DiskSpec("data", size="1Gi")]))
    disks = template_spec(vm)["domain"]["devices"]["disks"]
    assert disks[0] == {"name": "rootdisk", "disk": {"bus": "virtio"}, "bootOrder": 1}
    assert "bootOrder" not in disks[1]


def test_duplicate_boot_order() -> None:
    form = base_form(disks=[DiskSpec("data", size="1Gi", boot_order=1)])
    assert fields(validate_form(form)) == {
        "disks[0].boot_order": "boot order 1 is already taken by the boot disk"
    }


def test_instancetype_excludes_custom_cpu_and_memory() -> None:
    form = base_form(instancetype=("VirtualMachineClusterInstancetype", "u1.medium"))
    messages = fields(validate_form(form))
    assert messages["memory"] == "the instancetype sets the memory: leave this empty"
    assert messages["sockets"] == "the instancetype sets the CPUs: leave this empty"
    form.sockets = form.cores = form.threads = None
    form.memory = None
    assert validate_form(form) == []
    vm = build_vm(form)
    assert_admitted(vm)
    assert vm["spec"]["instancetype"] == {
        "kind": "VirtualMachineClusterInstancetype",
        "name": "u1.medium",
    }
    assert "cpu" not in template_spec(vm)["domain"]


def test_custom_size_needs_memory() -> None:
    form = base_form(memory="", sockets=0)
    messages = fields(validate_form(form))
    assert messages["memory"] == "memory is required, like 2Gi (or choose an instancetype)"
    assert messages["sockets"] == "must be a whole number, 1 or more"
    form = base_form(memory="2 GB")
    assert fields(validate_form(form))["memory"].startswith(
        "'2 GB': use a number with a unit like 2Gi or 2048Mi"
    )


def test_cloud_init_password_and_keys() -> None:
    form = base_form(
        cloud_init=CloudInit(
            user="Fedora",
            password="two\nlines",
            ssh_keys=[ssh_key(), "-----BEGIN OPENSSH PRIVATE KEY-----", "ssh-rsa AAAA"],
        )
    )
    messages = fields(validate_form(form))
    assert messages["cloud_init.user"].startswith("a user name is up to 32 lowercase letters")
    assert messages["cloud_init.password"] == "the password must be one line"
    assert "cloud_init.ssh_keys[0]" not in messages
    assert messages["cloud_init.ssh_keys[1]"].startswith("this is a private key")
    assert messages["cloud_init.ssh_keys[2]"] == (
        "the key data does not match its type 'ssh-rsa' (was the key cut short?)"
    )
    assert fields(validate_form(base_form(cloud_init=CloudInit()))) == {
        "cloud_init": "set a user, a password or an SSH key (or turn cloud-init off)"
    }


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        (ssh_key(), True),
        (ssh_key("ssh-rsa", b"\x00\x01\x00\x01" * 10), True),
        ("ssh-ed25519", False),
        ("not a key", False),
        ("no-pty " + ssh_key(), False),
        (ssh_key()[:30], False),
    ],
)
def test_ssh_key_problem(key: str, ok: bool) -> None:
    assert (ssh_key_problem(key) is None) == ok


def test_raw_user_data_checks() -> None:
    def problem(text: str) -> str | None:
        return fields(validate_form(base_form(cloud_init=CloudInit(raw_user_data=text)))).get(
            "cloud_init.raw_user_data"
        )

    assert problem("#cloud-config\npackages: [git]\n") is None
    assert problem("#!/bin/bash\necho hi\n") is None
    assert problem("packages: [git]\n") == (
        "user data must start with #cloud-config (or #! for a script)"
    )
    assert problem("#cloud-config\npackages: [git\n").startswith("not valid YAML at line 3")
    assert problem("#cloud-config\nx: " + "y" * CLOUD_INIT_MAX) == (
        f"the user data is {CLOUD_INIT_MAX + 17} bytes; KubeVirt takes at most {CLOUD_INIT_MAX}"
    )
    both = base_form(cloud_init=CloudInit(user="me", raw_user_data="#cloud-config\n"))
    assert "not both" in fields(validate_form(both))["cloud_init.raw_user_data"]


def test_cloud_config_matches_virtctl_and_quotes_what_yaml_would_misread() -> None:
    # virtctl's buildCloudInitConfig, line for line
    assert cloud_config("fedora", "s3cret", [ssh_key()]) == (
        "#cloud-config\nuser: fedora\npassword: s3cret\nchpasswd: { expire: False }\n"
        f"ssh_authorized_keys:\n  - {ssh_key()}"
    )
    for password in ("yes", "1234", "a: b", "#x", "'q", "[x]", "null"):
        data = yaml.safe_load(cloud_config(None, password, []))
        assert data["password"] == password


@pytest.mark.parametrize(
    ("boot", "field", "message"),
    [
        (
            BootSource("container", image="docker://quay.io/x"),
            "boot.image",
            "write the image without a scheme, like quay.io/containerdisks/fedora:41",
        ),
        (
            BootSource("container", image="Quay.io/Fedora"),
            "boot.image",
            "image repository names are lowercase",
        ),
        (
            BootSource("http", url="ftp://x/y", size="1Gi"),
            "boot.url",
            "use an http:// or https:// URL, like https://example.com/disk.qcow2",
        ),
        (BootSource("http", url="https://x/y"), "boot.size", "a size is required, like 30Gi"),
        (
            BootSource("registry", url="quay.io/containerdisks/fedora:41", size="5Gi"),
            "boot.url",
            "add docker:// in front: docker://quay.io/containerdisks/fedora:41",
        ),
        (
            BootSource("clone-pvc", name="golden"),
            "boot.namespace",
            "the namespace of the PVC to clone is required",
        ),
        (BootSource("pvc"), "boot.claim", "PVC name is required"),
        (
            BootSource("blank", size="2 GB"),
            "boot.size",
            "'2 GB': use a number with a unit like 2Gi or 2048Mi (did you mean 2G or 2Gi?)",
        ),
        (
            BootSource("container", image=FEDORA, device="cdrom", bus="virtio"),
            "boot.bus",
            "a CD-ROM can't use the virtio bus: use sata",
        ),
        (
            BootSource("container", image=FEDORA, bus="ide"),
            "boot.bus",
            "choose one of virtio, sata, scsi, usb",
        ),
    ],
)
def test_boot_source_messages(boot: BootSource, field: str, message: str) -> None:
    assert fields(validate_form(base_form(boot=boot))).get(field) == message


def test_datasource_size_is_optional() -> None:
    form = base_form(boot=BootSource("datasource", name="fedora", namespace="kubevirt-os-images"))
    assert validate_form(form) == []
    vm = build_vm(form)
    assert_admitted(vm)
    assert vm["spec"]["dataVolumeTemplates"] == [
        {
            "apiVersion": "cdi.kubevirt.io/v1beta1",
            "kind": "DataVolume",
            "metadata": {"name": "vm1"},
            "spec": {
                "sourceRef": {
                    "kind": "DataSource",
                    "name": "fedora",
                    "namespace": "kubevirt-os-images",
                },
                "storage": {},
            },
        }
    ]


def test_import_datavolume_shape() -> None:
    form = base_form(
        boot=BootSource(
            "http", url="https://example.com/f.qcow2", size="20Gi", storage_class="local-storage"
        ),
        disks=[DiskSpec("data", size="10240Mi")],
    )
    vm = build_vm(form)
    dvts = vm["spec"]["dataVolumeTemplates"]
    assert dvts[0]["metadata"] == {"name": "vm1"}
    assert dvts[0]["spec"] == {
        "source": {"http": {"url": "https://example.com/f.qcow2"}},
        "storage": {
            "resources": {"requests": {"storage": "20Gi"}},
            "storageClassName": "local-storage",
        },
    }
    assert dvts[1]["metadata"] == {"name": "vm1-data"}
    assert dvts[1]["spec"] == {
        "source": {"blank": {}},
        "storage": {"resources": {"requests": {"storage": "10Gi"}}},
    }
    assert template_spec(vm)["volumes"][:2] == [
        {"name": "rootdisk", "dataVolume": {"name": "vm1"}},
        {"name": "data", "dataVolume": {"name": "vm1-data"}},
    ]


def test_labels_description_rng_and_no_nic() -> None:
    form = base_form(
        labels={"app": "web", "Bad Key": "x", "tier": "-x"}, description=" Web ", nics=[]
    )
    messages = validate_form(form)
    assert [e.field for e in messages] == ["labels", "labels"]
    form.labels = {"app": "web"}
    vm = build_vm(form)
    assert_admitted(vm)
    assert vm["metadata"]["labels"] == {"app": "web"}
    assert vm["metadata"]["annotations"] == {"description": "Web"}
    devices = template_spec(vm)["domain"]["devices"]
    assert devices["rng"] == {}
    assert devices["autoattachPodInterface"] is False
    assert devices["interfaces"] == [] and "networks" not in template_spec(vm)


def test_label_checks() -> None:
    assert qualified_name_errors("app.kubernetes.io/name") == []
    assert qualified_name_errors("/x") == ["prefix part must be non-empty"]
    assert qualified_name_errors("a/b/c")[0].startswith("a qualified name must consist")
    assert qualified_name_errors("-x")[0].startswith("name part must consist")
    assert label_value_errors("") == []
    assert label_value_errors("x" * 64)[0] == "must be no more than 63 characters"
    assert label_value_errors("-x")[0].startswith("a valid label must be an empty string")


@given(st.text(alphabet="abcXY01-_./ ", max_size=30))
def test_subdomain_messages_and_suggestions(value: str) -> None:
    problem = dns_subdomain_problem(value)
    assert (problem is None) == (value == "" or not dns1123_subdomain_errors(value))
    if problem and ": try '" in problem:
        suggestion = problem.rsplit(": try '", 1)[1][:-1]
        assert dns1123_subdomain_errors(suggestion) == []


@given(st.text(alphabet="0123456789.,KMGTPEikmgb -", max_size=8))
def test_disk_sizes_the_form_accepts_are_admitted(size: str) -> None:
    form = base_form(disks=[DiskSpec("data", "blank", size)])
    problem = fields(validate_form(form)).get("disks[0].size")
    try:
        parse_size(size)
    except ValueError as exc:
        assert problem == (str(exc) if size.strip() else "a size is required, like 30Gi")
    else:
        assert problem is None
        assert_admitted(build_vm(form))


def test_parse_labels() -> None:
    assert parse_labels("app=web, tier=db\nenv = prod") == {
        "app": "web",
        "tier": "db",
        "env": "prod",
    }
    assert format_labels({"app": "web", "tier": "db"}) == "app=web, tier=db"
    assert parse_labels("") == {}
    with pytest.raises(ValueError, match="'web': write labels as key=value"):
        parse_labels("app=x, web")


def test_run_strategy_and_start_after_create() -> None:
    cases = [
        ("Halted", False, "Halted", False),
        ("Halted", True, "Always", False),
        ("Always", False, "Always", False),
        ("Manual", True, "Manual", True),
        ("RerunOnFailure", True, "RerunOnFailure", False),
    ]
    for strategy, start, written, call in cases:
        form = base_form(run_strategy=strategy, start_after_create=start)
        assert build_vm(form)["spec"]["runStrategy"] == written
        assert needs_start_call(form) is call
    assert fields(validate_form(base_form(run_strategy="Sometimes")))["run_strategy"]


def test_image_problem() -> None:
    assert image_problem("quay.io/containerdisks/fedora:41") is None
    assert image_problem("registry:5000/kubevirt/alpine-container-disk-demo:devel") is None
    assert image_problem("fedora@sha256:" + "a" * 64) is None
    assert image_problem("") == "an image is required, like quay.io/containerdisks/fedora:41"
    assert image_problem("quay.io/fedora 41").startswith("'quay.io/fedora 41' is not an image")


def test_invalid_forms_still_preview() -> None:
    form = base_form(name="Bad Name", memory="lots", boot=BootSource("blank", size="big"))
    vm = build_vm(form)  # never raises: the YAML preview draws what was typed
    assert template_spec(vm)["domain"]["memory"]["guest"] == "lots"
    assert validate_form(form)


# --------------------------------------------------------------------------------------
# Templates and other people's VMs
# --------------------------------------------------------------------------------------


def test_common_template_vm_maps_to_an_equivalent_form() -> None:
    template = manifest("04-template-fedora-server-small.yaml", kind="Template")
    vm = process_template(template, rng=random.Random(7))["objects"][0]
    form = form_from_vm(vm)
    assert validate_form(form) == []
    assert form.boot == BootSource(
        "datasource", name="fedora", namespace="kubevirt-os-images", size="30Gi", boot_order=None
    )
    assert form.cloud_init is not None and form.cloud_init.user == "fedora"
    assert form.memory == "2Gi" and (form.sockets, form.cores, form.threads) == (1, 1, 1)
    built = build_vm(form)
    assert_admitted(built)
    # Everything equal, but for the vm.kubevirt.io/name label the builder always writes.
    expected = copy.deepcopy(vm)
    expected["spec"]["template"]["metadata"]["labels"]["vm.kubevirt.io/name"] = form.name
    assert built == expected

    # Customising keeps the template's own settings and renames what follows the name.
    form.name = "my-fedora"
    form.boot.size = "40Gi"
    form.memory = "4Gi"
    form.disks.append(DiskSpec("data", size="5Gi"))
    custom = build_vm(form)
    assert_admitted(custom)
    tspec = template_spec(custom)
    assert tspec["domain"]["firmware"] == {"bootloader": {"efi": {}}}
    assert tspec["domain"]["memory"] == {"guest": "4Gi"}
    assert [t["metadata"]["name"] for t in custom["spec"]["dataVolumeTemplates"]] == [
        "my-fedora",
        "my-fedora-data",
    ]
    assert custom["spec"]["dataVolumeTemplates"][0]["spec"]["sourceRef"]["name"] == "fedora"
    assert tspec["volumes"][0] == {"name": "rootdisk", "dataVolume": {"name": "my-fedora"}}
    assert custom["metadata"]["annotations"]["vm.kubevirt.io/validations"]


def _templates_and_vms() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for obj in seed_objects():
        if obj.get("kind") == "Template":
            processed = process_template(obj, rng=random.Random(3))
            out.append((f"template {obj['metadata']['name']}", processed["objects"][0]))
        elif obj.get("kind") == "VirtualMachine":
            out.append((f"vm {obj['metadata']['name']}", obj))
    for name in (
        "00-product-sample-vm.yaml",
        "01-vm-fedora-testvm.yaml",
        "02-vm-fedora-instancetype.yaml",
        "03-vm-alpine-datavolume.yaml",
        "07-datavolume-and-datasource.yaml",
    ):
        out.append((name, manifest(name)))
    out.append(("08-vm-nic-hotplug-and-nad.yaml", manifest("08-vm-nic-hotplug-and-nad.yaml", 0)))
    return out


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {i["name"]: i for i in items}


@pytest.mark.parametrize(
    ("label", "vm"), _templates_and_vms(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_any_vm_round_trips_through_the_form(label: str, vm: dict[str, Any]) -> None:
    form = form_from_vm(vm)
    built = build_vm(form)
    if admit("VirtualMachine", vm).allowed:
        assert_admitted(built)
    assert form_from_vm(built) == form
    assert build_vm(form_from_vm(built)) == built
    old, new = template_spec(vm), template_spec(built)
    # The same volumes, DataVolume templates and networks, source for source.
    assert _by_name(old.get("volumes") or []) == _by_name(new.get("volumes") or [])
    assert (vm["spec"].get("dataVolumeTemplates") or []) == (
        built["spec"].get("dataVolumeTemplates") or []
    )
    if old.get("networks"):
        assert _by_name(old["networks"]) == _by_name(new["networks"])
    # Disks too, where KubeVirt's defaults are now written out (a disk entry for a volume
    # without one, bus virtio).
    new_disks = _by_name(new["domain"]["devices"]["disks"])
    for name, disk in _by_name(old["domain"]["devices"].get("disks") or []).items():
        expected = copy.deepcopy(disk)
        if not any(k in expected for k in ("disk", "cdrom", "lun")):
            expected["disk"] = {}
        target = next(k for k in ("disk", "cdrom", "lun") if k in expected)
        expected[target].setdefault("bus", "sata" if target == "cdrom" else "virtio")
        assert new_disks[name] == expected


def test_windows_template_keeps_its_devices() -> None:
    template = next(
        o
        for o in seed_objects()
        if o.get("kind") == "Template" and "windows" in o["metadata"]["name"]
    )
    vm = process_template(template, rng=random.Random(5))["objects"][0]
    form = form_from_vm(vm)
    assert form.cloud_init is None
    assert form.boot.kind == "datasource" and form.boot.bus == "sata"
    assert form.nics == [NicSpec("default", model=form.nics[0].model)]
    built = build_vm(form)
    assert_admitted(built)
    assert template_spec(built)["domain"]["features"] == template_spec(vm)["domain"]["features"]
    assert template_spec(built)["terminationGracePeriodSeconds"] == 3600


def test_sample_vm_reads_as_the_article_shows_it() -> None:
    form = form_from_vm(manifest("00-product-sample-vm.yaml"))
    assert form.name == "vm-example" and form.namespace == "openshift-cnv"
    assert form.description == "VM example"
    assert form.memory == "1G"
    assert form.run_strategy == "Halted"  # from the deprecated running: false
    assert form.boot == BootSource(
        "container", image="quay.io/containerdisks/fedora:35", disk_name="containerdisk"
    )
    assert form.cloud_init == CloudInit(password="fedora")
    built = build_vm(form)
    assert "running" not in built["spec"] and built["spec"]["runStrategy"] == "Halted"
    assert template_spec(built)["domain"]["devices"]["networkInterfaceMultiqueue"] is True


def test_instancetype_example_kinds() -> None:
    form = form_from_vm(manifest("02-vm-fedora-instancetype.yaml"))
    assert form.instancetype == ("VirtualMachineInstancetype", "cmedium")
    assert form.preference == ("VirtualMachinePreference", "fedora")
    assert form.memory is None and form.sockets is None
    assert form.cloud_init is not None and form.cloud_init.disk_name == "cloudinit"
    assert form.cloud_init.ssh_keys == ["ssh-rsa AAAA..."]
    form_07 = form_from_vm(manifest("07-datavolume-and-datasource.yaml"))
    assert form_07.instancetype == ("infer", "cirros-volume")
    assert form_07.boot.kind == "datasource" and form_07.boot.dv_name == "cirros-datavolume"


def test_pxe_seed_vm() -> None:
    vm = next(o for o in seed_objects() if o.get("metadata", {}).get("name") == "pxe-installer")
    form = form_from_vm(vm)
    assert form.boot.kind == "pxe"
    built = build_vm(form)
    assert_admitted(built)
    assert template_spec(built)["domain"]["devices"]["interfaces"][0]["bootOrder"] == 1


# --------------------------------------------------------------------------------------
# Equivalent commands
# --------------------------------------------------------------------------------------

# `virtctl create vm` flags in KubeVirt v1.9.0 (pkg/virtctl/create/vm/vm.go), and the params
# of --volume-import by type (params.go).
VIRTCTL_FLAGS = {
    "--name",
    "--run-strategy",
    "--termination-grace-period",
    "--memory",
    "--instancetype",
    "--infer-instancetype",
    "--infer-instancetype-from",
    "--preference",
    "--infer-preference",
    "--infer-preference-from",
    "--volume-containerdisk",
    "--volume-pvc",
    "--volume-import",
    "--volume-sysprep",
    "--user",
    "--password-file",
    "--ssh-key",
    "--ga-manage-ssh",
    "--access-cred",
    "--cloud-init",
    "--cloud-init-user-data",
    "--cloud-init-network-data",
}
IMPORT_PARAMS = {
    "blank": {"size", "type", "name", "bootorder"},
    "http": {
        "certconfigmap",
        "extraheaders",
        "secretextraheaders",
        "secretref",
        "url",
        "size",
        "type",
        "name",
        "bootorder",
    },
    "registry": {
        "certconfigmap",
        "imagestream",
        "pullmethod",
        "secretref",
        "url",
        "size",
        "type",
        "name",
        "bootorder",
    },
    "pvc": {"name", "src", "size", "type", "bootorder"},
    "ds": {"name", "src", "size", "type", "bootorder"},
}
VOLUME_PARAMS = {"name", "src", "bootorder"}


def _params(value: str) -> dict[str, str]:
    return dict(p.split(":", 1) for p in value.split(","))


def emulate_virtctl(args: list[str]) -> dict[str, Any]:
    """What `virtctl create vm` prints for these args (the subset kvtui emits), after
    pkg/virtctl/create/vm/vm.go: flags in its processing order, disks only for boot orders,
    cloud-init last, preference inference unless switched off."""
    opts: dict[str, list[str]] = {}
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        if "=" in flag:
            flag, value = flag.split("=", 1)
        else:
            value = rest.pop(0)
        assert flag in VIRTCTL_FLAGS, flag
        opts.setdefault(flag, []).append(value)
    one = {k: v[-1] for k, v in opts.items()}
    spec: dict[str, Any] = {"runStrategy": one.get("--run-strategy", "Always")}
    domain: dict[str, Any] = {"devices": {}, "memory": {"guest": one.get("--memory", "512Mi")}}
    tspec = {
        "domain": domain,
        "terminationGracePeriodSeconds": int(one.get("--termination-grace-period", 180)),
    }
    volumes: list[dict] = []
    disks: list[dict] = []
    dvts: list[dict] = []

    def boot(name: str, params: dict[str, str]) -> None:
        if "bootorder" in params:
            disks.append({"name": name, "bootOrder": int(params["bootorder"])})

    for flag, matcher in (("--instancetype", "instancetype"), ("--preference", "preference")):
        if flag in one:
            kind, _, name = one[flag].rpartition("/")
            spec[matcher] = {"name": name, "kind": kind}
            if matcher == "instancetype":
                domain.pop("memory")
    for value in opts.get("--volume-containerdisk", []):
        p = _params(value)
        assert set(p) <= VOLUME_PARAMS
        volumes.append({"name": p["name"], "containerDisk": {"image": p["src"]}})
        boot(p["name"], p)
    for value in opts.get("--volume-pvc", []):
        p = _params(value)
        assert set(p) <= VOLUME_PARAMS and "/" not in p["src"]
        volumes.append({"name": p["name"], "persistentVolumeClaim": {"claimName": p["src"]}})
        boot(p["name"], p)
    for value in opts.get("--volume-import", []):
        p = _params(value)
        assert set(p) <= IMPORT_PARAMS[p["type"]], p
        dv_spec: dict[str, Any] = {}
        if p["type"] in ("http", "registry"):
            dv_spec["source"] = {p["type"]: {"url": p["url"]}}
        elif p["type"] == "blank":
            dv_spec["source"] = {"blank": {}}
        elif p["type"] == "pvc":
            ns, name = p["src"].split("/")
            dv_spec["source"] = {"pvc": {"name": name, "namespace": ns}}
        else:
            ns, _, name = p["src"].rpartition("/")
            dv_spec["sourceRef"] = {
                "kind": "DataSource",
                "name": name,
                **({"namespace": ns} if ns else {}),
            }
        dv_spec["storage"] = (
            {"resources": {"requests": {"storage": p["size"]}}} if "size" in p else {}
        )
        dvts.append({"metadata": {"name": p["name"]}, "spec": dv_spec})
        volumes.append({"name": p["name"], "dataVolume": {"name": p["name"]}})
        boot(p["name"], p)
    if "--cloud-init-user-data" in one:
        volumes.append(
            {
                "name": "cloudinitdisk",
                "cloudInitNoCloud": {"userDataBase64": one["--cloud-init-user-data"]},
            }
        )
    elif "--user" in one or "--ssh-key" in opts:
        config = cloud_config(one.get("--user"), None, opts.get("--ssh-key", []))
        volumes.append({"name": "cloudinitdisk", "cloudInitNoCloud": {"userData": config}})
    if "preference" not in spec and one.get("--infer-preference") != "false" and volumes:
        # getInferFromVolume: the disk with the lowest boot order, else the first volume;
        # volumeValidToInferFrom: a PVC, or a DataVolume from a PVC, registry or DataSource.
        name = min(disks, key=lambda d: d["bootOrder"])["name"] if disks else volumes[0]["name"]
        vol = next(v for v in volumes if v["name"] == name)
        dv = next((t["spec"] for t in dvts if t["metadata"]["name"] == name), None)
        valid = "persistentVolumeClaim" in vol or (
            dv is not None
            and ("sourceRef" in dv or {"pvc", "registry"} & set(dv.get("source", {})))
        )
        if valid:
            spec["preference"] = {"inferFromVolume": name, "inferFromVolumeFailurePolicy": "Ignore"}
    if disks:
        domain["devices"]["disks"] = disks
    tspec["volumes"] = volumes
    if dvts:
        spec["dataVolumeTemplates"] = dvts
    spec["template"] = {"spec": tspec}
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": one["--name"]},
        "spec": spec,
    }


def _sources(vm: dict[str, Any]) -> list[tuple]:
    """Each volume's source, names aside: what the VM's disks hold."""
    dvts = {t["metadata"]["name"]: t["spec"] for t in vm["spec"].get("dataVolumeTemplates") or []}
    out = []
    for vol in template_spec(vm)["volumes"]:
        if "dataVolume" in vol:
            spec = copy.deepcopy(dvts[vol["dataVolume"]["name"]])
            spec["storage"].pop("storageClassName", None)
            out.append(("dv", json.dumps(spec, sort_keys=True)))
        elif "cloudInitNoCloud" in vol:
            ci = vol["cloudInitNoCloud"]
            text = ci.get("userData") or base64.b64decode(ci["userDataBase64"]).decode()
            out.append(("cloud-init", text))
        else:
            out.append(
                (
                    "volume",
                    json.dumps({k: v for k, v in vol.items() if k != "name"}, sort_keys=True),
                )
            )
    return sorted(out)


def _virtctl_args(command: str) -> tuple[list[str], str]:
    words = shlex.split(command)
    pipe = words.index("|")
    assert words[:3] == ["virtctl", "create", "vm"]
    return words[3:pipe], " ".join(words[pipe + 1 :])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forms())
def test_equivalent_commands(form: VmForm) -> None:
    vm = build_vm(form)
    commands = equivalent_commands(vm)
    kubectl = commands["kubectl"]
    head, _, body = kubectl.partition("\n")
    assert head == "kubectl create -f - <<'EOF'"
    assert body.endswith("\nEOF")
    assert (
        yaml.load(body[: -len("EOF")], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) == vm
    )

    args, tail = _virtctl_args(commands["virtctl"])
    assert tail == (
        f"kubectl create -n {form.namespace} -f -" if form.namespace else "kubectl create -f -"
    )
    made = emulate_virtctl(args)
    assert made["metadata"]["name"] == vm["metadata"]["name"]
    assert made["spec"]["runStrategy"] == vm["spec"]["runStrategy"]
    if form.instancetype:
        assert made["spec"]["instancetype"]["name"] == vm["spec"]["instancetype"]["name"]
        assert "memory" not in made["spec"]["template"]["spec"]["domain"]
    else:
        assert (
            made["spec"]["template"]["spec"]["domain"]["memory"]
            == template_spec(vm)["domain"]["memory"]
        )
    if form.preference:
        assert made["spec"]["preference"]["name"] == form.preference[1]
    else:
        assert "preference" not in made["spec"]
    grace = form.termination_grace_period
    assert made["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == (
        180 if grace is None else grace
    )
    missing = commands["virtctl_missing"]
    if form.boot.kind == "pxe":
        assert "PXE" in missing
    else:
        assert _sources(made) == _sources(vm)
    if form.labels:
        assert "labels" in missing
    if any(d.bus != "virtio" for d in form.disks) or (
        form.boot.kind != "pxe" and form.boot.bus != "virtio"
    ):
        assert "disk buses" in missing


def test_equivalent_commands_for_a_template_vm() -> None:
    template = manifest("04-template-fedora-server-small.yaml", kind="Template")
    vm = process_template(template, {"NAME": "fed-1", "CLOUD_USER_PASSWORD": "pw-1"})["objects"][0]
    commands = equivalent_commands(vm)
    args, _ = _virtctl_args(commands["virtctl"])
    assert args[:8] == [
        "--name",
        "fed-1",
        "--run-strategy",
        "Halted",
        "--memory",
        "2Gi",
        "--infer-preference=false",
        "--volume-import",
    ]
    assert args[8] == "type:ds,src:kubevirt-os-images/fedora,size:30Gi,name:fed-1"
    assert base64.b64decode(args[args.index("--cloud-init-user-data") + 1]).decode() == (
        "#cloud-config\nuser: fedora\npassword: pw-1\nchpasswd: { expire: False }"
    )
    assert "domain.features" in commands["virtctl_missing"]


def test_inferred_instancetype_names_the_volume_as_virtctl_does() -> None:
    vm = manifest("07-datavolume-and-datasource.yaml")
    args, _ = _virtctl_args(equivalent_commands(vm)["virtctl"])
    # virtctl names a DataVolume's volume after the DataVolume
    assert args[args.index("--infer-instancetype-from") + 1] == "cirros-datavolume"
    assert args[args.index("--infer-preference-from") + 1] == "cirros-datavolume"
    assert "--memory" not in args
    assert "type:ds,src:default/cirros-datasource,size:1Gi,name:cirros-datavolume" in args


def test_simple_cloud_init_uses_user_and_ssh_key_flags() -> None:
    key = ssh_key(comment="me@host")
    vm = build_vm(base_form(cloud_init=CloudInit(user="fedora", ssh_keys=[key])))
    args, _ = _virtctl_args(equivalent_commands(vm)["virtctl"])
    assert args[args.index("--user") + 1] == "fedora"
    assert args[args.index("--ssh-key") + 1] == key
    assert "--cloud-init-user-data" not in args


def test_heredoc_marker_avoids_the_text() -> None:
    vm = build_vm(base_form(cloud_init=CloudInit(raw_user_data="#!/bin/sh\ncat <<EOF\nhi\nEOF\n")))
    head = equivalent_commands(vm)["kubectl"].split("\n", 1)[0]
    assert (
        head == "kubectl create -f - <<'EOF'"
    )  # the block is indented, so EOF never starts a line
    assert "\nEOF\n" not in to_yaml(vm)


def test_to_yaml_writes_user_data_as_a_block() -> None:
    vm = build_vm(base_form(cloud_init=CloudInit(user="fedora", password="x")))
    text = to_yaml(vm)
    assert "userData: |-\n" in text
    assert yaml.safe_load(text) == vm
    assert text.startswith("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n")
