"""Create-VM logic without a screen: the form's values, their validation, the manifest they make.

Pure functions over dataclasses and plain dicts (no I/O, no Textual), used by the create
form, by the template path ("customise the processed VM in the form") and by the review
step. The pieces:

- `VmForm` (with `BootSource`, `DiskSpec`, `NicSpec`, `CloudInit`): everything the form edits.
- `validate_form(form)`: a `FieldError` per problem, keyed by the form's field ids
  ("name", "memory", "boot.size", "disks[1].size", "nics[0].mac", ...), worded for a user
  typing (what is wrong and, where possible, what to write instead).
- `build_vm(form)`: the `kubevirt.io/v1` VirtualMachine manifest. It passes KubeVirt's (and
  the demo's) admission and strict field validation whenever `validate_form` found nothing.
- `form_from_vm(vm)`: the inverse. A VM made by `build_vm` comes back as the same form; any
  other VM (a processed common template, a YAML file) maps to a form whose `build_vm` gives
  the same disks, volumes, networks and DataVolume templates. What the form has no field for
  (firmware, features, clock, annotations, ...) is kept in `VmForm.base` and carried over.
- `equivalent_commands(vm)`: the `kubectl create` and `virtctl create vm` commands that make
  the same VM, and what virtctl has no flag for.
- `parse_memory`, `parse_size`: quantities as users type them, normalised, or the reason not.

Facts: KubeVirt v1.9 (VM webhook, `pkg/virtctl/create/vm`), CDI DataVolumes, the common
templates' VM shape (`vm.kubevirt.io/*` labels, `rootdisk` + `cloudinitdisk`, DataVolume named
after the VM).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import yaml

from tui.kubevirt.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    dns_label_problem,
    dns_subdomain_problem,
    label_value_errors,
    mac_address_error,
    qualified_name_errors,
)
from tui.kubevirt.quantity import format_quantity, parse_quantity

# libyaml when PyYAML was built with it: the pure-Python parser is ~10x slower, and a form
# re-validates on every key press.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


KUBEVIRT_API = "kubevirt.io/v1"
CDI_API = "cdi.kubevirt.io/v1beta1"

RUN_STRATEGIES = ("Always", "Halted", "Manual", "RerunOnFailure", "Once")
# What the form offers as a boot source; "datavolume" (an existing DataVolume, or a template's
# DataVolume with a source the form does not edit) and "raw" (any other volume, kept as is)
# only come from `form_from_vm`.
FORM_BOOT_KINDS = (
    "container",
    "http",
    "registry",
    "datasource",
    "clone-pvc",
    "pvc",
    "blank",
    "pxe",
)
BOOT_KINDS = (*FORM_BOOT_KINDS, "datavolume", "raw")
_NEW_DV_KINDS = ("http", "registry", "datasource", "clone-pvc", "blank")  # make a DataVolume
# Extra disks: a new blank DataVolume, an existing PVC, a container disk; "datavolume" and
# "raw" as for the boot source.
FORM_DISK_SOURCES = ("blank", "pvc")
DISK_SOURCES = ("blank", "pvc", "container", "datavolume", "raw")
DISK_DEVICES = ("disk", "cdrom", "lun")
DISK_BUSES = ("virtio", "sata", "scsi", "usb")  # KubeVirt rejects ide (pkg/storage/admitters)
# Bindings the form offers; others a VM may use (SR-IOV, passt, a plugin written
# "plugin:<name>") pass through `form_from_vm` -> `build_vm`.
FORM_BINDINGS = ("masquerade", "bridge")
NIC_BINDINGS = ("masquerade", "bridge", "sriov", "passtBinding")
POD_ONLY_BINDINGS = ("masquerade", "passtBinding")  # KubeVirt's network admitter
INTERFACE_MODELS = ("virtio", "e1000e", "e1000", "igb", "rtl8139", "ne2k_pci", "pcnet")
INSTANCETYPE_KINDS = ("VirtualMachineClusterInstancetype", "VirtualMachineInstancetype")
PREFERENCE_KINDS = ("VirtualMachineClusterPreference", "VirtualMachinePreference")
# `instancetype=("infer", "<volume>")`: KubeVirt infers it from the volume's labels.
INFER = "infer"
DEFAULT_TERMINATION_GRACE = 180  # what the common templates and `virtctl create vm` use
CLOUD_INIT_MAX = 2048  # bytes of inline userData KubeVirt accepts (cloudInitUserMaxLen)
_MIN_MEMORY = 10**6  # KubeVirt refuses less than 1M of memory
_MIN_SIZE = 1024**2
_MAX_BYTES = 2**63 - 1  # a Quantity's int64 value
_DOMAIN_LABEL = "kubevirt.io/domain"
_NAME_LABEL = "vm.kubevirt.io/name"


# --------------------------------------------------------------------------------------
# The form's values
# --------------------------------------------------------------------------------------


@dataclass
class BootSource:
    """Where the VM boots from. Which fields matter depends on `kind`:

    - "container": `image` (a containerDisk, pulled at every start, nothing persists)
    - "http": `url`, `size` (imported into a new DataVolume)
    - "registry": `url` = "docker://...", `size` (imported into a new DataVolume)
    - "datasource": `name`, `namespace` (a golden image's DataSource, cloned into a new DV)
    - "clone-pvc": `namespace`, `name` of the PVC cloned into a new DataVolume
    - "pvc": `claim`, an existing PVC used as is
    - "blank": `size`, a new empty DataVolume
    - "pxe": no boot disk; the first NIC gets bootOrder 1
    - "datavolume": `dv_name`, an existing DataVolume, or a DataVolume template of `VmForm.base`
      whose source the form does not edit (kept as is)
    - "raw": `volume`, any other volume source (kept as is)

    New DataVolumes get `size` and `storage_class` (None = the cluster's default class) and are
    named `dv_name`, or after the VM when None (as the common templates do). `boot_order` None
    writes no bootOrder (the boot disk is the first disk anyway).
    """

    kind: str
    image: str | None = None
    url: str | None = None
    name: str | None = None
    namespace: str | None = None
    claim: str | None = None
    size: str | None = None
    storage_class: str | None = None
    disk_name: str = "rootdisk"
    bus: str = "virtio"
    device: str = "disk"
    boot_order: int | None = 1
    dv_name: str | None = None
    volume: dict[str, Any] | None = None


@dataclass
class DiskSpec:
    """An extra disk. `source`: "blank" (new DataVolume of `size`), "pvc" (existing claim
    `claim_name`), "container" (`image`), "datavolume" (DataVolume `claim_name`), "raw"
    (`volume` kept as is). A blank disk's DataVolume is named `claim_name`, or
    "<vm>-<disk>" when None."""

    name: str
    source: str = "blank"
    size: str | None = None
    bus: str = "virtio"
    claim_name: str | None = None
    storage_class: str | None = None
    boot_order: int | None = None
    image: str | None = None
    device: str = "disk"
    volume: dict[str, Any] | None = None


@dataclass
class NicSpec:
    """A network interface: `network` is "pod" or a NetworkAttachmentDefinition ("name" or
    "namespace/name"); `binding` "masquerade" (pod only) or "bridge" (or "sriov",
    "passtBinding", "plugin:<name>" from an existing VM)."""

    name: str
    network: str = "pod"
    binding: str = "masquerade"
    model: str = "virtio"
    mac: str | None = None
    boot_order: int | None = None


@dataclass
class CloudInit:
    """cloud-init NoCloud data: a `#cloud-config` made from `user`, `password` and
    `ssh_keys`, or `raw_user_data` written as is (one or the other)."""

    user: str | None = None
    password: str | None = None
    ssh_keys: list[str] = field(default_factory=list)
    raw_user_data: str | None = None
    network_data: str | None = None
    disk_name: str = "cloudinitdisk"


def _default_nics() -> list[NicSpec]:
    return [NicSpec("default")]


@dataclass
class VmForm:
    """Everything the create form (and the template customisation) edits.

    Size is an instancetype (`instancetype` = (kind, name), then `sockets`, `cores`,
    `threads` and `memory` must be None) or custom (`memory` required; a None CPU count is
    KubeVirt's default of 1). `base` is the VM the form was made from (`form_from_vm`):
    `build_vm` keeps what the form has no field for. It takes no part in comparisons.
    """

    name: str = ""
    namespace: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    instancetype: tuple[str, str] | None = None
    preference: tuple[str, str] | None = None
    sockets: int | None = 1
    cores: int | None = 1
    threads: int | None = 1
    memory: str | None = "2Gi"
    boot: BootSource = field(default_factory=lambda: BootSource("container"))
    disks: list[DiskSpec] = field(default_factory=list)
    nics: list[NicSpec] = field(default_factory=_default_nics)
    cloud_init: CloudInit | None = None
    run_strategy: str = "Halted"
    start_after_create: bool = False
    termination_grace_period: int | None = DEFAULT_TERMINATION_GRACE
    base: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FieldError:
    """One problem: `field` is the form's field id ("name", "disks[1].size", ...)."""

    field: str
    message: str


# --------------------------------------------------------------------------------------
# Quantities as users type them
# --------------------------------------------------------------------------------------

_UNIT_TYPO = re.compile(r"^([0-9]*[.,]?[0-9]+)\s*([A-Za-z]+)$")


def _unit_hint(text: str) -> str:
    """ " (did you mean 2G or 2Gi?)" for "2 GB", "2gib", "2GiB"...; "" when nothing fits."""
    match = _UNIT_TYPO.match(text.strip())
    if not match:
        return ""
    number, unit = match.group(1).replace(",", "."), match.group(2).lower()
    letter = unit[0]
    if letter not in "kmgtpe":
        return ""
    binary = letter.upper() + "i"
    decimal = "k" if letter == "k" else letter.upper()
    if unit in (letter + "i", letter + "ib"):
        return f" (did you mean {number}{binary}?)"
    if unit in (letter, letter + "b"):
        return f" (did you mean {number}{decimal} or {number}{binary}?)"
    return ""


def _normalise(value: Decimal, suffix: str) -> str:
    """The quantity in the unit family the user wrote: 2048Mi -> 2Gi, 1000M -> 1G."""
    if suffix[-1:] == "i":
        return format_quantity(value, binary=True)
    if suffix:
        return format_quantity(value)
    # A bare byte count: whichever spelling is shorter (1073741824 -> 1Gi, 2000000000 -> 2G).
    binary, decimal = format_quantity(value, binary=True), format_quantity(value)
    return binary if len(binary) <= len(decimal) else decimal


def _parse_bytes(text: Any, minimum: int, minimum_text: str) -> str:
    raw = text if isinstance(text, str) else "" if text is None else str(text)
    stripped = raw.strip()
    if not stripped:
        raise ValueError("enter a size with a unit, like 2Gi or 2048Mi")
    try:
        value = parse_quantity(stripped)
    except ValueError:
        raise ValueError(
            f"'{raw}': use a number with a unit like 2Gi or 2048Mi{_unit_hint(stripped)}"
        ) from None
    suffix = re.sub(r"^[+-]?[0-9.]*", "", stripped)
    if value <= 0:
        raise ValueError(f"'{raw}': must be more than zero")
    if suffix in ("m", "u", "n"):
        big = stripped[:-1]
        raise ValueError(
            f"'{raw}': '{suffix}' means a {'thousandth' if suffix == 'm' else 'tiny fraction'}"
            f" of a byte; did you mean {big}Mi or {big}M?"
        )
    if value != value.to_integral_value():
        raise ValueError(f"'{raw}' is not a whole number of bytes")
    if value > _MAX_BYTES:
        raise ValueError(f"'{raw}' is too large")
    if value < minimum:
        if not suffix:
            raise ValueError(
                f"'{raw}' is {stripped} bytes: add a unit, like {stripped}Mi or {stripped}Gi"
            )
        raise ValueError(f"'{raw}' is too small: at least {minimum_text}")
    return _normalise(value, suffix)


def parse_memory(text: Any) -> str:
    """Guest memory as typed ("2Gi", "2048Mi", "2G", " 1.5Gi ") -> a normalised quantity.

    Raises ValueError with the reason for anything else: "'2 GB': use a number with a unit
    like 2Gi or 2048Mi (did you mean 2G or 2Gi?)". At least 1M, KubeVirt's minimum.
    """
    return _parse_bytes(text, _MIN_MEMORY, "1M")


def parse_size(text: Any) -> str:
    """A disk size as typed ("30Gi", "500Mi", "1T") -> a normalised quantity; at least 1Mi.

    Raises ValueError with the reason, worded like `parse_memory`'s.
    """
    return _parse_bytes(text, _MIN_SIZE, "1Mi")


def _lenient(text: str | None, parser: Any) -> str | None:
    """The normalised quantity, or the text as typed: previews draw even with bad input."""
    if text is None or not str(text).strip():
        return None
    try:
        return parser(text)
    except ValueError:
        return str(text).strip()


# --------------------------------------------------------------------------------------
# Smaller parsers and checks the form uses as the user types
# --------------------------------------------------------------------------------------


def parse_labels(text: str) -> dict[str, str]:
    """ "app=web, tier=db" (commas or new lines) -> {"app": "web", "tier": "db"}.

    Raises ValueError("'web': write labels as key=value") for an entry without "=". The keys
    and values themselves are checked by `validate_form`.
    """
    labels: dict[str, str] = {}
    for item in re.split(r"[,\n]", text):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"'{item}': write labels as key=value")
        labels[key.strip()] = value.strip()
    return labels


def format_labels(labels: dict[str, str]) -> str:
    """The inverse of `parse_labels`: "app=web, tier=db"."""
    return ", ".join(f"{k}={v}" for k, v in labels.items())


_SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
)


def ssh_key_problem(key: str) -> str | None:
    """What is wrong with `key` as one OpenSSH public key line, or None if it looks right.

    Checks the shape "<type> <base64> [comment]", that the type is known and that the
    base64 blob starts with the same type (a cut-off or mangled paste fails that).
    """
    text = key.strip()
    if not text:
        return "the key is empty"
    if "PRIVATE KEY" in text:
        return "this is a private key: paste the public key (the .pub file) instead"
    if "\n" in text or "\r" in text:
        return "one key per line: this one spans several lines"
    parts = text.split()
    if len(parts) < 2 or parts[0] not in _SSH_KEY_TYPES:
        if len(parts) >= 2 and parts[1] in _SSH_KEY_TYPES:
            return "authorized_keys options in front of the key are not supported here"
        return "not an SSH public key: expected '<type> <key> [comment]', like 'ssh-ed25519 AAAAC3… me@host'"
    kind, blob = parts[0], parts[1]
    try:
        data = base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return "the key data is not valid base64 (was the key cut short?)"
    length = int.from_bytes(data[:4], "big")
    if len(data) < 4 + length or data[4 : 4 + length] != kind.encode():
        return f"the key data does not match its type '{kind}' (was the key cut short?)"
    return None


_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def _user_problem(user: str) -> str | None:
    if not _USER_RE.match(user):
        return (
            "a user name is up to 32 lowercase letters, digits, '_' or '-', "
            "starting with a letter or '_'"
        )
    return None


def _password_problem(password: str) -> str | None:
    if "\n" in password or "\r" in password:
        return "the password must be one line"
    if password != password.strip():
        return "the password starts or ends with a space"
    return None


def _yaml_scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when YAML reads it back as the same string, else
    double-quoted (a password like "yes", "1234" or "a: b" must stay a string)."""
    try:
        plain_ok = "\n" not in value and _load(f"k: {value}") == {"k": value}
    except yaml.YAMLError:
        plain_ok = False
    return value if plain_ok else json.dumps(value, ensure_ascii=False)


def cloud_config(user: str | None, password: str | None, ssh_keys: list[str]) -> str:
    """The `#cloud-config` user data for a user, a password and SSH keys.

    Written line for line as `virtctl create vm` writes it (and as the common templates
    do), so a form and the equivalent virtctl command give the same userData.
    """
    lines = ["#cloud-config"]
    if user:
        lines.append(f"user: {_yaml_scalar(user)}")
    if password:
        lines += [f"password: {_yaml_scalar(password)}", "chpasswd: { expire: False }"]
    keys = [k.strip() for k in ssh_keys if k.strip()]
    if keys:
        lines.append("ssh_authorized_keys:")
        lines += [f"  - {_yaml_scalar(k)}" for k in keys]
    return "\n".join(lines)


def user_data(cloud_init: CloudInit) -> str:
    """The userData `build_vm` writes for `cloud_init`."""
    if cloud_init.raw_user_data is not None and cloud_init.raw_user_data.strip():
        return cloud_init.raw_user_data
    return cloud_config(cloud_init.user, cloud_init.password, cloud_init.ssh_keys)


def _structured_cloud_init(text: str) -> tuple[str | None, str | None, list[str]] | None:
    """(user, password, keys) when `text` is exactly what `cloud_config` writes for them."""
    try:
        data = _load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or not set(data) <= {
        "user",
        "password",
        "chpasswd",
        "ssh_authorized_keys",
    }:
        return None
    user, password, keys = data.get("user"), data.get("password"), data.get("ssh_authorized_keys")
    if not all(isinstance(v, str) or v is None for v in (user, password)):
        return None
    if keys is not None and not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        return None
    keys = list(keys or [])
    if cloud_config(user, password, keys) != text:
        return None
    return user, password, keys


# Image references (github.com/distribution/reference, simplified: lowercase repository path,
# optional registry host[:port], tag, digest).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?)"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_EXAMPLE_IMAGE = "quay.io/containerdisks/fedora:41"


def image_problem(image: str | None) -> str | None:
    """What is wrong with a containerDisk image reference, or None."""
    text = (image or "").strip()
    if not text:
        return f"an image is required, like {_EXAMPLE_IMAGE}"
    if "://" in text:
        return f"write the image without a scheme, like {_EXAMPLE_IMAGE}"
    if not _IMAGE_RE.match(text):
        if _IMAGE_RE.match(text.lower()):
            return "image repository names are lowercase"
        return f"'{text}' is not an image reference like {_EXAMPLE_IMAGE}"
    return None


def _http_url_problem(url: str | None) -> str | None:
    text = (url or "").strip()
    if not text:
        return "a URL is required, like https://example.com/disk.qcow2"
    if text.startswith(("docker://", "oci-archive://")):
        return "that is a registry URL: choose the registry boot source for it"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "use an http:// or https:// URL, like https://example.com/disk.qcow2"
    if any(ch.isspace() for ch in text):
        return "the URL contains a space"
    return None


def _registry_url_problem(url: str | None) -> str | None:
    text = (url or "").strip()
    if not text:
        return "a registry URL is required, like docker://quay.io/containerdisks/fedora:41"
    scheme, sep, rest = text.partition("://")
    if not sep:
        if not image_problem(text):
            return f"add docker:// in front: docker://{text}"
        return "use a docker:// URL, like docker://quay.io/containerdisks/fedora:41"
    if scheme not in ("docker", "oci-archive"):
        return "a registry URL starts with docker:// (or oci-archive://)"
    if scheme == "docker" and (problem := image_problem(rest)):
        return problem
    return None


def _subdomain_problem(value: str | None, what: str) -> str | None:
    if not value:
        return f"{what} is required"
    if dns1123_subdomain_errors(value):
        return dns_subdomain_problem(value) or f"'{value}' is not a valid {what}"
    return None


def _kind(value: str, kinds: tuple[str, str]) -> str | None:
    """KubeVirt matches matcher kinds case-insensitively, singular or plural; "" = cluster."""
    text = value.strip().lower()
    if text == "":
        return kinds[0]
    for kind in kinds:
        if text in (kind.lower(), kind.lower() + "s"):
            return kind
    return None


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _dv_names(form: VmForm) -> list[tuple[str, str]]:
    """(field id, DataVolume name) of each DataVolume the form creates."""
    out = []
    if form.boot.kind in _NEW_DV_KINDS:
        out.append(("boot.dv_name" if form.boot.dv_name else "name", boot_dv_name(form)))
    for idx, disk in enumerate(form.disks):
        if disk.source == "blank":
            out.append((f"disks[{idx}].name", disk_dv_name(form, disk)))
    return out


def boot_dv_name(form: VmForm) -> str:
    """The name of the boot disk's DataVolume: `boot.dv_name`, or the VM's name."""
    return form.boot.dv_name or form.name


def disk_dv_name(form: VmForm, disk: DiskSpec) -> str:
    """The name of an extra disk's DataVolume: `claim_name`, or "<vm>-<disk>"."""
    if disk.source in ("pvc", "datavolume"):
        return disk.claim_name or ""
    return disk.claim_name or f"{form.name}-{disk.name}"


def validate_form(
    form: VmForm,
    *,
    taken_names: set[str] | frozenset[str] = frozenset(),
    taken_volumes: set[str] | frozenset[str] = frozenset(),
) -> list[FieldError]:
    """Every problem with the form, in the form's order; empty when it can be submitted.

    `taken_names` are the VM names in use in the form's namespace, `taken_volumes` the
    DataVolume and PVC names there (a new DataVolume may not reuse one). Checks what KubeVirt
    and CDI would refuse, and a little more that is surely a mistake (a multicast MAC, a
    private SSH key, user data without a header), with messages meant for the field.
    """
    errors: list[FieldError] = []

    def add(field_id: str, message: str) -> None:
        errors.append(FieldError(field_id, message))

    _check_identity(form, taken_names, add)
    _check_size(form, add)
    _check_boot(form, add)
    _check_disks(form, add)
    _check_nics(form, add)
    _check_cloud_init(form, add)
    _check_boot_orders(form, add)
    if form.run_strategy not in RUN_STRATEGIES:
        add("run_strategy", f"choose one of {', '.join(RUN_STRATEGIES)}")
    grace = form.termination_grace_period
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int) or grace < 0):
        add("termination_grace_period", "must be a whole number of seconds, 0 or more")

    seen: dict[str, str] = {}
    where = form.namespace or "this namespace"
    reported = {e.field for e in errors}
    for field_id, dv in _dv_names(form):
        if not dv or field_id in reported:
            continue  # a bad or duplicate disk name has been reported already
        if dv in seen:
            add(field_id, f"the DataVolume name '{dv}' is used twice")
        elif dv in taken_volumes:
            why = (
                " (the boot disk's DataVolume is named after the VM)" if field_id == "name" else ""
            )
            add(field_id, f"a DataVolume or PVC named {dv} already exists in {where}{why}")
        elif problem := _subdomain_problem(dv, "DataVolume name"):
            add(field_id, f"DataVolume name '{dv}': {problem}")
        seen[dv] = field_id
    return errors


