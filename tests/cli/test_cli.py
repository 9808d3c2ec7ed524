"""The ``labelloop`` command end to end on a temporary project."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from labelloop.cli import app
from labelloop.data.demo import DIGITS_CLASSES, write_digits

runner = CliRunner()


def _ok(*args: str | Path) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def _fails(*args: str | Path) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def source(tmp_path: Path) -> Path:
    digits = write_digits(tmp_path / "digits")
    src = tmp_path / "src"
    src.mkdir()
    for digit in ("0", "1", "2"):
        for path in sorted((digits / digit).glob("*.png"))[:12]:
            (src / f"{digit}_{path.name}").write_bytes(path.read_bytes())
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return src


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item", "label"])
        writer.writerows(rows)
    return path


def test_full_session(tmp_path: Path, source: Path) -> None:
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "0,1,2", "--learner", "logreg", "--batch-size", "6")
    out = runner.invoke(app, ["import", str(proj), str(source)])
    assert out.exit_code == 0
    assert "imported 36 (0 labeled), duplicate 0, rejected 1" in out.stdout
    assert "broken.png" in out.output

    _ok("train", proj)
    queue = json.loads(_ok("query", proj, "--json"))
    assert len(queue) == 6
    labels = [(str(q["item"]), q["name"][0]) for q in queue]
    _ok("label", proj, _write_csv(tmp_path / "b1.csv", labels), "--annotator", "alice")
    after = json.loads(_ok("query", proj, "--json"))
    assert len(after) == 6 and {q["item"] for q in after}.isdisjoint(int(i) for i, _ in labels)

    trained = _ok("train", proj)
    assert "round 2: 6 labels, strategy margin" in trained
    queue = json.loads(_ok("query", proj, "--json"))
    assert {q["item"] for q in queue}.isdisjoint(int(i) for i, _ in labels)
    assert all(q["score"] is not None for q in queue)

    status = json.loads(_ok("status", proj, "--json"))
    assert status["labels_by_source"]["human"] == 6
    assert status["items"] == 36 and status["rounds"] == 2
    assert status["queued"] == 36 - status["labeled"]
    # The table says what "queued" is: the ranking, whose head is the batch `query` shows.
    table = _ok("status", proj)
    assert "ranked to label" in table
    assert f"{status['queued']} (the next batch is the first 6)" in table

    first = labels[0][0]
    fixed = "1" if labels[0][1] != "1" else "2"
    _ok("label", proj, _write_csv(tmp_path / "fix.csv", [(first, fixed)]), "--annotator", "bob")
    history = json.loads(_ok("history", proj, first, "--json"))
    assert [(e["value"], e["annotator"], e["action"]) for e in history] == [
        (labels[0][1], "alice", "label"),
        (fixed, "bob", "correct"),
    ]
    assert history[1]["supersedes"] == history[0]["event"]

    # The snapshot round 2 trained on still has the original label.
    exported = json.loads(_ok("export", proj, "--snapshot", "2", "--format", "json"))
    assert {str(r["item"]): r["label"] for r in exported["labels"]}[first] == labels[0][1]
    current = _ok("export", proj, "--format", "csv")
    rows = list(csv.DictReader(current.splitlines()))
    assert {r["item"]: r["label"] for r in rows}[first] == fixed and len(rows) == 6
    assert "strategy: margin" in _ok("config", proj)


def test_bad_inputs_are_refused_with_reasons(tmp_path: Path, source: Path) -> None:
    proj = tmp_path / "proj"
    assert "unknown strategy 'best'" in _fails(
        "init", proj, "--classes", "a,b", "--strategy", "best"
    )
    assert "classes" in _fails("init", proj, "--classes", "a,a")
    _ok("init", proj, "--classes", "0,1,2")
    assert "already a labelloop project" in _fails("init", proj, "--classes", "0,1")
    _ok("import", proj, source)
    some = json.loads(_ok("export", proj, "--format", "json"))["labels"]
    assert some == []

    items = [str(i) for i in range(1, 4)]
    bad = _write_csv(tmp_path / "bad.csv", [(items[0], "0"), (items[1], "7"), ("999", "1")])
    message = _fails("label", proj, bad, "--annotator", "a")
    assert "line 3" in message and "'7'" in message and "line 4" in message
    assert "nothing recorded" in message
    assert json.loads(_ok("status", proj, "--json"))["labeled"] == 0

    no_header = tmp_path / "nohead.csv"
    no_header.write_text("1,0\n")
    assert "item,label" in _fails("label", proj, no_header, "--annotator", "a")
    assert "not a labelloop project" in _fails("status", tmp_path / "nowhere")


def test_import_with_labels_reports_unknown_class(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for label in ("cat", "zebra"):
        (src / label).mkdir(parents=True)
    Image.new("L", (8, 8), 10).save(src / "cat" / "a.png")
    Image.new("L", (8, 8), 20).save(src / "zebra" / "b.png")
    Image.new("L", (8, 8), 10).save(src / "cat" / "copy.png")
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "cat,dog")
    result = runner.invoke(app, ["import", str(proj), str(src)])
    assert result.exit_code == 0
    assert "imported 1 (1 labeled), duplicate 1, rejected 1" in result.stdout
    assert "zebra" in result.output


def test_simulate_command(tmp_path: Path) -> None:
    out = _ok(
        "simulate",
        "--dataset",
        "digits",
        "--strategies",
        "random,least_confidence",
        "--learner",
        "logreg",
        "--seed-size",
        "20",
        "--batch-size",
        "20",
        "--budget",
        "60",
        "--repeats",
        "1",
        "--out",
        tmp_path / "run",
    )
    assert "random" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert set(summary["strategies"]) == {"random", "least_confidence"}
    assert (tmp_path / "run" / "curves.png").is_file()
    assert "unknown" in _fails("simulate", "--strategies", "nope", "--out", tmp_path / "x")


def test_migrate_upgrades_an_old_schema(tmp_path: Path) -> None:
    from labelloop.store import make_engine, sqlite_url

    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "a,b")
    engine = make_engine(sqlite_url(proj / "labelloop.db"))
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE rounds DROP COLUMN ready")  # 0009
        for index in ("ix_queue_entries_round_score", "ix_queue_entries_round_confidence"):  # 0008
            conn.exec_driver_sql(f"DROP INDEX {index}")
        for table in ("external_annotations", "external_tasks"):  # 0007
            conn.exec_driver_sql(f"DROP TABLE {table}")
        for column in ("worker", "heartbeat_at"):  # 0006
            conn.exec_driver_sql(f"ALTER TABLE training_runs DROP COLUMN {column}")
        conn.exec_driver_sql("DROP TABLE config_changes")  # 0005
        for table in ("metadata_values", "item_flags", "monitor_reports"):  # 0004
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("DROP INDEX ix_queue_entries_item")
        conn.exec_driver_sql("DROP INDEX ix_leases_skipped")
        conn.exec_driver_sql("DROP INDEX ix_items_project_labeled")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
    engine.dispose()
    assert "labelloop migrate" in _fails("status", proj)
    assert "up to date" in _ok("migrate", proj)
    assert json.loads(_ok("status", proj, "--json"))["items"] == 0


def test_piped_output_never_wraps_whatever_the_terminal_width(tmp_path: Path) -> None:
    """A script reading piped output sees each message on one line, even at COLUMNS=20."""
    import os
    import subprocess
    import sys

    proj = tmp_path / ("a-project-folder-with-a-name-much-longer-than-twenty-columns" * 2)
    env = {**os.environ, "COLUMNS": "20", "TERM": "xterm-256color"}
    command = [sys.executable, "-c", "from labelloop.cli import app; app()"]
    init = subprocess.run(
        [*command, "init", str(proj), "--classes", "cat,dog"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert f"Created project {proj.name} in {proj}" in init.stdout.splitlines()
    migrate = subprocess.run(
        [*command, "migrate", str(proj)], capture_output=True, text=True, env=env, check=True
    )
    assert migrate.stdout.splitlines() == [f"{proj}: schema is up to date"]


def test_import_fails_when_every_file_is_rejected(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "a,b")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "one.png").write_bytes(b"not an image")
    (bad / "two.jpg").write_bytes(b"")
    output = _fails("import", proj, bad)
    assert "rejected 2" in output and "no file was imported" in output


def test_several_server_processes_need_postgresql_and_a_worker(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "a,b")
    refused = _fails("serve", proj, "--workers", "2")
    assert "needs a PostgreSQL database" in refused and "--database-url" in refused
    assert "inline or worker" in _fails("serve", proj, "--training", "sometimes")
    # With nothing queued, a worker run once has nothing to do and says so.
    assert "worker stopped after 0 run(s)" in _ok("worker", proj, "--once")


def test_ids_beyond_the_database_range_are_plain_errors(tmp_path: Path, source: Path) -> None:
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", ",".join(DIGITS_CLASSES))
    _ok("import", proj, source)
    huge = str(2**64)
    assert "no item has the id, sha256 or imported name" in _fails("history", proj, huge)
    rows = tmp_path / "labels.csv"
    rows.write_text(f"item,label\n{huge},3\n")
    assert f"no item matches '{huge}'" in _fails("label", proj, rows, "--annotator", "a")
    refused = runner.invoke(app, ["export", str(proj), "--snapshot", huge])
    assert refused.exit_code == 2 and "Traceback" not in refused.output


def test_text_that_looks_like_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    """A label or file name such as "[/x]" is data: it is printed, not read as styling."""
    from PIL import Image

    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "cat,[bold]dog")
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("a.png", "b.png", "[red]c.png"):
        Image.new("L", (8, 8), 40 * len(name)).save(flat / name)
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("filename,label\na.png,cat\nb.png,[/oops]\n[red]c.png,[bold]dog\n")
    result = runner.invoke(app, ["import", str(proj), str(flat), "--labels", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "[/oops]" in result.output
    assert "imported " in result.output
    status = json.loads(_ok("status", proj, "--json"))
    assert status["items"] >= 2


def test_accounts_from_the_command_line(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "a,b")
    assert "no accounts yet" in _ok("user", "list", proj)
    _ok("user", "add", proj, "boss", "--role", "admin", "--password", "long-enough-1")
    _ok("user", "add", proj, "ann", "--password", "long-enough-2")
    listed = json.loads(_ok("user", "list", proj, "--json"))
    assert [(u["username"], u["role"], u["active"]) for u in listed] == [
        ("boss", "admin", True),
        ("ann", "annotator", True),
    ]
    assert "last active admin" in _fails("user", "disable", proj, "boss")
    _ok("user", "disable", proj, "ann")
    assert not json.loads(_ok("user", "list", proj, "--json"))[1]["active"]
    _ok("user", "enable", proj, "ann")
    assert "new password for ann: " in _ok("user", "passwd", proj, "ann")
    assert "ann has no API tokens" in _ok("user", "tokens", proj, "ann")
    assert "no API token 7" in _fails("user", "tokens", proj, "ann", "--revoke", "7")
    assert "no user named 'nobody'" in _fails("user", "tokens", proj, "nobody")


def test_serve_on_a_busy_port_fails_at_once_and_says_which_option(tmp_path: Path) -> None:
    import socket

    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "a,b")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = _fails("serve", proj, "--port", str(port))
    assert f"cannot listen on 127.0.0.1:{port}" in refused and "--port" in refused


def test_export_names_the_formats_and_snapshots_that_exist(tmp_path: Path, source: Path) -> None:
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", ",".join(DIGITS_CLASSES))
    _ok("import", proj, source)
    wrong = _fails("export", proj, "--format", "jsn")
    assert "csv, json, imagefolder for this classification project" in wrong
    assert "coco" not in wrong
    assert "none yet" in _fails("export", proj, "--snapshot", "5")
    assert "no snapshots yet" in _ok("snapshots", proj)
    _ok("train", proj)
    listed = json.loads(_ok("snapshots", proj, "--json"))
    assert len(listed) == 1
    missing = _fails("export", proj, "--snapshot", "99")
    assert f"the latest are: {listed[0]['id']}" in missing


def test_a_database_that_is_down_is_named_and_leaves_nothing_behind(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    # The spelling libpq and hosting services use; port 1 refuses at once.
    url = "postgres://someone:secret@127.0.0.1:1/labels"
    failed = _fails("init", proj, "--classes", "a,b", "--database-url", url)
    assert "cannot use the database postgresql+psycopg://someone:***@127.0.0.1:1/labels" in failed
    assert "secret" not in failed
    assert not proj.exists(), "a failed init left a project folder behind"


def test_instructions_are_set_from_a_markdown_file_and_cleared(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", "a,b")
    assert "(no instructions)" in _ok("instructions", proj)
    guide = tmp_path / "guide.md"
    guide.write_text("# Rules\n\nBox every **car**.\n")
    assert "instructions set (28 characters)" in _ok("instructions", proj, guide)
    assert "Box every **car**." in _ok("instructions", proj)
    history = json.loads(_ok("config", proj, "--history", "--json"))
    assert history[-1]["key"] == "instructions"
    _ok("instructions", proj, "--clear")
    assert "(no instructions)" in _ok("instructions", proj)


def test_init_help_lists_every_registered_strategy_and_learner() -> None:
    import re

    from labelloop.learners.registry import DETECTION_LEARNERS, LEARNERS
    from labelloop.strategies.registry import DETECTION_STRATEGIES, STRATEGIES

    result = runner.invoke(app, ["init", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    words = set(re.findall(r"[a-z0-9_]+", result.output))
    for registry in (STRATEGIES, DETECTION_STRATEGIES, LEARNERS, DETECTION_LEARNERS):
        assert set(registry.names()) <= words, registry.kind
