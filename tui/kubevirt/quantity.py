"""Kubernetes resource quantities ("2Gi", "500m", "1e3"): parse them exactly, write them back.

Pure functions, no I/O. The grammar and the arithmetic follow
k8s.io/apimachinery/pkg/api/resource/quantity.go, so what is accepted here is what the API
server accepts. The demo server's admission rules (`tui.demo.admission`) and the VM builder
(`tui.kubevirt.builder`) both use this module.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation, localcontext

# The grammar of resource.ParseQuantity (k8s.io/apimachinery/pkg/api/resource/quantity.go):
#   <quantity> ::= <signedNumber><suffix>;  <number> ::= <digits> | <digits>.<digits> |
#   <digits>. | .<digits>;  <suffix> ::= Ki|Mi|Gi|Ti|Pi|Ei | n|u|m|""|k|M|G|T|P|E |
#   e<signedInteger> | E<signedInteger>.
# "E" alone is exa; "E" followed by digits is an exponent, which the alternation order and
# the end anchor sort out. Uppercase "K" is not a suffix.
_QUANTITY_RE = re.compile(
    r"^(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {exp: suffix for suffix, exp in _DECIMAL.items()}
_BINARY_BY_POWER = {power: suffix for suffix, power in _BINARY.items()}

# The pattern the KubeVirt/CDI CRDs put on quantity fields; the API server quotes it when a
# value does not match.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def _exact_context() -> AbstractContextManager[Context]:
    """A decimal context wide enough that quantity arithmetic never rounds or overflows."""
    return localcontext(Context(prec=200, Emax=MAX_EMAX, Emin=MIN_EMIN))


def parse_quantity(s: str | int | float) -> Decimal:
    """Parse a Kubernetes quantity ("1Gi", "500m", "1e3", "1024M", 2) into its exact value.

    Raises ValueError if the text does not follow the Kubernetes quantity grammar. JSON
    numbers are accepted as Kubernetes accepts them (the field is int-or-string).
    """
    if isinstance(s, bool):
        raise ValueError(f"not a quantity: {s!r}")
    if isinstance(s, (int, float)):
        s = repr(s) if isinstance(s, float) else str(s)
    if not isinstance(s, str):
        raise ValueError(f"not a quantity: {s!r}")
    match = _QUANTITY_RE.match(s)
    if not match:
        # resource.ErrFormatWrong's text
        raise ValueError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number = Decimal(match.group("num"))
    suffix = match.group("suffix") or ""
    try:
        with _exact_context():
            if suffix in _BINARY:
                return number * (Decimal(1024) ** _BINARY[suffix])
            if suffix in _DECIMAL:
                return number.scaleb(_DECIMAL[suffix])
            return number.scaleb(int(suffix[1:]))
    except (InvalidOperation, ArithmeticError) as exc:  # pragma: no cover - absurd exponents
        raise ValueError(f"quantity out of range: {s!r}") from exc


def format_quantity(value: Decimal | int, binary: bool = False) -> str:
    """Write a value as a quantity that `parse_quantity` reads back exactly.

    With `binary`, whole multiples of 1024 use Ki..Ei; otherwise the largest decimal SI
    suffix (n..E) that keeps the number whole is used, and the exponent form ("15e-13"
    for 1.5e-12) for values finer than nano or too large for E.
    """
    with _exact_context():
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"not a finite value: {value}")
        if value == 0:
            return "0"
        normal = value.normalize()
        exponent = normal.as_tuple().exponent
        assert isinstance(exponent, int)
        if binary and 0 <= exponent <= 30:
            whole = int(normal)
            for power in range(6, 0, -1):
                if whole % (1024**power) == 0:
                    return f"{whole // 1024**power}{_BINARY_BY_POWER[power]}"
        if -9 <= exponent <= 30:
            # the largest SI exponent (a multiple of 3) that still leaves a whole number
            si = max(e for e in _DECIMAL_BY_EXP if e <= exponent)
            mantissa = int(normal.scaleb(-si))
            return f"{mantissa}{_DECIMAL_BY_EXP[si]}"
        sign, digits, _ = normal.as_tuple()
        return f"{'-' if sign else ''}{''.join(map(str, digits))}e{exponent}"
