"""Run every benchmark under bench/ on PostgreSQL + Redis and write bench/RESULTS.md.

Each script prints its figures and a final `BENCH_RESULT {json}` line. BENCH_SCALE (default 1.0) is passed to
each as --scale, so `BENCH_SCALE=0.05 make bench` gives a quick, smaller run.
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
        "ok": proc.returncode == 0,
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
        "output": proc.stdout[-6000:],
        "error": proc.stderr[-3000:] if proc.returncode else "",
    }


def report(runs, scale, info):
    lines = [
        "# Benchmark results",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` (scale {scale}; 1.0 is each issue's full size).",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in info.items()),
        "",
    ]
    for entry in runs:
        lines += [f"## {entry['script']} ({'ok' if entry['ok'] else 'FAILED'}, {entry['seconds']} s)", ""]
        for result in entry["results"]:
            lines += ["| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in result.items()), ""]
        lines += ["```", entry["output"].strip() or "(no output)", "```", ""]
        if entry["error"]:
            lines += ["Error output:", "", "```", entry["error"].strip(), "```", ""]
    return "\n".join(lines)


def main():
    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    scripts = sorted(p for p in BENCH_DIR.glob("*.py") if not p.name.startswith(("_", "run_all")))
    runs = []
    for script in scripts:
        print(f"--- {script.name} (scale {scale})", flush=True)
        entry = run(script, scale)
        print(entry["output"][-2000:], entry["error"], sep="\n", flush=True)
        runs.append(entry)
    (BENCH_DIR / "RESULTS.md").write_text(report(runs, scale, machine()))
    print(f"wrote {BENCH_DIR / 'RESULTS.md'}")
    return 0 if all(entry["ok"] for entry in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