def _check_identity(form: VmForm, taken_names: Any, add: Any) -> None:
    if not form.name:
        add("name", "a name is required")
    elif problem := dns_label_problem(form.name):
        # The API server would take a 253-character subdomain, but the name is also the
        # value of the kubevirt.io/domain and vm.kubevirt.io/name labels (at most 63
        # characters) and the guest's host name (cut at the first dot).
        add("name", problem)
    elif form.name in taken_names:
        add("name", f"{form.name} already exists in {form.namespace or 'this namespace'}")
    if form.namespace and (problem := dns_label_problem(form.namespace)):
        add("namespace", problem)
    for key, value in form.labels.items():
        if qualified_name_errors(key):
            add(
                "labels",
                f"label key '{key}': use up to 63 letters, digits, '-', '_' or '.', starting "
                "and ending with a letter or digit, optionally after a DNS prefix and '/'",
            )
        elif label_value_errors(value):
            add(
                "labels",
                f"label {key}: the value must be at most 63 letters, digits, '-', '_' or '.',"
                " starting and ending with a letter or digit",
            )


def _check_size(form: VmForm, add: Any) -> None:
    counts = (("sockets", form.sockets), ("cores", form.cores), ("threads", form.threads))
    if form.instancetype is not None:
        _check_reference(form, "instancetype", form.instancetype, INSTANCETYPE_KINDS, add)
        for field_id, value in counts:
            if value not in (None, 0):
                add(field_id, "the instancetype sets the CPUs: leave this empty")
        if form.memory not in (None, ""):
            add("memory", "the instancetype sets the memory: leave this empty")
    else:
        for field_id, value in counts:
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                add(field_id, "must be a whole number, 1 or more")
        if form.memory in (None, ""):
            add("memory", "memory is required, like 2Gi (or choose an instancetype)")
        else:
            try:
                parse_memory(form.memory)
            except ValueError as exc:
                add("memory", str(exc))
    if form.preference is not None:
        _check_reference(form, "preference", form.preference, PREFERENCE_KINDS, add)


