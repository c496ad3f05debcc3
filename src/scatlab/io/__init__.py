"""Writing files safely: atomically (a file is replaced whole or not at all), and feature stores
filled batch by batch (resumable)."""
from .atomic import atomic_savez, atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_text
from .store import FeatureStore, load_store

__all__ = ["FeatureStore", "atomic_savez", "atomic_write", "atomic_write_bytes", "atomic_write_json",
           "atomic_write_text", "load_store"]
