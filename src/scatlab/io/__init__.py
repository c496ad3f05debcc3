"""Writing files atomically: a file is replaced whole or not at all."""
from .atomic import atomic_savez, atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text

__all__ = ["atomic_savez", "atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]