def _check_reference(
    form: VmForm, field_id: str, ref: tuple[str, str], kinds: Any, add: Any
) -> None:
    """An instancetype or preference reference: a known kind, and a name (or, to infer it,
    a volume of the VM)."""
    kind, name = ref
    if kind != INFER and _kind(kind, kinds) is None:
        add(field_id, f"unknown {field_id} kind '{kind}'")
    if not name:
        add(field_id, f"choose {'an' if field_id[0] in 'aeiou' else 'a'} {field_id}")
    elif kind == INFER:
        if name not in _volume_names(form):
            add(field_id, f"there is no volume '{name}' to infer the {field_id} from")
    elif problem := _subdomain_problem(name, f"{field_id} name"):
        add(field_id, problem)


def _volume_names(form: VmForm) -> set[str]:
    names = {d.name for d in form.disks}
    if form.boot.kind != "pxe":
        names.add(form.boot.disk_name)
    return names


def _check_device(prefix: str, device: str, bus: str, source: str, add: Any) -> None:
    if device not in DISK_DEVICES:
        add(f"{prefix}.device", f"choose one of {', '.join(DISK_DEVICES)}")
    if bus not in DISK_BUSES:
        add(f"{prefix}.bus", f"choose one of {', '.join(DISK_BUSES)}")
    elif device == "cdrom" and bus == "virtio":
        add(f"{prefix}.bus", "a CD-ROM can't use the virtio bus: use sata")
    if device == "lun" and source not in ("pvc", "datavolume", *_NEW_DV_KINDS):
        add(f"{prefix}.device", "a LUN needs a PVC or DataVolume")


def _check_size_field(field_id: str, size: str | None, required: bool, add: Any) -> None:
    if size is None or not str(size).strip():
        if required:
            add(field_id, "a size is required, like 30Gi")
        return
    try:
        parse_size(size)
    except ValueError as exc:
        add(field_id, str(exc))


def _check_storage_class(field_id: str, storage_class: str | None, add: Any) -> None:
    if storage_class and (problem := _subdomain_problem(storage_class, "storage class")):
        add(field_id, problem)


def _check_disk_name(field_id: str, name: str, add: Any) -> bool:
    if not name:
        add(field_id, "a disk name is required")
        return False
    if problem := dns_label_problem(name):
        add(field_id, problem)
        return False
    return True


def _check_boot(form: VmForm, add: Any) -> None:
    boot = form.boot
    if boot.kind not in BOOT_KINDS:
        add("boot.kind", "choose a boot source")
        return
    if boot.kind == "pxe":
        if not form.nics:
            add("boot.kind", "PXE boot needs a network interface: add one under NICs")
        return
    _check_disk_name("boot.disk_name", boot.disk_name, add)
    _check_device("boot", boot.device, boot.bus, boot.kind, add)
    if boot.kind == "container" and (problem := image_problem(boot.image)):
        add("boot.image", problem)
    elif boot.kind == "http" and (problem := _http_url_problem(boot.url)):
        add("boot.url", problem)
    elif boot.kind == "registry" and (problem := _registry_url_problem(boot.url)):
        add("boot.url", problem)
    elif boot.kind == "datasource":
        if problem := _subdomain_problem(boot.name, "DataSource name"):
            add("boot.name", problem)
        if boot.namespace and (problem := dns_label_problem(boot.namespace)):
            add("boot.namespace", problem)
    elif boot.kind == "clone-pvc":
        if problem := _subdomain_problem(boot.name, "PVC name"):
            add("boot.name", problem)
        if not boot.namespace:
            add("boot.namespace", "the namespace of the PVC to clone is required")
        elif problem := dns_label_problem(boot.namespace):
            add("boot.namespace", problem)
    elif boot.kind == "pvc" and (problem := _subdomain_problem(boot.claim, "PVC name")):
        add("boot.claim", problem)
    elif boot.kind == "datavolume" and (
        problem := _subdomain_problem(boot.dv_name, "DataVolume name")
    ):
        add("boot.dv_name", problem)
    elif boot.kind == "raw" and not isinstance(boot.volume, dict):
        add("boot.kind", "choose a boot source")
    if boot.kind in (*_NEW_DV_KINDS, "datavolume"):
        # CDI works a clone's size out from its source; an import or blank disk needs one.
        _check_size_field("boot.size", boot.size, boot.kind in ("http", "registry", "blank"), add)
        _check_storage_class("boot.storage_class", boot.storage_class, add)


