import io
import time

from extract_load.common.running import LongLoadProgress


def test_short_steps_stay_quiet_and_long_steps_report():
    stream = io.StringIO()
    progress = LongLoadProgress(log_period=0.2, logger=stream, dump_system_stats=False)
    with progress("Extract"):
        progress.update("rows", 10)
    assert stream.getvalue() == ""
    with progress("Load"):
        progress.update("jobs", 1)
        time.sleep(0.25)
        progress.update("jobs", 1)
    assert "jobs: 2" in stream.getvalue()
