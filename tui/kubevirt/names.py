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


# --------------------------------------------------------------------------------------
# Labels (validation.IsQualifiedName for keys, IsValidLabelValue for values)
# --------------------------------------------------------------------------------------

_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_RE = re.compile(f"^{_QUALIFIED_NAME_FMT}$")
_LABEL_VALUE_FMT = f"({_QUALIFIED_NAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    f"validation is '{_QUALIFIED_NAME_FMT}')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE_FMT}')"
)


def qualified_name_errors(value: str) -> list[str]:
    """validation.IsQualifiedName (what a label or annotation key must be): error texts."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return ["prefix part must be non-empty"]
        if errs := dns1123_subdomain_errors(prefix):
            return [f"prefix part {err}" for err in errs]
    else:
        return [
            f"a qualified name {_QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        return ["name part must be non-empty"]
    errs = []
    if len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME_RE.match(name):
        errs.append(f"name part {_QUALIFIED_NAME_MSG}")
    return errs


def label_value_errors(value: str) -> list[str]:
    """validation.IsValidLabelValue: the error texts, empty when `value` is a valid value."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_LABEL_VALUE_MSG)
    return errs


# --------------------------------------------------------------------------------------
# Friendly, one-at-a-time messages for a form that checks as the user types
# --------------------------------------------------------------------------------------

_NOT_LABEL_CHARS = re.compile(r"[^a-z0-9-]+")
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def suggest_dns_label(value: str, max_len: int = 63) -> str:
    """The nearest DNS-1123 label to `value` ("My_VM 01" -> "my-vm-01"), or "" if none."""
    text = _NOT_LABEL_CHARS.sub("-", value.strip().lower())
    text = re.sub("-{2,}", "-", text).strip("-")
    return text[:max_len].rstrip("-")


def dns_label_problem(value: str, max_len: int = 63) -> str | None:
    """What is wrong with `value` as a DNS-1123 label, in words a form can show, or None.

    One problem at a time, the most useful first, with a suggested fix where there is one:
    "must be lowercase: try 'web-01'". An empty value is for the caller to judge.
    """
    if value == "":
        return None
    if len(value) > max_len:
        return f"must be at most {max_len} characters (this one has {len(value)})"
    if _DNS1123_LABEL_RE.match(value):
        return None
    suggestion = suggest_dns_label(value, max_len)
    hint = f": try '{suggestion}'" if suggestion and suggestion != value else ""
    if value != value.lower() and _DNS1123_LABEL_RE.match(value.lower()):
        return f"must be lowercase{hint}"
    # Uppercase letters alone were dealt with above; here other characters are the news.
    bad = [ch for ch in dict.fromkeys(value) if ch not in _LABEL_CHARS and not "A" <= ch <= "Z"]
    if bad:
        shown = "a space" if bad == [" "] else ", ".join(repr(ch) for ch in bad)
        return f"can't contain {shown} (use lowercase letters, digits and '-'){hint}"
    return f"must start and end with a letter or digit{hint}"


def dns_subdomain_problem(value: str, max_len: int = 253) -> str | None:
    """Like `dns_label_problem`, for a DNS-1123 subdomain (labels joined by dots)."""
    if value == "":
        return None
    if len(value) > max_len:
        return f"must be at most {max_len} characters (this one has {len(value)})"
    if _DNS1123_SUBDOMAIN_RE.match(value):
        return None
    parts = value.split(".")
    if any(part == "" for part in parts):
        return "can't start or end with a dot, or have two dots in a row"
    problems = [dns_label_problem(part) for part in parts]
    suggestion = ".".join(suggest_dns_label(part) for part in parts)
    problem = next(p for p in problems if p)
    problem = problem.split(": try ", 1)[0].replace(
        "(use lowercase letters, digits and '-')", "(use lowercase letters, digits, '-' and '.')"
    )
    valid = bool(_DNS1123_SUBDOMAIN_RE.match(suggestion))
    return f"{problem}: try '{suggestion}'" if valid and suggestion != value else problem
