"""Reports gathering the results of the experiments."""
from .html import build_report, load_results
from .markdown import results_markdown

__all__ = ["build_report", "load_results", "results_markdown"]
