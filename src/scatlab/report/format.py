"""Numbers and durations as the reports print them."""
from __future__ import annotations

__all__ = ["format_value", "format_duration"]


def format_value(value) -> str:
    """A cell as text: floats to 4 significant digits (no exponent between 1e-3 and 1e6), lists joined."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}" if abs(value) >= 1e4 else str(int(value))
        return f"{value:.4g}" if 1e-3 <= abs(value) < 1e6 else f"{value:.3e}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 1e4 else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)


def format_duration(seconds) -> str:
    """'12.3 s', '4 min 05 s' or '2 h 07 min'; '-' if not a number."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
