"""kvtui: a keyboard-driven terminal UI for KubeVirt."""

__version__ = "0.1.0"
