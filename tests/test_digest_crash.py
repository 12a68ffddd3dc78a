"""A digest is recorded, with its text, before its file is written, and confirmed after: a kill
before or after the write is finished by the next run, which writes (or keeps) that file instead
of building a `-2` copy of the same items."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from fakes import HashingEmbedder
from test_digest import NOW, TOPICS, config, fill, options, paper

from paperfeed.digest.run import run_digest
from paperfeed.store import Store

TRIALS = 10

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from fakes import HashingEmbedder
    from test_digest import config, options
    from paperfeed.digest import run
    from paperfeed.store import Store

    write = run.write_digest

    def killed_around_writing(path, text):
        if sys.argv[3] == "after":
            write(path, text)
        os.kill(os.getpid(), signal.SIGKILL)

    run.write_digest = killed_around_writing
    embedder = HashingEmbedder()
    with Store.open(Path(sys.argv[1])) as store:
        run.run_digest(store, config(embedder.model_name), embedder.query, options(),
                       folder=Path(sys.argv[2]))
    """
)


def _template(tmp_path: Path) -> Path:
    db = tmp_path / "template.duckdb"
    with Store.open(db) as store:
        fill(store, HashingEmbedder(), [paper(n, TOPICS[n % 4]) for n in range(60)], "arxiv")
    return db


def test_kill_between_record_and_write_leaves_one_file_and_no_repeats(tmp_path: Path) -> None:
    template = _template(tmp_path)
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent)))
    embedder = HashingEmbedder()
    outcomes = []
    for trial in range(TRIALS):
        db, folder = tmp_path / f"t{trial}.duckdb", tmp_path / f"digests{trial}"
        shutil.copy(template, db)
        when = "after" if trial % 2 else "before"  # the file written or not, never confirmed
        command = [sys.executable, str(script), str(db), str(folder), when]
        assert subprocess.run(command, timeout=120).returncode == -9

        with Store.open(db) as store:
            rerun = run_digest(
                store, config(embedder.model_name), embedder.query, options(), folder=folder
            )
            sent = store.conn.execute("SELECT item_id FROM digest_items").fetchall()
            digests = store.conn.execute("SELECT count(*) FROM digests").fetchone()
        files = sorted(p.name for p in folder.iterdir())
        outcomes.append(
            (
                files == [f"{rerun.period}.md"],
                rerun.finished is not None and rerun.items == len(sent) > 0,
                len(sent) == len(set(sent)),
                digests == (1,),
                (folder / files[0]).read_text() == rerun.markdown,
            )
        )
    assert outcomes == [(True, True, True, True, True)] * TRIALS
    assert NOW  # the window of `options()` ends at NOW: every trial ranks the same items


def test_a_normal_run_is_confirmed_written_and_never_rewritten(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    with Store.open(_template(tmp_path)) as store:
        cfg = config(embedder.model_name)
        first = run_digest(store, cfg, embedder.query, options(), folder=tmp_path / "d")
        assert first.path is not None and store.digests.unwritten() == []
        first.path.unlink()  # the learner deletes a digest: it is not written back
        second = run_digest(store, cfg, embedder.query, options(), folder=tmp_path / "d")
    assert second.finished is None and first.digest and second.digest
    assert second.markdown != first.markdown
    first_ids = {e.item.id for e in first.digest.entries}
    assert not first_ids & {e.item.id for e in second.digest.entries}
