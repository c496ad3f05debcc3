"""Reports gathering the results of the experiments."""
from .html import build_report, load_results

__all__ = ["build_report", "load_results"]
