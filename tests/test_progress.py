"""Console progress: a bar on a terminal, one line per finished stage in a log."""
import io

from tqdm import tqdm

from scatlab.runtime import console_progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_one_line_per_stage_with_count_time_and_rate():
    log = io.StringIO()
    progress = console_progress(log)
    assert list(progress(range(5), desc="epoch 1", total=5)) == list(range(5))
    assert list(progress(iter([]), desc="nothing", total=0)) == []
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in log.getvalue()
    assert lines[0].startswith("  epoch 1: 5 in ") and lines[0].endswith("/s")
    assert lines[1].startswith("  nothing: 0 in ")


def test_a_stage_left_early_claims_no_completion():
    log = io.StringIO()
    for i in console_progress(log)(range(10), desc="features", total=10):
        if i == 3:
            break
    assert log.getvalue() == ""  # no "done" line for a stage that did not finish


def test_a_terminal_gets_a_bar():
    bar = console_progress(_Terminal())(range(3), desc="x", total=3)
    assert isinstance(bar, tqdm) and list(bar) == [0, 1, 2]
