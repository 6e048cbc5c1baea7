"""Run the benchmarks under bench/ on PostgreSQL + Redis and write bench/RESULTS.md.

Each script prints its figures, one line per goal and a final `BENCH_RESULT {json}` line (bench/_common.py: the
"goals" list of {goal, figure, limit, met}). BENCH_SCALE (default 1.0) is passed to each as --scale, so
`BENCH_SCALE=0.05 make bench` gives a quick, smaller run.

Each script's run is kept as bench/results/<script>.json (when, scale, exit status, its results and output), and
RESULTS.md is built from every stored file, so `BENCH_ONLY=redeem,bulk_upload make bench` runs only those two and
updates their sections, keeping the others' last runs (each section says when and at which scale it ran).
"""

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_MD = BENCH_DIR / "RESULTS.md"


def command_output(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def machine():
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    redis_info = command_output("redis-cli", "info", "server")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": command_output("psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "show server_version"),
        "redis": redis_info.split("redis_version:")[-1].split()[0] if "redis_version:" in redis_info else "unavailable",
        "os": platform.platform(),
    }


def all_scripts(bench_dir=BENCH_DIR):
    return sorted(p for p in bench_dir.glob("*.py") if not p.name.startswith(("_", "run_all")))


def select(scripts, only):
    """The scripts named in BENCH_ONLY ("redeem,bulk_upload"; ".py" optional), or all when it is empty."""
    names = [name.strip().removesuffix(".py") for name in (only or "").split(",") if name.strip()]
    if not names:
        return scripts
    known = {script.stem: script for script in scripts}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"BENCH_ONLY names no benchmark {', '.join(unknown)}; there are: {', '.join(known)}")
    return [known[name] for name in names]


def goal_lines(result):
    """The goals a BENCH_RESULT reports: its "goals" list (bench/_common.py's finish)."""
    return [
        {"goal": g["goal"], "figure": g["figure"], "limit": g["limit"], "met": bool(g["met"])}
        for g in result.get("goals", [])
    ]


def run(script, scale):
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(script), "--scale", str(scale)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    results = [
        json.loads(line.split(" ", 1)[1]) for line in proc.stdout.splitlines() if line.startswith("BENCH_RESULT ")
    ]
    return {
        "script": script.name,
        "run_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "scale": scale,
        "exit_status": proc.returncode,
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
        "output": "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("BENCH_RESULT "))[-6000:],
        "error": proc.stderr[-3000:] if proc.returncode else "",
    }


def status(entry):
    """ok (every goal met); MISSED (a goal missed); NOT JUDGED (no goal reported: a run from before the bench
    judged its goals); FAILED (crashed, or a non-zero exit with no goal missed)."""
    goals = [goal for result in entry["results"] for goal in goal_lines(result)]
    if any(not goal["met"] for goal in goals):
        return "MISSED"
    if entry["exit_status"] != 0:
        return f"FAILED (exit {entry['exit_status']})"
    if not entry["results"]:
        return "FAILED (no BENCH_RESULT)"
    return "ok" if goals else "NOT JUDGED (no goals reported: re-run it)"


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary(entries):
    lines = ["## Summary", "", "| benchmark | goal | figure | limit | met |", "|---|---|---|---|---|"]
    for entry in entries:
        goals = [goal for result in entry["results"] for goal in goal_lines(result)]
        if not goals:
            lines.append(f"| {entry['script']} | (no goal reported) | - | - | **{status(entry)}** |")
        for goal in goals:
            met = "met" if goal["met"] else "**MISSED**"
            lines.append(
                f"| {entry['script']} | {cell(goal['goal'])} | {cell(goal['figure'])} | {cell(goal['limit'])} | {met} |"
            )
    return lines


def section(entry):
    lines = [
        f"## {entry['script']}: {status(entry)}",
        "",
        f"Run {entry['run_at']}, scale {entry['scale']}, {entry['seconds']} s, exit status {entry['exit_status']}.",
        "",
    ]
    for result in entry["results"]:
        goals = goal_lines(result)
        if goals:
            lines += ["| goal | figure | limit | met |", "|---|---|---|---|"]
            for goal in goals:
                met = "met" if goal["met"] else "**MISSED**"
                lines.append(f"| {cell(goal['goal'])} | {cell(goal['figure'])} | {cell(goal['limit'])} | {met} |")
            lines.append("")
        figures = {key: value for key, value in result.items() if key != "goals"}
        lines += [
            "| figure | value |",
            "|---|---|",
            *(f"| {key} | {cell(value)} |" for key, value in figures.items()),
            "",
        ]
    lines += ["```", entry["output"].strip() or "(no output)", "```", ""]
    if entry["error"]:
        lines += ["Error output:", "", "```", entry["error"].strip(), "```", ""]
    return lines


def report(entries, info, never_run=()):
    """RESULTS.md from the stored entries; `never_run` names the benches with no stored run at all."""
    missed = [entry["script"] for entry in entries if status(entry) != "ok"] + list(never_run)
    lines = [
        "# Benchmark results",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` from bench/results/*.json: each section is "
        "that script's last run (scale 1.0 is each issue's full size; `BENCH_ONLY=a,b make bench` re-runs some).",
        "",
        f"Not ok: {', '.join(missed)}." if missed else "Every goal met.",
        "",
        *summary(entries),
        *(f"| {name} | (never run at this scale) | - | - | **NOT RUN** |" for name in never_run),
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
    ]
    for entry in entries:
        lines += section(entry)
    return "\n".join(lines)


def stored_entries():
    return [json.loads(path.read_text()) for path in sorted(RESULTS_DIR.glob("*.json"))]


def never_run(entries, scripts):
    stored = {entry["script"] for entry in entries}
    return [script.name for script in scripts if script.name not in stored]


def write_report():
    """Rebuild RESULTS.md from bench/results/ (also without running anything)."""
    entries = stored_entries()
    RESULTS_MD.write_text(report(entries, machine(), never_run(entries, all_scripts())))


def main():
    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    scripts = select(all_scripts(), os.environ.get("BENCH_ONLY"))
    RESULTS_DIR.mkdir(exist_ok=True)
    runs = []
    for script in scripts:
        print(f"--- {script.name} (scale {scale})", flush=True)
        entry = run(script, scale)
        print(entry["output"][-2000:], entry["error"], sep="\n", flush=True)
        (RESULTS_DIR / f"{script.stem}.json").write_text(json.dumps(entry, indent=1) + "\n")
        runs.append(entry)
    write_report()
    print(f"wrote {RESULTS_MD} ({len(runs)} run now, the others from bench/results/)")
    for entry in runs:
        print(f"{entry['script']}: {status(entry)}")
    return 0 if all(entry["exit_status"] == 0 for entry in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
