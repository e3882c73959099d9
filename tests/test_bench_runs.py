"""The benchmarks' shared run loop (bench_send.Command.run_per_window, used by bench_send and
bench_receipts): one run per receipt window, each with its header, logs and figures, and the refusal
of a database or Redis they do not measure."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.management.commands import bench_receipts, bench_send


@pytest.mark.parametrize("module", [bench_send, bench_receipts])
def test_each_window_is_one_run_with_its_header_logs_and_figures(module, tmp_path, monkeypatch):
    command = module.Command(stdout=StringIO())
    vacuumed = []
    monkeypatch.setattr(command, "vacuum", lambda: vacuumed.append(True))  # VACUUM cannot run in a test's transaction
    seen = []

    def run(log_dir, window):
        seen.append((log_dir.name, log_dir.is_dir()))
        return {"window": window}

    options = {"log_dir": str(tmp_path), "json": True}
    runs = command.run_per_window([5, None], options, lambda w: f"header {w}", run, lambda f: None)

    assert [r["window"] for r in runs] == [5, None] and all("load_average_after" in r for r in runs)
    assert seen == [("window-5", True), ("window-bundled", True)] and len(vacuumed) == 2
    lines = command.stdout._out.getvalue().splitlines()
    assert lines[0].startswith("header 5, load average: ") and json.loads(lines[1])["window"] == 5
    assert lines[2].startswith("header None, load average: ")


def test_without_a_log_dir_the_logs_go_to_a_temporary_directory_named_after_the_command(monkeypatch):
    command = bench_receipts.Command(stdout=StringIO())
    monkeypatch.setattr(command, "vacuum", lambda: None)
    names = []
    command.run_per_window([3], {"log_dir": None, "json": False}, str, lambda d, w: names.append(d) or {}, print)
    assert names[0].rsplit("/", 1)[-1].startswith("bench-receipts-")


@pytest.mark.parametrize("name", ["bench_send", "bench_receipts"])
def test_a_benchmark_refuses_a_database_it_does_not_measure_by_its_own_name(name, settings, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match=f"{name} measures the PostgreSQL path"):
        call_command(name)
