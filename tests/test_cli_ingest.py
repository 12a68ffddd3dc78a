"""`paperfeed ingest` and `paperfeed status` through the real CLI: exit codes, JSON, embedding."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import shared_path
from fakes import EmbedderFactory
from ingest_helpers import feed_source, write_config
from server import FixtureServer, static, status

from paperfeed.cli import main
from paperfeed.embed import embedder

COLAH = "fixtures/feeds/ml_blogs_official/colah_rss.xml"
LILLOG = "fixtures/feeds/ml_blogs_official/lilianweng_index_2026-07.xml"


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> EmbedderFactory:
    fake = EmbedderFactory()
    monkeypatch.setattr(embedder, "load_embedder", fake)
    return fake


def _invoke(settings, *args: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    return runner.invoke(
        main, ["--home", str(settings.home), "--config", str(settings.config_path), *args]
    )


def test_ingest_all_ok_exits_0_and_embeds_new_items(
    tmp_path: Path, factory: EmbedderFactory
) -> None:
    with FixtureServer() as srv:
        srv.routes["/colah"] = static(shared_path(COLAH).read_bytes())
        settings = write_config(tmp_path, [feed_source("colah", srv.url("/colah"))])
        result = _invoke(settings, "ingest", "--json")
        again = _invoke(settings, "ingest", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["sources"][0]["status"] == "new"
    assert report["embedded"] == report["new"] > 0
    assert json.loads(again.output)["embedded"] == 0
    assert len(factory.loaded) == 1  # the second run loaded no model


def test_some_failed_exits_3_and_names_each(tmp_path: Path, factory: EmbedderFactory) -> None:
    with FixtureServer() as srv:
        srv.routes["/lil"] = static(shared_path(LILLOG).read_bytes())
        srv.routes["/broken"] = status(404)
        settings = write_config(
            tmp_path,
            [feed_source("lil", srv.url("/lil")), feed_source("broken", srv.url("/broken"))],
        )
        result = _invoke(settings, "ingest", "--no-embed", "--source", "lil", "--source", "broken")

    assert result.exit_code == 3
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:-1]}
    assert "new" in lines["lil"]
    assert "failed" in lines["broken"] and "404" in lines["broken"]
    assert "0 embedded" not in result.output  # --no-embed: no embedding step at all


def test_bad_config_exits_1_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  - name: x\n    type: feed\n    ulr: https://example.org\n")
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "--config", str(config), "ingest"])

    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert f"{config}:4" in result.output and "ulr" in result.output
    assert "Traceback" not in result.output


def test_unknown_source_name_is_a_clear_error(tmp_path: Path) -> None:
    settings = write_config(tmp_path, [feed_source("colah", "https://colah.github.io/rss.xml")])
    result = _invoke(settings, "ingest", "--source", "nope")
    assert result.exit_code == 2
    assert "no source 'nope'; known: 'colah'" in result.output


def test_ingest_source_takes_a_case_insensitive_name_and_refuses_a_disabled_one(
    tmp_path: Path, factory: EmbedderFactory
) -> None:
    with FixtureServer() as srv:
        srv.routes["/colah"] = static(shared_path(COLAH).read_bytes())
        settings = write_config(
            tmp_path,
            [
                feed_source("Colah Blog", srv.url("/colah")),
                feed_source("Quiet", srv.url("/colah"), enabled=False),
            ],
        )
        fetched = _invoke(settings, "ingest", "--source", "colah blog", "--json")
        refused = _invoke(settings, "ingest", "--source", "Quiet")
    assert fetched.exit_code == 0, fetched.output
    assert [s["name"] for s in json.loads(fetched.stdout)["sources"]] == ["Colah Blog"]
    assert refused.exit_code == 1 and "'Quiet' is `enabled: false`" in refused.stderr


def test_status_json_sums_up_and_names_the_sources_needing_attention(
    tmp_path: Path, factory: EmbedderFactory
) -> None:
    with FixtureServer() as srv:
        srv.routes["/colah"] = static(shared_path(COLAH).read_bytes())
        srv.routes["/gone"] = status(410)
        settings = write_config(
            tmp_path,
            [feed_source("colah", srv.url("/colah")), feed_source("gone", srv.url("/gone"))],
        )
        _invoke(settings, "ingest", "--no-embed")
    result = _invoke(settings, "status", "--json")

    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["items"] > 0 and state["embedded"] == 0
    assert state["sources"] == {"total": 2, "ok": 1, "failing": 0, "disabled": 1, "off": 0}
    assert [row["name"] for row in state["attention"]] == ["gone"]
    assert datetime.fromisoformat(state["last_ingest"]).tzinfo is not None
    text = _invoke(settings, "status").stdout
    assert re.search(r"last fetch \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \((just now|\d+ min ago)\)", text)
    assert "  gone: disabled: " in text


def test_list_rejects_an_unknown_area_with_a_hint(tmp_path: Path) -> None:
    settings = write_config(
        tmp_path,
        [feed_source("colah", "https://colah.github.io/rss.xml")],
        focus_areas=[{"name": "NLP & LLMs", "description": "language models"}],
    )
    result = _invoke(settings, "list", "--area", "NLP")
    assert result.exit_code == 2
    assert "did you mean 'NLP & LLMs'" in result.output
    assert _invoke(settings, "list", "--area", "NLP & LLMs").exit_code == 0


def test_digest_without_focus_areas_still_renders(
    tmp_path: Path, factory: EmbedderFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Focus areas are optional in sources.yaml: the digest then has no area sections but
    still its highlights, progress and needs-attention sections (no crash on vector widths)."""
    from fakes import HashingEmbedder

    monkeypatch.setattr(embedder, "load_query_encoder", lambda _model: HashingEmbedder().query)
    with FixtureServer() as srv:
        srv.routes["/lil"] = static(shared_path(LILLOG).read_bytes())
        settings = write_config(tmp_path, [feed_source("lil", srv.url("/lil"))])
        assert _invoke(settings, "ingest").exit_code == 0
    result = _invoke(settings, "digest", "--dry-run", "--since", "2000-01-01")

    assert result.exit_code == 0, result.output
    assert "## Needs attention" in result.output
    assert "## Blog and newsletter highlights" in result.output
    assert result.stderr.startswith("warning: ") and "has no focus_areas" in result.stderr