def _check_disks(form: VmForm, add: Any) -> None:
    used: dict[str, str] = {}
    if form.boot.kind != "pxe" and form.boot.disk_name:
        used[form.boot.disk_name] = "the boot disk"
    if form.cloud_init is not None and form.cloud_init.disk_name:
        used.setdefault(form.cloud_init.disk_name, "the cloud-init disk")
    for idx, disk in enumerate(form.disks):
        prefix = f"disks[{idx}]"
        if _check_disk_name(f"{prefix}.name", disk.name, add):
            if disk.name in used:
                add(f"{prefix}.name", f"'{disk.name}' is already used by {used[disk.name]}")
            else:
                used[disk.name] = prefix
        if disk.source not in DISK_SOURCES:
            add(f"{prefix}.source", f"choose one of {', '.join(FORM_DISK_SOURCES)}")
            continue
        _check_device(prefix, disk.device, disk.bus, disk.source, add)
        if disk.source == "blank":
            _check_size_field(f"{prefix}.size", disk.size, True, add)
            _check_storage_class(f"{prefix}.storage_class", disk.storage_class, add)
        elif disk.source == "pvc":
            if problem := _subdomain_problem(disk.claim_name, "PVC name"):
                add(f"{prefix}.claim_name", problem)
        elif disk.source == "datavolume":
            if problem := _subdomain_problem(disk.claim_name, "DataVolume name"):
                add(f"{prefix}.claim_name", problem)
            _check_size_field(f"{prefix}.size", disk.size, False, add)
            _check_storage_class(f"{prefix}.storage_class", disk.storage_class, add)
        elif disk.source == "container":
            if problem := image_problem(disk.image):
                add(f"{prefix}.image", problem)
        elif disk.source == "raw" and disk.volume is not None and not isinstance(disk.volume, dict):
            add(f"{prefix}.source", "choose one of blank, pvc")
    if form.cloud_init is not None and form.cloud_init.disk_name:
        _check_disk_name("cloud_init.disk_name", form.cloud_init.disk_name, add)
        if form.boot.kind != "pxe" and form.cloud_init.disk_name == form.boot.disk_name:
            add("cloud_init.disk_name", f"'{form.boot.disk_name}' is already the boot disk")


_NIC_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _check_nics(form: VmForm, add: Any) -> None:
    names: dict[str, int] = {}
    macs: dict[str, int] = {}
    pod_nic: int | None = None
    for idx, nic in enumerate(form.nics):
        prefix = f"nics[{idx}]"
        if not nic.name:
            add(f"{prefix}.name", "a NIC name is required")
        elif not _NIC_NAME_RE.match(nic.name):
            add(f"{prefix}.name", "use letters, digits, '-' and '_' only")
        elif len(nic.name) > 63:
            add(f"{prefix}.name", "must be at most 63 characters")
        elif nic.name in names:
            add(f"{prefix}.name", f"'{nic.name}' is already used by nics[{names[nic.name]}]")
        else:
            names[nic.name] = idx
        if nic.network == "pod":
            if pod_nic is not None:
                add(
                    f"{prefix}.network",
                    f"only one NIC can be on the pod network (nics[{pod_nic}] is)",
                )
            else:
                pod_nic = idx
        else:
            ns, _, nad = nic.network.rpartition("/")
            if not nic.network:
                add(f"{prefix}.network", "choose the pod network or a NetworkAttachmentDefinition")
            elif nic.network.count("/") > 1 or (ns and dns1123_label_errors(ns)):
                add(
                    f"{prefix}.network",
                    "write a NetworkAttachmentDefinition as name or namespace/name",
                )
            elif problem := _subdomain_problem(nad, "NetworkAttachmentDefinition name"):
                add(f"{prefix}.network", problem)
        plugin = nic.binding.startswith("plugin:") and len(nic.binding) > len("plugin:")
        if nic.binding not in NIC_BINDINGS and not plugin:
            add(f"{prefix}.binding", f"choose one of {', '.join(FORM_BINDINGS)}")
        elif nic.binding in POD_ONLY_BINDINGS and nic.network != "pod":
            add(
                f"{prefix}.binding",
                f"{nic.binding} works only on the pod network: use bridge for a "
                "NetworkAttachmentDefinition",
            )
        if nic.model not in INTERFACE_MODELS:
            add(f"{prefix}.model", f"choose one of {', '.join(INTERFACE_MODELS)}")
        if nic.mac:
            if mac_address_error(nic.mac) or len(nic.mac) != 17:
                add(f"{prefix}.mac", f"'{nic.mac}' is not a MAC address like 02:00:00:ab:cd:ef")
            elif int(nic.mac[:2], 16) & 1:
                add(
                    f"{prefix}.mac",
                    "the first byte must be even: a multicast address can't be a NIC's "
                    "(02:… is a safe local prefix)",
                )
            elif nic.mac.lower() in macs:
                add(f"{prefix}.mac", f"the same MAC as nics[{macs[nic.mac.lower()]}]")
            else:
                macs[nic.mac.lower()] = idx


def _check_cloud_init(form: VmForm, add: Any) -> None:
    ci = form.cloud_init
    if ci is None:
        return
    structured = bool(ci.user or ci.password or [k for k in ci.ssh_keys if k.strip()])
    if ci.raw_user_data is not None and ci.raw_user_data.strip():
        if structured:
            add(
                "cloud_init.raw_user_data",
                "write either raw user data or a user, password and SSH keys, not both",
            )
        text = ci.raw_user_data.lstrip("\ufeff")
        first = text.lstrip().split("\n", 1)[0].strip()
        if not first.startswith("#"):
            add(
                "cloud_init.raw_user_data",
                "user data must start with #cloud-config (or #! for a script)",
            )
        elif first.lower().startswith("#cloud-config"):
            try:
                data = _load(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                problem = getattr(exc, "problem", None) or "invalid YAML"
                add("cloud_init.raw_user_data", f"not valid YAML{where}: {problem}")
            else:
                if data is not None and not isinstance(data, dict):
                    add("cloud_init.raw_user_data", "a #cloud-config must be a YAML mapping")
    else:
        if not structured:
            add("cloud_init", "set a user, a password or an SSH key (or turn cloud-init off)")
        if ci.user and (problem := _user_problem(ci.user)):
            add("cloud_init.user", problem)
        if ci.password and (problem := _password_problem(ci.password)):
            add("cloud_init.password", problem)
        for idx, key in enumerate(ci.ssh_keys):
            if key.strip() and (problem := ssh_key_problem(key)):
                add(f"cloud_init.ssh_keys[{idx}]", problem)
    size = len(user_data(ci).encode())
    if size > CLOUD_INIT_MAX:
        field_id = "cloud_init.raw_user_data" if ci.raw_user_data else "cloud_init"
        add(field_id, f"the user data is {size} bytes; KubeVirt takes at most {CLOUD_INIT_MAX}")
    if ci.network_data and len(ci.network_data.encode()) > CLOUD_INIT_MAX:
        add("cloud_init.network_data", f"at most {CLOUD_INIT_MAX} bytes of network data")


def _check_boot_orders(form: VmForm, add: Any) -> None:
    """Boot orders are unique across disks and NICs (KubeVirt) and 1 or more."""
    used: dict[int, str] = {}
    for field_id, order in _boot_orders(form):
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            add(field_id, "the boot order must be 1 or more")
        elif order in used:
            add(field_id, f"boot order {order} is already taken by {used[order]}")
        else:
            owner = field_id.rsplit(".", 1)[0]
            used[order] = "the boot disk" if owner == "boot" else owner


def _boot_orders(form: VmForm) -> list[tuple[str, Any]]:
    orders: list[tuple[str, Any]] = []
    if form.boot.kind != "pxe" and form.boot.boot_order is not None:
        orders.append(("boot.boot_order", form.boot.boot_order))
    for idx, disk in enumerate(form.disks):
        if disk.boot_order is not None:
            orders.append((f"disks[{idx}].boot_order", disk.boot_order))
    for idx, order in enumerate(_nic_boot_orders(form)):
        if order is not None:
            orders.append((f"nics[{idx}].boot_order", order))
    return orders


def _nic_boot_orders(form: VmForm) -> list[int | None]:
    """Each NIC's boot order: with PXE the first NIC boots first."""
    orders = [nic.boot_order for nic in form.nics]
    if form.boot.kind == "pxe" and orders:
        orders[0] = 1
    return orders


def _disk_boot_orders(form: VmForm) -> list[int | None]:
    """Each extra disk's boot order. After PXE comes the first disk, when no disk says
    otherwise, so a VM installed over the network then boots from its disk."""
    orders = [disk.boot_order for disk in form.disks]
    if form.boot.kind == "pxe" and all(o is None for o in orders):
        taken = {o for o in _nic_boot_orders(form) if o is not None}
        for idx, disk in enumerate(form.disks):
            if disk.device == "disk":
                orders[idx] = next(n for n in range(2, 100) if n not in taken)
                break
    return orders


# --------------------------------------------------------------------------------------
# Building the VirtualMachine
# --------------------------------------------------------------------------------------

# Written by the API server or KubeVirt, never by a client creating an object.
_SERVER_META = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
    "finalizers",
)
_SERVER_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubevirt.io/latest-observed-api-version",
    "kubevirt.io/storage-observed-api-version",
)
_BINDING_KEYS = ("masquerade", "bridge", "sriov", "passtBinding", "binding", "slirp", "macvtap")


