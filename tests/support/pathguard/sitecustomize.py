"""Loaded by Python at start-up in the processes the tests start (their PYTHONPATH includes this
folder): the guard of tests/support/paths.py, appending what it finds to the file that
SUPPORTNAVI_PATH_GUARD names, at once (a process the test kills has no exit to wait for)."""

import importlib.util
import os
import sys

_report = os.environ.get("SUPPORTNAVI_PATH_GUARD")
if _report:
    _spec = importlib.util.spec_from_file_location(
        "_supportnavi_pathguard", os.path.join(os.path.dirname(__file__), "..", "paths.py"))
    assert _spec is not None and _spec.loader is not None
    _paths = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_paths)
    _paths.PathGuard(on_outside=_paths.appender(_report, sys.argv[0])).watch()
