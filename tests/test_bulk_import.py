"""Bulk import of the arXiv metadata snapshot: parsing edge cases, gzip, bad lines, re-import."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import shared_path
from fakes import Recorder

from paperfeed.ingest.bulk import (
    SOURCE_NAME,
    import_arxiv_metadata,
    paper_from_record,
    parse_line,
    split_authors,
)
from paperfeed.store import Store
from paperfeed.text import parse_date

RECORDS = [
    {
        "id": "2401.00001",
        "title": "Attention  is\n all you need",
        "abstract": "  We propose\n a model. ",
        "authors": "A. One, B. Two and C. Three",
        "categories": "cs.LG stat.ML",
        "update_date": "2024-01-10",
        "versions": [
            {"version": "v1", "created": "2024-01-02T10:00:00+00:00"},
            {"version": "v2", "created": "2024-01-09T10:00:00+00:00"},
        ],
    },
    {
        "id": "hep-ph/0703001",
        "title": "Old &amp; <i>style</i>",
        "abstract": "Physics.",
        "authors": "D. Four",
        "categories": "hep-ph",
        "update_date": "2008-11-26",
        "versions": [
            {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
            {"version": "v3", "created": "Tue, 3 Apr 2007 08:00:00 GMT"},
        ],
    },
    {
        "id": "2401.00003",
        "title": "No versions",
        "abstract": "",
        "authors": "",
        "categories": "cs.AI",
        "update_date": "2024-01-05",
    },
    {
        "id": "2401.00001",
        "title": "Attention is all you need",
        "abstract": "Older copy.",
        "authors": "",
        "categories": "cs.LG",
        "update_date": "2024-01-02",
        "versions": [{"version": "v1", "created": "2024-01-02T10:00:00+00:00"}],
    },
]
BAD_LINES = [
    "not json at all",
    "[1, 2, 3]",
    json.dumps({"id": "nonsense", "title": "x"}),
    json.dumps({"id": "2401.00009"}),
    '{"id": "2401.00010", "title": "trunc',
]
GOOD_PAPERS = 3  # distinct ids in RECORDS


def write_jsonl(path: Path, *, compress: bool = False) -> Path:
    lines = (
        [json.dumps(r) for r in RECORDS[:2]]
        + BAD_LINES
        + [""]
        + [json.dumps(r) for r in RECORDS[2:]]
    )
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


# ---------------------------------------------------------------- pure parsing


def test_paper_from_record_fields() -> None:
    item = paper_from_record(RECORDS[0])
    assert (item.arxiv_id, item.arxiv_version, item.kind) == ("2401.00001", 2, "paper")
    assert (item.title, item.summary) == ("Attention is all you need", "We propose a model.")
    assert item.authors == ("A. One", "B. Two", "C. Three")
    assert item.categories == ("cs.LG", "stat.ML")
    assert item.published == datetime(2024, 1, 2, 10, tzinfo=UTC)  # the FIRST version
    assert item.url == "https://arxiv.org/abs/2401.00001"


def test_rfc2822_dates_old_ids_and_markup() -> None:
    item = paper_from_record(RECORDS[1])
    assert (item.arxiv_id, item.arxiv_version) == ("hep-ph/0703001", 3)
    assert item.published == datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)
    assert item.title == "Old & style"


def test_missing_versions_fall_back_to_update_date() -> None:
    item = paper_from_record(RECORDS[2])
    assert item.arxiv_version is None
    assert item.published == datetime(2024, 1, 5, tzinfo=UTC)
    assert (item.summary, item.authors) == ("", ())


@pytest.mark.parametrize("line", BAD_LINES)
def test_bad_lines_are_none_not_errors(line: str) -> None:
    assert parse_line(line) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T01:02:03+02:00", datetime(2024, 3, 4, 23, 2, 3, tzinfo=UTC)),
        ("Mon, 2 Apr 2007 19:18:42 GMT", datetime(2007, 4, 2, 19, 18, 42, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
        (17, None),
    ],
)
def test_parse_date(value: object, expected: datetime | None) -> None:
    assert parse_date(value) == expected


def test_split_authors() -> None:
    assert split_authors("Ana Lee, Bo Wu, and Cy Diaz") == ("Ana Lee", "Bo Wu", "Cy Diaz")
    assert split_authors("Ana Lee and Bo Wu") == ("Ana Lee", "Bo Wu")
    assert split_authors("") == ()


# ---------------------------------------------------------------- importing


@pytest.mark.parametrize(
    "name,compress",
    [("meta.jsonl", False), ("meta.jsonl.gz", True), ("gzip-without-extension.jsonl", True)],
)
def test_import_counts_bad_lines_and_reimport_adds_nothing(
    tmp_path: Path, name: str, compress: bool
) -> None:
    path = write_jsonl(tmp_path / name, compress=compress)
    store = Store.memory()
    progress = Recorder()
    first = import_arxiv_metadata(store, path, batch_size=2, progress=progress)
    assert (first.read, first.new, first.bad_lines) == (len(RECORDS), GOOD_PAPERS, len(BAD_LINES))
    assert progress.phases == [("importing", path.stat().st_size)]
    assert progress.done[-1] == path.stat().st_size and progress.done == sorted(progress.done)
    assert progress.summaries == [f"{len(RECORDS)} papers, {GOOD_PAPERS} new, 5 bad lines"]
    assert store.items.count() == GOOD_PAPERS
    assert store.items.count_by_source() == {SOURCE_NAME: GOOD_PAPERS}
    again = import_arxiv_metadata(store, path, batch_size=3)
    assert (again.new, again.updated, store.items.count()) == (0, 0, GOOD_PAPERS)


def test_a_later_duplicate_with_an_older_version_does_not_downgrade(tmp_path: Path) -> None:
    store = Store.memory()
    import_arxiv_metadata(store, write_jsonl(tmp_path / "m.jsonl"), batch_size=1)
    stored = store.items.get(store.items.resolve("2401.00001"))
    assert stored is not None
    assert (stored.arxiv_version, stored.summary) == (2, "We propose a model.")


def test_cli_import_json_report(tmp_path: Path) -> None:
    from paperfeed.cli import main

    path = write_jsonl(tmp_path / "meta.jsonl.gz", compress=True)
    home = tmp_path / "home"
    runner = CliRunner()
    args = ["--home", str(home), "import", "arxiv-metadata", str(path), "--json"]
    first = runner.invoke(main, [*args, "--batch-size", "2"])
    # 5 of these 9 lines are not papers: the report still comes, the good papers are kept,
    # and the exit status says the file looks wrong
    assert first.exit_code == 1 and "not arXiv papers" in first.stderr, first.output
    report = json.loads(first.stdout)
    assert (report["new"], report["bad_lines"]) == (GOOD_PAPERS, len(BAD_LINES))
    second = runner.invoke(main, args)
    assert json.loads(second.stdout)["new"] == 0
    with Store.open(home / "paperfeed.duckdb", read_only=True) as store:
        assert store.items.count() == GOOD_PAPERS


def test_cli_help_has_an_example() -> None:
    from paperfeed.cli import main

    result = CliRunner().invoke(main, ["import", "arxiv-metadata", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


@pytest.mark.slow
def test_import_of_the_65k_snapshot(tmp_path: Path) -> None:
    path = shared_path("data/arxiv_bulk/arxiv_metadata_65k.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        distinct_ids = {json.loads(line)["id"] for line in lines if line.strip()}
    with Store.open(tmp_path / "bulk.duckdb") as store:
        first = import_arxiv_metadata(store, path)
        assert first.bad_lines == 0
        assert store.items.count() == len(distinct_ids)
        second = import_arxiv_metadata(store, path)
        assert (second.new, second.updated) == (0, 0)
        assert store.items.count() == len(distinct_ids)


@pytest.mark.parametrize("kind", ["not-gzip", "truncated"])
def test_a_broken_gzip_is_a_one_line_error(tmp_path: Path, kind: str) -> None:
    import gzip

    from click.testing import CliRunner

    from paperfeed.cli import main

    path = tmp_path / "snapshot.jsonl.gz"
    lines = b"".join(
        b'{"id": "2401.%05d", "title": "t", "abstract": "a", "versions": []}\n' % n
        for n in range(3000)
    )
    whole = gzip.compress(lines)
    path.write_bytes(b"plain text, not gzip\n" if kind == "not-gzip" else whole[: len(whole) // 2])
    config = tmp_path / "sources.yaml"
    config.write_text("sources: []\n")

    result = CliRunner().invoke(
        main,
        [
            "--home",
            str(tmp_path / "h"),
            "--config",
            str(config),
            "import",
            "arxiv-metadata",
            str(path),
        ],
    )

    assert result.exit_code == 1
    assert result.output.startswith("error: ") and "unreadable gzip" in result.output
    assert result.output.count("\n") == 1


def test_an_rss_file_given_as_metadata_exits_non_zero(tmp_path: Path) -> None:
    from paperfeed.cli import main

    rss = tmp_path / "feed.xml"
    entries = "".join(
        f"  <item><title>Post {n}</title><link>https://blog.example/{n}</link></item>\n"
        for n in range(40)
    )
    rss.write_text(
        f'<?xml version="1.0"?>\n<rss version="2.0"><channel>\n{entries}</channel></rss>\n'
    )
    result = CliRunner().invoke(
        main, ["--home", str(tmp_path / "h"), "import", "arxiv-metadata", str(rss)]
    )
    assert result.exit_code == 1
    assert "43 of 43 lines" in result.stderr and "not arXiv papers" in result.stderr


def test_a_snapshot_record_keeps_the_page_count_of_its_comments() -> None:
    record = {"id": "2401.00001", "title": "T", "abstract": "A", "comments": "14 pages, 3 figures"}
    assert paper_from_record(record).pages == 14
    assert paper_from_record({**record, "comments": None}).pages is None