def effective_run_strategy(form: VmForm) -> str:
    """The runStrategy `build_vm` writes: "start after create" turns Halted into Always
    (what `virtctl start` does to a Halted VM); other strategies stay as chosen."""
    if form.start_after_create and form.run_strategy == "Halted":
        return "Always"
    return form.run_strategy


def needs_start_call(form: VmForm) -> bool:
    """True when the VM must be started (PUT .../start) after it is created: a Manual VM
    with "start after create" (Always, RerunOnFailure and Once start by themselves)."""
    return form.start_after_create and form.run_strategy == "Manual"


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _by_name(items: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in _l(items):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            out.setdefault(item["name"], item)
    return out


def _prune(parent: dict[str, Any], *path: str) -> None:
    """Drop empty dicts along `path` (deepest first): {"resources": {"requests": {}}} -> {}."""
    chain = [parent]
    for key in path:
        child = chain[-1].get(key)
        if not isinstance(child, dict):
            break
        chain.append(child)
    for holder, key in reversed(list(zip(chain[:-1], path, strict=False))):
        if holder.get(key) == {}:
            holder.pop(key)


def _put(holder: dict[str, Any], key: str, value: Any) -> None:
    """Set `key`, or drop it when `value` is empty (None, "", {} or []): a manifest built from
    the form carries no empty fields, and one edited from a VM loses the fields cleared."""
    if value is None or (isinstance(value, (str, dict, list)) and not value):
        holder.pop(key, None)
    else:
        holder[key] = value


def _clean_base(base: dict[str, Any] | None) -> dict[str, Any]:
    vm = copy.deepcopy(base) if isinstance(base, dict) else {}
    vm.pop("status", None)
    meta = _d(vm.get("metadata"))
    for key in _SERVER_META:
        meta.pop(key, None)
    annotations = _d(meta.get("annotations"))
    for key in _SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    for dvt in _l(_d(vm.get("spec")).get("dataVolumeTemplates")):
        if isinstance(dvt, dict):
            dvt.pop("status", None)
    return vm


def build_vm(form: VmForm) -> dict[str, Any]:
    """The VirtualMachine manifest (kubevirt.io/v1) for `form`.

    Meant for a form `validate_form` accepts, but never raises: with bad values the preview
    still draws (an unparseable memory is written as typed). When `form.base` is set (the
    form came from `form_from_vm`), everything the form has no field for is kept from it.
    """
    vm = _clean_base(form.base)
    base_spec = copy.deepcopy(_d(vm.get("spec")))
    out: dict[str, Any] = {"apiVersion": KUBEVIRT_API, "kind": "VirtualMachine"}
    out.update({k: v for k, v in vm.items() if k not in out})
    vm = out

    meta = vm.setdefault("metadata", {})
    meta["name"] = form.name
    _put(meta, "namespace", form.namespace)
    _put(meta, "labels", dict(form.labels))
    annotations = _d(meta.get("annotations"))
    _put(annotations, "description", form.description.strip())
    _put(meta, "annotations", annotations)

    spec = vm.setdefault("spec", {})
    spec.pop("running", None)  # deprecated, and exclusive with runStrategy
    spec["runStrategy"] = effective_run_strategy(form)
    for key, matcher, kinds in (
        ("instancetype", form.instancetype, INSTANCETYPE_KINDS),
        ("preference", form.preference, PREFERENCE_KINDS),
    ):
        if matcher is None:
            spec.pop(key, None)
        elif matcher[0] == INFER:
            spec[key] = {"inferFromVolume": matcher[1]}
        else:
            spec[key] = {"kind": _kind(matcher[0], kinds) or matcher[0], "name": matcher[1]}

    # Filled below, once the volumes are known; created here to keep a readable key order.
    spec["dataVolumeTemplates"] = []
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    tlabels = _d(tmeta.get("labels"))
    # The libvirt domain's name part and the VM's name, as KubeVirt and the templates label.
    tlabels[_DOMAIN_LABEL] = form.name
    tlabels[_NAME_LABEL] = form.name
    tmeta["labels"] = tlabels
    tspec = template.setdefault("spec", {})
    domain = tspec.setdefault("domain", {})
    _apply_size(domain, form)
    devices = domain.setdefault("devices", {})

    disks, volumes, dvts = _storage(form, base_spec)
    devices["disks"] = disks
    interfaces, networks = _network(form, base_spec)
    devices["interfaces"] = interfaces
    if not interfaces:
        # No NIC means none: without this KubeVirt would add one on the pod network.
        devices["autoattachPodInterface"] = False
    elif devices.get("autoattachPodInterface") is False:
        devices.pop("autoattachPodInterface")
    if form.base is None:
        devices.setdefault("rng", {})  # a virtio RNG, as the templates give every Linux VM
    tspec["networks"] = networks
    tspec["volumes"] = volumes
    if not interfaces:
        tspec.pop("networks")
    _put(tspec, "terminationGracePeriodSeconds", form.termination_grace_period)
    _put(spec, "dataVolumeTemplates", dvts)
    return vm


def _apply_size(domain: dict[str, Any], form: VmForm) -> None:
    cpu = _d(domain.get("cpu"))
    memory = _d(domain.get("memory"))
    resources = _d(domain.get("resources"))
    if form.instancetype is not None:
        # What the instancetype owns may not be set on the VM (KubeVirt: "conflicts with
        # selected instance type").
        for key in ("sockets", "cores", "threads"):
            cpu.pop(key, None)
        memory.pop("guest", None)
        for section in ("requests", "limits"):
            for key in ("cpu", "memory"):
                _d(resources.get(section)).pop(key, None)
    else:
        for key, value in (
            ("sockets", form.sockets),
            ("cores", form.cores),
            ("threads", form.threads),
        ):
            _put(cpu, key, value)
        _put(memory, "guest", _lenient(form.memory, parse_memory))
        # memory.guest is the VM's memory now; an old request or limit could contradict it.
        for section in ("requests", "limits"):
            _d(resources.get(section)).pop("memory", None)
    for key, value in (("cpu", cpu), ("memory", memory), ("resources", resources)):
        _put(domain, key, value)
    _prune(domain, "resources", "requests")
    _prune(domain, "resources", "limits")


def _disk_entry(
    base: dict[str, Any] | None, name: str, device: str, bus: str, boot_order: int | None
) -> dict[str, Any]:
    """A `devices.disks[]` entry; fields the form does not edit come from `base`."""
    old = copy.deepcopy(base) if base else {}
    target: dict[str, Any] = {}
    for key in DISK_DEVICES:
        value = old.pop(key, None)
        if key == device and isinstance(value, dict):
            target = value
    target["bus"] = bus
    entry: dict[str, Any] = {"name": name, device: target}
    old.pop("name", None)
    old.pop("bootOrder", None)
    entry.update(old)
    if boot_order is not None:
        entry["bootOrder"] = boot_order
    return entry


def _volume(base: dict[str, Any] | None, name: str, source: str, fields: dict) -> dict[str, Any]:
    """A `volumes[]` entry of `source` type; extra fields of the same source kept from base."""
    old = _d(_d(base).get(source))
    return {"name": name, source: {**copy.deepcopy(old), **fields}}


def _dv_template(
    base: dict[str, Any] | None,
    name: str,
    source: dict[str, Any] | None,
    source_ref: dict[str, Any] | None,
    size: str | None,
    storage_class: str | None,
) -> dict[str, Any]:
    """A `dataVolumeTemplates[]` entry: source (or sourceRef), size, storage class.

    A template's own entry (`base`) keeps its other fields (labels, annotations, access
    modes, a `pvc:` target instead of `storage:`)."""
    dvt = copy.deepcopy(base) if base else {"apiVersion": CDI_API, "kind": "DataVolume"}
    dvt.pop("status", None)
    meta = _d(dvt.get("metadata"))
    meta["name"] = name
    dvt["metadata"] = meta
    spec = _d(dvt.get("spec"))
    if source is not None or source_ref is not None:
        old_source = _d(spec.pop("source", None))
        spec.pop("sourceRef", None)
        if source is not None:
            kind, body = next(iter(source.items()))
            merged = {**copy.deepcopy(_d(old_source.get(kind))), **body}
            spec["source"] = {kind: merged}
        else:
            spec["sourceRef"] = source_ref
    target_key = "pvc" if "pvc" in spec and "storage" not in spec else "storage"
    target = _d(spec.get(target_key))
    resources = _d(target.get("resources"))
    requests = _d(resources.get("requests"))
    _put(requests, "storage", _lenient(size, parse_size))
    _put(resources, "requests", requests)
    _put(target, "resources", resources)
    _put(target, "storageClassName", storage_class)
    spec[target_key] = target
    dvt["spec"] = spec
    return dvt


def _new_dv_source(boot: BootSource) -> tuple[dict | None, dict | None]:
    """(source, sourceRef) of the DataVolume a boot source makes."""
    if boot.kind == "http":
        return {"http": {"url": (boot.url or "").strip()}}, None
    if boot.kind == "registry":
        return {"registry": {"url": (boot.url or "").strip()}}, None
    if boot.kind == "clone-pvc":
        return {"pvc": {"namespace": boot.namespace or "", "name": boot.name or ""}}, None
    if boot.kind == "blank":
        return {"blank": {}}, None
    ref: dict[str, Any] = {"kind": "DataSource", "name": boot.name or ""}
    if boot.namespace:
        ref["namespace"] = boot.namespace
    return None, ref


def _storage(form: VmForm, base_spec: dict[str, Any]) -> tuple[list[dict], list[dict], list[dict]]:
    """The disks, volumes and DataVolume templates: boot disk, extra disks, cloud-init."""
    tspec = _d(_d(base_spec.get("template")).get("spec"))
    base_disks = _by_name(_d(_d(tspec.get("domain")).get("devices")).get("disks"))
    base_volumes = _by_name(tspec.get("volumes"))
    base_dvts: dict[str, dict] = {}
    for dvt in _l(base_spec.get("dataVolumeTemplates")):
        name = _d(_d(dvt).get("metadata")).get("name")
        if isinstance(name, str):
            base_dvts.setdefault(name, dvt)

    def base_dvt(disk_name: str, dv_name: str) -> dict | None:
        # The template's DataVolume of this disk, even when the VM (and so the DV) was renamed.
        old = _d(_d(base_volumes.get(disk_name)).get("dataVolume")).get("name")
        return (
            base_dvts.get(old)
            if isinstance(old, str) and old in base_dvts
            else base_dvts.get(dv_name)
        )

    disks: list[dict] = []
    volumes: list[dict] = []
    dvts: list[dict] = []
    boot = form.boot
    if boot.kind != "pxe":
        name = boot.disk_name
        base_volume = base_volumes.get(name)
        disks.append(
            _disk_entry(base_disks.get(name), name, boot.device, boot.bus, boot.boot_order)
        )
        if boot.kind == "container":
            volumes.append(
                _volume(base_volume, name, "containerDisk", {"image": (boot.image or "").strip()})
            )
        elif boot.kind == "pvc":
            volumes.append(
                _volume(base_volume, name, "persistentVolumeClaim", {"claimName": boot.claim or ""})
            )
        elif boot.kind == "raw":
            volumes.append({"name": name, **copy.deepcopy(_d(boot.volume))})
        else:
            dv = boot.dv_name or ("" if boot.kind == "datavolume" else form.name)
            volumes.append(_volume(base_volume, name, "dataVolume", {"name": dv}))
            old = base_dvt(name, dv)
            if boot.kind == "datavolume":
                if old is not None:
                    dvts.append(_dv_template(old, dv, None, None, boot.size, boot.storage_class))
            else:
                source, ref = _new_dv_source(boot)
                dvts.append(_dv_template(old, dv, source, ref, boot.size, boot.storage_class))

    for disk, order in zip(form.disks, _disk_boot_orders(form), strict=True):
        name = disk.name
        base_volume = base_volumes.get(name)
        disks.append(_disk_entry(base_disks.get(name), name, disk.device, disk.bus, order))
        if disk.source == "pvc":
            volumes.append(
                _volume(
                    base_volume, name, "persistentVolumeClaim", {"claimName": disk.claim_name or ""}
                )
            )
        elif disk.source == "container":
            volumes.append(
                _volume(base_volume, name, "containerDisk", {"image": (disk.image or "").strip()})
            )
        elif disk.source == "raw":
            # Without a volume it is an empty CD-ROM drive: a disk entry alone.
            if isinstance(disk.volume, dict):
                volumes.append({"name": name, **copy.deepcopy(disk.volume)})
        else:
            dv = disk_dv_name(form, disk)
            volumes.append(_volume(base_volume, name, "dataVolume", {"name": dv}))
            old = base_dvt(name, dv)
            if disk.source == "blank":
                dvts.append(
                    _dv_template(old, dv, {"blank": {}}, None, disk.size, disk.storage_class)
                )
            elif old is not None:
                dvts.append(_dv_template(old, dv, None, None, disk.size, disk.storage_class))

    ci = form.cloud_init
    if ci is not None:
        name = ci.disk_name
        base_volume = base_volumes.get(name)
        base_disk = base_disks.get(name)
        bus = _d(_d(base_disk).get("disk")).get("bus") or "virtio"
        disks.append(_disk_entry(base_disk, name, "disk", bus, _d(base_disk).get("bootOrder")))
        nocloud = copy.deepcopy(_d(_d(base_volume).get("cloudInitNoCloud")))
        for key in (
            "userData",
            "userDataBase64",
            "secretRef",
            "networkData",
            "networkDataBase64",
            "networkDataSecretRef",
        ):
            nocloud.pop(key, None)
        nocloud["userData"] = user_data(ci)
        if ci.network_data:
            nocloud["networkData"] = ci.network_data
        volumes.append({"name": name, "cloudInitNoCloud": nocloud})
    return disks, volumes, dvts


def _network(form: VmForm, base_spec: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """The interfaces and their networks, one network per NIC, named alike."""
    tspec = _d(_d(base_spec.get("template")).get("spec"))
    base_ifaces = _by_name(_d(_d(tspec.get("domain")).get("devices")).get("interfaces"))
    base_networks = _by_name(tspec.get("networks"))
    interfaces: list[dict] = []
    networks: list[dict] = []
    for nic, order in zip(form.nics, _nic_boot_orders(form), strict=True):
        old = copy.deepcopy(base_ifaces.get(nic.name) or {})
        old_binding: dict[str, Any] = {}
        for key in _BINDING_KEYS:
            value = old.pop(key, None)
            if key == nic.binding and isinstance(value, dict):
                old_binding = value
        iface: dict[str, Any] = {"name": nic.name}
        if nic.binding.startswith("plugin:"):
            iface["binding"] = {"name": nic.binding.split(":", 1)[1]}
        else:
            iface[nic.binding] = old_binding
        iface["model"] = nic.model
        for key in ("name", "model", "macAddress", "bootOrder"):
            old.pop(key, None)
        iface.update(old)
        if nic.mac:
            iface["macAddress"] = nic.mac
        if order is not None:
            iface["bootOrder"] = order
        interfaces.append(iface)

        old_net = copy.deepcopy(base_networks.get(nic.name) or {})
        pod = _d(old_net.pop("pod", None))
        multus = _d(old_net.pop("multus", None))
        old_net.pop("name", None)
        network: dict[str, Any] = {"name": nic.name}
        if nic.network == "pod":
            network["pod"] = pod
        else:
            network["multus"] = {**multus, "networkName": nic.network}
        network.update(old_net)
        networks.append(network)
    return interfaces, networks


# --------------------------------------------------------------------------------------
# From a VirtualMachine back to the form
# --------------------------------------------------------------------------------------


def _matcher(value: Any, kinds: tuple[str, str]) -> tuple[str, str] | None:
    matcher = _d(value)
    if matcher.get("inferFromVolume"):
        return (INFER, str(matcher["inferFromVolume"]))
    if not matcher.get("name"):
        return None
    kind = str(matcher.get("kind") or "")
    return (_kind(kind, kinds) or kind, str(matcher["name"]))


def _memory_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        parsed = parse_quantity(value)
    except ValueError:
        return str(value)
    text = str(value)
    suffix = re.sub(r"^[+-]?[0-9.]*", "", text) if isinstance(value, str) else ""
    if parsed > 0 and parsed == parsed.to_integral_value():
        return _normalise(parsed, suffix)
    return text


def _device_of(disk: dict[str, Any]) -> tuple[str, str]:
    """(device, bus) of a disk entry; KubeVirt's defaults when unsaid."""
    for device in DISK_DEVICES:
        if isinstance(disk.get(device), dict):
            default = "sata" if device == "cdrom" else "virtio"
            return device, str(disk[device].get("bus") or default)
    return "disk", "virtio"


def _target_of(dvt: dict[str, Any]) -> tuple[str | None, str | None]:
    """(size, storage class) of a DataVolume template."""
    spec = _d(dvt.get("spec"))
    target = _d(spec.get("storage")) or _d(spec.get("pvc"))
    size = _d(_d(target.get("resources")).get("requests")).get("storage")
    size_text = _memory_text(size) if size is not None else None
    storage_class = target.get("storageClassName")
    return size_text, storage_class if isinstance(storage_class, str) else None


def _dv_kind(dvt: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Which boot kind a DataVolume template is, with its parameters."""
    spec = _d(dvt.get("spec"))
    ref = _d(spec.get("sourceRef"))
    source = _d(spec.get("source"))
    if ref and not source and ref.get("kind") == "DataSource" and ref.get("name"):
        return "datasource", {"name": ref.get("name"), "namespace": ref.get("namespace")}
    if ref or len(source) != 1:
        return "datavolume", {}
    kind, body = next(iter(source.items()))
    body = _d(body)
    extra = set(body) - {"url", "name", "namespace"}
    if extra:
        return "datavolume", {}  # secretRef, certConfigMap...: kept as is through base
    if kind == "http" and body.get("url"):
        return "http", {"url": body["url"]}
    if kind == "registry" and body.get("url"):
        return "registry", {"url": body["url"]}
    if kind == "pvc" and body.get("name") and body.get("namespace"):
        return "clone-pvc", {"name": body["name"], "namespace": body["namespace"]}
    if kind == "blank":
        return "blank", {}
    return "datavolume", {}


def _boot_disk_name(
    disks: list[dict], interfaces: list[dict], cloud_init: str | None
) -> str | None:
    """The disk the VM boots from, or None for a network boot.

    With boot orders, the lowest wins (a NIC's means PXE); without, the first disk that
    is not the cloud-init disk, as KubeVirt boots the first disk.
    """
    ordered = [
        (d["bootOrder"], "disk", d["name"])
        for d in disks
        if isinstance(d.get("bootOrder"), int) and not isinstance(d.get("bootOrder"), bool)
    ] + [
        (i["bootOrder"], "nic", i.get("name"))
        for i in interfaces
        if isinstance(i.get("bootOrder"), int) and not isinstance(i.get("bootOrder"), bool)
    ]
    if ordered:
        _order, what, name = min(ordered, key=lambda t: (t[0], t[1]))
        return name if what == "disk" else None
    for disk in disks:
        if disk["name"] != cloud_init:
            return disk["name"]
    return None


def form_from_vm(vm: dict[str, Any]) -> VmForm:
    """The form for an existing VM manifest (a processed template's VM, a YAML file).

    `build_vm` of the result equals `vm` in everything the form edits and keeps the rest
    (`VmForm.base`). A VM from `build_vm` comes back as the same form (values normalised:
    "2048Mi" reads as "2Gi").
    """
    vm = copy.deepcopy(vm) if isinstance(vm, dict) else {}
    meta = _d(vm.get("metadata"))
    spec = _d(vm.get("spec"))
    tspec = _d(_d(spec.get("template")).get("spec"))
    domain = _d(tspec.get("domain"))
    devices = _d(domain.get("devices"))
    name = str(meta.get("name") or "")

    instancetype = _matcher(spec.get("instancetype"), INSTANCETYPE_KINDS)
    preference = _matcher(spec.get("preference"), PREFERENCE_KINDS)
    cpu = _d(domain.get("cpu"))

    def count(key: str) -> int | None:
        value = cpu.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value else None

    memory = _d(domain.get("memory")).get("guest")
    if memory is None:
        memory = _d(_d(domain.get("resources")).get("requests")).get("memory")

    run_strategy = spec.get("runStrategy")
    if not isinstance(run_strategy, str) or not run_strategy:
        run_strategy = "Always" if spec.get("running") is True else "Halted"
    grace = tspec.get("terminationGracePeriodSeconds")

    form = VmForm(
        name=name,
        namespace=str(meta.get("namespace") or ""),
        description=str(_d(meta.get("annotations")).get("description") or ""),
        labels={str(k): str(v) for k, v in _d(meta.get("labels")).items()},
        instancetype=instancetype,
        preference=preference,
        sockets=None if instancetype else count("sockets"),
        cores=None if instancetype else count("cores"),
        threads=None if instancetype else count("threads"),
        memory=None if instancetype else _memory_text(memory),
        run_strategy=run_strategy,
        start_after_create=False,
        termination_grace_period=grace if isinstance(grace, int) else None,
    )

    # Volumes without a disk get one from KubeVirt (a virtio disk); list them as disks.
    disk_entries = [
        dict(d)
        for d in _l(devices.get("disks"))
        if isinstance(d, dict) and isinstance(d.get("name"), str)
    ]
    known = {d["name"] for d in disk_entries}
    volumes = _by_name(tspec.get("volumes"))
    disk_entries += [{"name": v} for v in volumes if v not in known]
    dvts: dict[str, dict] = {}
    for dvt in _l(spec.get("dataVolumeTemplates")):
        dv_name = _d(_d(dvt).get("metadata")).get("name")
        if isinstance(dv_name, str):
            dvts.setdefault(dv_name, dvt)

    cloud_init_name = None
    for disk in disk_entries:
        volume = _d(volumes.get(disk["name"]))
        nocloud = volume.get("cloudInitNoCloud")
        if isinstance(nocloud, dict) and cloud_init_name is None:
            ci = _cloud_init_of(nocloud, disk["name"])
            if ci is not None:
                form.cloud_init = ci
                cloud_init_name = disk["name"]

    interfaces = [i for i in _l(devices.get("interfaces")) if isinstance(i, dict)]
    boot_name = _boot_disk_name(disk_entries, interfaces, cloud_init_name)
    form.nics = _nics_of(interfaces, _by_name(tspec.get("networks")), devices, boot_name is None)

    disks: list[DiskSpec] = []
    boot: BootSource | None = None
    for disk in disk_entries:
        disk_name = disk["name"]
        if disk_name == cloud_init_name:
            continue
        device, bus = _device_of(disk)
        order = disk.get("bootOrder") if isinstance(disk.get("bootOrder"), int) else None
        volume = _d(volumes.get(disk_name))
        if disk_name == boot_name:
            boot = _boot_of(form, disk_name, device, bus, order, volume, dvts)
        else:
            disks.append(_disk_of(form, disk_name, device, bus, order, volume, dvts))
    form.disks = disks
    if boot is None:
        # Network boot: PXE when a NIC boots first (or no disk can boot).
        form.boot = BootSource("pxe")
        if form.nics:
            form.nics[0].boot_order = None  # `build_vm` gives it 1
        # `build_vm` gives the first disk the next boot order after PXE; say nothing when
        # that is what the VM has, so its form reads as the form that made it.
        orders = [d.boot_order for d in disks]
        for disk in disks:
            if disk.boot_order is not None:
                disk.boot_order = None
                if _disk_boot_orders(form) == orders:
                    break
                disk.boot_order = orders[disks.index(disk)]
                break
    else:
        form.boot = boot

    base = _clean_base(vm)
    base_tspec = _d(_d(_d(base.get("spec")).get("template")).get("spec"))
    if base_tspec.get("hostname") == name:
        # The default host name; dropped so that it follows a rename.
        base_tspec.pop("hostname")
    form.base = base
    return form


def _cloud_init_of(nocloud: dict[str, Any], disk_name: str) -> CloudInit | None:
    """The CloudInit of a NoCloud volume, or None when the form can't hold it (secrets)."""
    if nocloud.get("secretRef") or nocloud.get("networkDataSecretRef"):
        return None
    text = nocloud.get("userData")
    if not isinstance(text, str):
        encoded = nocloud.get("userDataBase64")
        if not isinstance(encoded, str):
            return None
        try:
            text = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, ValueError):
            return None
    network = nocloud.get("networkData")
    if not isinstance(network, str):
        encoded = nocloud.get("networkDataBase64")
        network = None
        if isinstance(encoded, str):
            try:
                network = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, ValueError):
                return None
    structured = _structured_cloud_init(text)
    if structured is not None:
        user, password, keys = structured
        return CloudInit(user, password, keys, None, network, disk_name)
    return CloudInit(None, None, [], text, network, disk_name)


def _nics_of(
    interfaces: list[dict], networks: dict[str, dict], devices: dict, pxe: bool
) -> list[NicSpec]:
    if not interfaces:
        if devices.get("autoattachPodInterface") is False or networks:
            return []
        # KubeVirt would attach the pod network with the cluster's default binding; the form
        # says so explicitly, with masquerade (the binding made for the pod network).
        return [NicSpec("default")]
    nics = []
    for iface in interfaces:
        name = str(iface.get("name") or "")
        network = _d(networks.get(name))
        if _d(network.get("multus")).get("networkName"):
            target = str(network["multus"]["networkName"])
        else:
            target = "pod"
        binding = next((k for k in NIC_BINDINGS if isinstance(iface.get(k), dict)), None)
        if binding is None and _d(iface.get("binding")).get("name"):
            binding = f"plugin:{iface['binding']['name']}"
        order = iface.get("bootOrder")
        nics.append(
            NicSpec(
                name=name,
                network=target,
                binding=binding or "bridge",
                model=str(iface.get("model") or "virtio"),
                mac=str(iface["macAddress"]) if iface.get("macAddress") else None,
                boot_order=order
                if isinstance(order, int) and not isinstance(order, bool)
                else None,
            )
        )
    if pxe:
        # The NIC that boots first goes first: `build_vm` gives the first NIC bootOrder 1.
        first = min(
            range(len(nics)),
            key=lambda i: nics[i].boot_order if nics[i].boot_order is not None else 1 << 30,
        )
        nics.insert(0, nics.pop(first))
    return nics


def _boot_of(
    form: VmForm,
    disk_name: str,
    device: str,
    bus: str,
    order: int | None,
    volume: dict[str, Any],
    dvts: dict[str, dict],
) -> BootSource:
    common = {"disk_name": disk_name, "device": device, "bus": bus, "boot_order": order}
    if _d(volume.get("containerDisk")).get("image"):
        return BootSource("container", image=str(volume["containerDisk"]["image"]), **common)
    if _d(volume.get("persistentVolumeClaim")).get("claimName"):
        return BootSource("pvc", claim=str(volume["persistentVolumeClaim"]["claimName"]), **common)
    dv = _d(volume.get("dataVolume")).get("name")
    if isinstance(dv, str) and dv:
        dvt = dvts.get(dv)
        if dvt is None:
            return BootSource("datavolume", dv_name=dv, **common)
        kind, params = _dv_kind(dvt)
        size, storage_class = _target_of(dvt)
        dv_name = None if dv == form.name and kind != "datavolume" else dv
        return BootSource(
            kind, size=size, storage_class=storage_class, dv_name=dv_name, **params, **common
        )
    raw = {k: v for k, v in volume.items() if k != "name"}
    return BootSource("raw", volume=raw or None, **common)


def _disk_of(
    form: VmForm,
    disk_name: str,
    device: str,
    bus: str,
    order: int | None,
    volume: dict[str, Any],
    dvts: dict[str, dict],
) -> DiskSpec:
    common = {"device": device, "bus": bus, "boot_order": order}
    if _d(volume.get("containerDisk")).get("image"):
        return DiskSpec(
            disk_name, "container", image=str(volume["containerDisk"]["image"]), **common
        )
    if _d(volume.get("persistentVolumeClaim")).get("claimName"):
        claim = str(volume["persistentVolumeClaim"]["claimName"])
        return DiskSpec(disk_name, "pvc", claim_name=claim, **common)
    dv = _d(volume.get("dataVolume")).get("name")
    if isinstance(dv, str) and dv:
        dvt = dvts.get(dv)
        size, storage_class = _target_of(dvt) if dvt else (None, None)
        if dvt is not None and _dv_kind(dvt)[0] == "blank":
            claim = None if dv == f"{form.name}-{disk_name}" else dv
            return DiskSpec(
                disk_name, "blank", size, claim_name=claim, storage_class=storage_class, **common
            )
        return DiskSpec(
            disk_name, "datavolume", size, claim_name=dv, storage_class=storage_class, **common
        )
    raw = {k: v for k, v in volume.items() if k != "name"}
    return DiskSpec(disk_name, "raw", volume=raw or None, **common)


# --------------------------------------------------------------------------------------
# Equivalent commands and YAML
# --------------------------------------------------------------------------------------


class _BlockDumper(_Dumper):
    """Multi-line strings (cloud-init user data) as `|` blocks, as people write them."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BlockDumper.add_representer(str, _str_representer)


def to_yaml(obj: Any) -> str:
    """`obj` as YAML in the manifest's own key order, multi-line strings as blocks."""
    return yaml.dump(
        obj,
        Dumper=_BlockDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )


def _heredoc(text: str) -> str:
    marker = "EOF"
    lines = set(text.splitlines())
    n = 0
    while marker in lines:
        n += 1
        marker = f"EOF{n}"
    return f"<<'{marker}'\n{text}{'' if text.endswith(chr(10)) else chr(10)}{marker}"


def equivalent_commands(vm: dict[str, Any]) -> dict[str, str]:
    """The commands that create `vm` from a shell.

    - "kubectl": `kubectl create -f - <<'EOF'` with the manifest: exactly this VM.
    - "virtctl": `virtctl create vm ... | kubectl create -f -`, using only flags
      `virtctl create vm` has (KubeVirt v1.9 `pkg/virtctl/create/vm`). It gives the same
      VM in what those flags can say; volume names may differ (virtctl names a volume after
      its DataVolume).
    - "virtctl_missing": what virtctl has no flag for and so is left out of its VM
      ("" when nothing): NICs, CPU topology, labels, storage classes, template settings...
    """
    commands = {"kubectl": f"kubectl create -f - {_heredoc(to_yaml(vm))}"}
    args, missing = _virtctl_args(vm)
    namespace = _d(_d(vm).get("metadata")).get("namespace")
    tail = (
        f"kubectl create -n {shlex.quote(namespace)} -f -" if namespace else "kubectl create -f -"
    )
    commands["virtctl"] = (
        " ".join(["virtctl", "create", "vm", *map(shlex.quote, args)]) + " | " + tail
    )
    commands["virtctl_missing"] = "; ".join(dict.fromkeys(missing))
    return commands


def _param(value: str) -> bool:
    # virtctl splits a flag's params at "," and each at the first ":"
    return "," not in value


def _virtctl_args(vm: dict[str, Any]) -> tuple[list[str], list[str]]:
    form = form_from_vm(vm)
    args = ["--name", form.name]
    missing: list[str] = []
    strategy = form.run_strategy
    if strategy != "Always":  # virtctl's default
        args += ["--run-strategy", strategy]
    if (
        form.termination_grace_period is not None
        and form.termination_grace_period != DEFAULT_TERMINATION_GRACE
    ):
        args += ["--termination-grace-period", str(form.termination_grace_period)]

    kinds = {
        "VirtualMachineInstancetype": "virtualmachineinstancetype/",
        "VirtualMachineClusterInstancetype": "",
        "VirtualMachinePreference": "virtualmachinepreference/",
        "VirtualMachineClusterPreference": "",
    }
    if form.instancetype is not None:
        kind, name = form.instancetype
        if kind == INFER:
            args += ["--infer-instancetype-from", _virtctl_volume(form, name)]
        else:
            args += ["--instancetype", kinds.get(kind, "") + name]
    else:
        if form.memory:
            args += ["--memory", form.memory]
        if any(v not in (None, 1) for v in (form.sockets, form.cores, form.threads)):
            missing.append("CPU topology (sockets, cores, threads)")
    if form.preference is not None:
        kind, name = form.preference
        if kind == INFER:
            args += ["--infer-preference-from", _virtctl_volume(form, name)]
        else:
            args += ["--preference", kinds.get(kind, "") + name]
    elif _inferable_volume(form):
        # virtctl would otherwise add a preference inferred from the boot volume
        args.append("--infer-preference=false")

    if form.labels:
        missing.append("labels")
    if form.description:
        missing.append("description")

    boot = form.boot
    if boot.kind == "pxe":
        missing.append("PXE boot (a NIC's bootOrder)")
    elif boot.kind in ("container", "pvc"):
        flag = "--volume-containerdisk" if boot.kind == "container" else "--volume-pvc"
        src = (boot.image if boot.kind == "container" else boot.claim) or ""
        value = f"src:{src},name:{boot.disk_name}" + (
            f",bootorder:{boot.boot_order}" if boot.boot_order else ""
        )
        if _param(src):
            args += [flag, value]
        else:
            missing.append(f"the boot disk ({src})")
    elif boot.kind in _NEW_DV_KINDS:
        dv = boot_dv_name(form)
        params = {
            "http": f"type:http,url:{boot.url}",
            "registry": f"type:registry,url:{boot.url}",
            "datasource": f"type:ds,src:{boot.namespace + '/' if boot.namespace else ''}{boot.name}",
            "clone-pvc": f"type:pvc,src:{boot.namespace}/{boot.name}",
            "blank": "type:blank",
        }[boot.kind]
        if boot.size:
            params += f",size:{boot.size}"
        params += f",name:{dv}" + (f",bootorder:{boot.boot_order}" if boot.boot_order else "")
        if _param((boot.url or "") + (boot.name or "")):
            args += ["--volume-import", params]
        else:
            missing.append("the boot disk's URL (it contains a comma)")
        if boot.storage_class:
            missing.append("storage classes")
    else:
        missing.append(f"the boot disk ({boot.disk_name})")
    if boot.kind != "pxe" and (boot.bus != "virtio" or boot.device != "disk"):
        missing.append("disk buses and CD-ROMs")

    for disk, order in zip(form.disks, _disk_boot_orders(form), strict=True):
        suffix = f",bootorder:{order}" if order else ""
        if disk.source == "blank" and disk.size:
            args += [
                "--volume-import",
                f"type:blank,size:{disk.size},name:{disk_dv_name(form, disk)}{suffix}",
            ]
            if disk.storage_class:
                missing.append("storage classes")
        elif disk.source == "pvc" and _param(disk.claim_name or ""):
            args += ["--volume-pvc", f"src:{disk.claim_name},name:{disk.name}{suffix}"]
        elif disk.source == "container" and _param(disk.image or ""):
            args += ["--volume-containerdisk", f"src:{disk.image},name:{disk.name}{suffix}"]
        else:
            missing.append(f"disk {disk.name}")
        if disk.bus != "virtio" or disk.device != "disk":
            missing.append("disk buses and CD-ROMs")

    ci = form.cloud_init
    if ci is not None:
        simple = (
            ci.raw_user_data is None
            and not ci.password
            and not ci.network_data
            and all("," not in k and '"' not in k for k in ci.ssh_keys)
        )
        if simple and (ci.user or ci.ssh_keys):
            if ci.user:
                args += ["--user", ci.user]
            for key in ci.ssh_keys:
                args += ["--ssh-key", key.strip()]
        else:
            # A password can only come from a file, so the whole user data goes in base64.
            encoded = base64.b64encode(user_data(ci).encode()).decode()
            args += ["--cloud-init-user-data", encoded]
            if ci.network_data:
                args += [
                    "--cloud-init-network-data",
                    base64.b64encode(ci.network_data.encode()).decode(),
                ]

    default_nic = [NicSpec("default")]
    if form.nics != default_nic and [NicSpec(n.name) for n in form.nics] != default_nic:
        missing.append("network interfaces" if form.nics else "no network interface")
    elif form.nics and form.nics[0].binding == "masquerade":
        # virtctl adds no interface; KubeVirt then connects the pod network with the cluster's
        # default binding, which is bridge unless the cluster says masquerade.
        missing.append("the masquerade binding (the cluster's default binding is used)")
    if form.base is not None:
        missing += _template_extras(form)
    return args, missing


def _virtctl_volume(form: VmForm, volume: str) -> str:
    """The name virtctl gives the volume of disk `volume`: a DataVolume's own name."""
    if volume == form.boot.disk_name and form.boot.kind in _NEW_DV_KINDS:
        return boot_dv_name(form)
    for disk in form.disks:
        if disk.name == volume and disk.source == "blank":
            return disk_dv_name(form, disk)
    return volume


def _inferable_volume(form: VmForm) -> bool:
    """Could `virtctl create vm` infer a preference from one of these volumes? It tries the
    first boot volume, which must be a PVC or a DataVolume cloned or imported from a
    registry (`volumeValidToInferFrom`); any such volume is reason enough to say no."""
    return form.boot.kind in ("pvc", "datasource", "clone-pvc", "registry", "datavolume") or any(
        d.source in ("pvc", "datavolume") for d in form.disks
    )


_FORM_DOMAIN_KEYS = {"cpu", "memory", "resources", "devices"}
_FORM_TSPEC_KEYS = {"domain", "networks", "volumes", "terminationGracePeriodSeconds"}
_FORM_DEVICE_KEYS = {"disks", "interfaces", "rng", "autoattachPodInterface"}


def _template_extras(form: VmForm) -> list[str]:
    """Settings of the VM the form keeps from its base but virtctl has no flag for."""
    tspec = _d(_d(_d(_d(form.base).get("spec")).get("template")).get("spec"))
    domain = _d(tspec.get("domain"))
    extras = [f"domain.{k}" for k in domain if k not in _FORM_DOMAIN_KEYS]
    extras += [f"devices.{k}" for k in _d(domain.get("devices")) if k not in _FORM_DEVICE_KEYS]
    extras += [k for k in tspec if k not in _FORM_TSPEC_KEYS]
    return [f"other settings: {', '.join(extras)}"] if extras else []
