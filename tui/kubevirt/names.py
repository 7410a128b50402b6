"""Names and addresses Kubernetes and KubeVirt check: DNS-1123 labels and subdomains, MACs.

Pure functions, no I/O. The error texts are apimachinery's (`k8s.io/apimachinery/pkg/util/
validation`) and KubeVirt's, so a client can show exactly what the API server would say. The
demo server's admission rules (`tui.demo.admission`) and the VM builder
(`tui.kubevirt.builder`) both use this module.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------
# DNS-1123 (k8s.io/apimachinery/pkg/util/validation)
# --------------------------------------------------------------------------------------

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_LABEL_RE = re.compile(f"^{_DNS1123_LABEL_FMT}$")
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
# apimachinery's RegexError really prints two spaces before "or".
_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_DNS1123_LABEL_FMT}')"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_DNS1123_SUBDOMAIN_FMT}')"
)


def dns1123_label_errors(value: str) -> list[str]:
    """validation.IsDNS1123Label: the error texts, empty when `value` is a valid label."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1123_LABEL_RE.match(value):
        errs.append(_DNS1123_LABEL_MSG)
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    """validation.IsDNS1123Subdomain: the error texts, empty when `value` is valid."""
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errs.append(_DNS1123_SUBDOMAIN_MSG)
    return errs


# --------------------------------------------------------------------------------------
# MAC addresses (Go net.ParseMAC, as KubeVirt's link.ValidateMacAddress uses it)
# --------------------------------------------------------------------------------------

_HEX = set("0123456789abcdefABCDEF")


def _mac_length(mac: str) -> int | None:
    """Bytes in `mac` if net.ParseMAC would accept it (6, 8 or 20), else None."""
    if len(mac) < 14:
        return None
    if mac[2] in ":-":
        sep = mac[2]
        if (len(mac) + 1) % 3:
            return None
        groups = mac.split(sep)
        if any(len(g) != 2 or not set(g) <= _HEX for g in groups):
            return None
        n = len(groups)
    elif mac[4] == ".":
        if (len(mac) + 1) % 5:
            return None
        groups = mac.split(".")
        if any(len(g) != 4 or not set(g) <= _HEX for g in groups):
            return None
        n = 2 * len(groups)
    else:
        return None
    return n if n in (6, 8, 20) else None


def mac_address_error(mac: str) -> str | None:
    """KubeVirt's link.ValidateMacAddress: None if fine, else the error text."""
    if mac == "":
        return None
    length = _mac_length(mac)
    if length is None:
        return f"malformed MAC address ({mac})"
    if length > 6:
        return f"too long MAC address ({mac})"
    return None
