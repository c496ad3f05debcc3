"""File input and output: readers for images, audio and arrays; atomic writers; batch transforms."""
from .atomic import atomic_savez, atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text
from .coefficients import transform_files
from .readers import read_audio, read_image, read_signal

__all__ = [
    "atomic_savez",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "read_audio",
    "read_image",
    "read_signal",
    "transform_files",
]
