"""`make bench` (bench/run_all.py): a subset re-runs and the rest is kept; every goal is in the summary table;
and every bench reports its goals one way (bench/_common.py's finish)."""

import importlib
import json
import sys

import pytest
from django.conf import settings

BENCH_DIR = settings.BASE_DIR / "bench"


@pytest.fixture
def bench_module(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))

    def load(name):
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return load


@pytest.fixture
def run_all(bench_module, tmp_path, monkeypatch):
    module = bench_module("run_all")
    monkeypatch.setattr(module, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(module, "RESULTS_MD", tmp_path / "RESULTS.md")
    monkeypatch.setattr(module, "machine", lambda: {"cores": 2})
    return module


def goal(name, figure, limit, met):
    return {"goal": name, "figure": figure, "limit": limit, "met": met}


def entry(script, *, goals, exit_status=None, run_at="2026-11-22 10:00 UTC"):
    met = all(g["met"] for g in goals)
    return {
        "script": script,
        "run_at": run_at,
        "scale": 1.0,
        "exit_status": (0 if met else 1) if exit_status is None else exit_status,
        "seconds": 1.0,
        "results": [{"bench": script.removesuffix(".py"), "goals": goals, "goals_met": met}],
        "output": "figures",
        "error": "",
    }


def fake_runs(run_all, monkeypatch, entries):
    ran = []

    def fake_run(script, scale):
        ran.append(script.name)
        return entries[script.name]

    monkeypatch.setattr(run_all, "run", fake_run)
    return ran


def test_bench_only_runs_the_named_scripts_and_keeps_the_others_results(run_all, monkeypatch):
    run_all.RESULTS_DIR.mkdir()
    kept = entry("leaderboard.py", goals=[goal("middle page", "3 ms", "<= 4 ms", True)], run_at="2026-11-01 09:00 UTC")
    (run_all.RESULTS_DIR / "leaderboard.json").write_text(json.dumps(kept))
    ran = fake_runs(run_all, monkeypatch, {"redeem.py": entry("redeem.py", goals=[goal("oversell", "0", "= 0", True)])})
    monkeypatch.setenv("BENCH_ONLY", "redeem")

    assert run_all.main() == 0

    assert ran == ["redeem.py"]
    assert json.loads((run_all.RESULTS_DIR / "redeem.json").read_text())["script"] == "redeem.py"
    markdown = run_all.RESULTS_MD.read_text()
    assert "## leaderboard.py: ok" in markdown and "Run 2026-11-01 09:00 UTC" in markdown
    assert "## redeem.py: ok" in markdown


def test_a_stored_result_records_when_at_which_scale_and_how_the_script_exited(run_all, monkeypatch, tmp_path):
    script = tmp_path / "fake.py"
    script.write_text('import sys\nprint(\'BENCH_RESULT {"bench": "fake", "goals": []}\')\nsys.exit(3)\n')

    stored = run_all.run(script, 0.5)

    assert (stored["scale"], stored["exit_status"]) == (0.5, 3)
    assert stored["run_at"].endswith("UTC")
    assert stored["results"] == [{"bench": "fake", "goals": []}]


def test_a_missed_goal_is_marked_in_the_summary_table_and_fails_the_run(run_all, monkeypatch):
    fake_runs(
        run_all,
        monkeypatch,
        {"http_load.py": entry("http_load.py", goals=[goal("API /api/apps/: p99", "61.0 ms", "< 50 ms", False)])},
    )
    monkeypatch.setenv("BENCH_ONLY", "http_load.py")

    assert run_all.main() == 1

    markdown = run_all.RESULTS_MD.read_text()
    summary = markdown.split("## Summary", 1)[1].split("## Machine", 1)[0]
    assert "| http_load.py | API /api/apps/: p99 | 61.0 ms | < 50 ms | **MISSED** |" in summary
    assert "## http_load.py: MISSED" in markdown
    assert "Not ok: http_load.py" in markdown


def test_the_summary_lists_every_goal_line_of_every_stored_bench(run_all):
    entries = [
        entry("a.py", goals=[goal("one", "1", "<= 2", True), goal("two", "3", "<= 2", False)]),
        entry("b.py", goals=[goal("three", "0", "= 0", True)]),
    ]

    rows = [line for line in run_all.summary(entries) if line.startswith("| a.py") or line.startswith("| b.py")]

    assert rows == [
        "| a.py | one | 1 | <= 2 | met |",
        "| a.py | two | 3 | <= 2 | **MISSED** |",
        "| b.py | three | 0 | = 0 | met |",
    ]


def test_a_stored_run_without_goals_is_not_judged_ok(run_all):
    old = entry("moderation.py", goals=[])
    old["results"] = [{"bench": "moderation", "round_trip_goal_met": False, "rows": 3}]

    assert run_all.status(old).startswith("NOT JUDGED")
    assert "**NOT JUDGED" in "\n".join(run_all.summary([old]))


def test_a_crashed_bench_is_failed_not_ok(run_all):
    crashed = entry("a.py", goals=[], exit_status=1)
    crashed["results"] = []

    assert run_all.status(crashed) == "FAILED (exit 1)"


def test_bench_only_refuses_an_unknown_name(run_all):
    with pytest.raises(SystemExit, match="no benchmark nosuch"):
        run_all.select(run_all.all_scripts(), "redeem,nosuch")


def test_finish_prints_each_goal_and_exits_1_when_one_is_missed(bench_module, capsys):
    common = bench_module("_common")
    goals = [common.Goal("page 1", "3 ms", "<= 4 ms", True), common.Goal("last page", "9 ms", "<= 4 ms", False)]

    status = common.finish("leaderboard", {"members": 10}, goals)

    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[:2] == ["goal [met] page 1: 3 ms (goal <= 4 ms)", "goal [MISSED] last page: 9 ms (goal <= 4 ms)"]
    result = json.loads(out[2].removeprefix("BENCH_RESULT "))
    assert result["goals"][1] == {"goal": "last page", "figure": "9 ms", "limit": "<= 4 ms", "met": False}
    assert (result["bench"], result["members"], result["goals_met"]) == ("leaderboard", 10, False)


def test_finish_exits_0_when_every_goal_is_met(bench_module, capsys):
    common = bench_module("_common")

    assert common.finish("x", {}, [common.Goal("a", "1", "<= 2", True)]) == 0


def test_every_bench_reports_its_goals_through_finish(run_all):
    """One way to judge and report goals: a bench that printed its own BENCH_RESULT would bypass the summary."""
    for script in run_all.all_scripts():
        source = script.read_text()
        assert "finish(" in source and 'print("BENCH_RESULT' not in source, script.name


def test_a_bench_with_no_stored_run_is_listed_as_not_run(run_all):
    entries = [entry("leaderboard.py", goals=[goal("page", "1 ms", "<= 2 ms", True)])]
    scripts = [run_all.BENCH_DIR / "leaderboard.py", run_all.BENCH_DIR / "purchase.py"]

    text = run_all.report(entries, {"cores": 2}, run_all.never_run(entries, scripts))

    assert "Not ok: purchase.py." in text
    assert "| purchase.py | (never run at this scale) | - | - | **NOT RUN** |" in text


# --- bench/_common.py's run_processes: the client processes every concurrency bench forks ----------------------


def counting_worker(number, release, results):
    import time

    release.wait()
    results.put({"number": number, "finished": time.perf_counter()})


def worker_raising_before_it_is_ready(release, results):
    raise RuntimeError("no database")


def worker_dying_after_the_release(release, results):
    import os

    release.wait()
    os._exit(3)


def test_run_processes_releases_every_worker_and_returns_what_each_reported(bench_module):
    common = bench_module("_common")
    seconds, reports = common.run_processes([(counting_worker, (n,)) for n in range(4)])
    assert sorted(report["number"] for report in reports) == [0, 1, 2, 3]
    assert 0 <= seconds < 10


@pytest.mark.parametrize("worker", [worker_raising_before_it_is_ready, worker_dying_after_the_release])
def test_a_crashed_worker_stops_the_run_with_its_error_instead_of_a_hang(bench_module, worker):
    common = bench_module("_common")
    with pytest.raises(SystemExit, match="crashed"):
        common.run_processes([(counting_worker, (0,)), (worker, ())])
