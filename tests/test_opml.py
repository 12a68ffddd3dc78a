"""OPML parsing and import into sources.yaml: safe XML, idempotent, comments kept, atomic write."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import shared_path

from paperfeed import files
from paperfeed.config import load_config, parse_config
from paperfeed.errors import ConfigError, ParseError
from paperfeed.keys import normalize_url
from paperfeed.opml import OpmlFeed, add_feeds, append_sources, parse_opml

REPO = Path(__file__).resolve().parents[1]
OPML_FILES = ["kilimchoi_engineering_blogs.opml", "turing_ai-rss-feeds.opml"]


def outlines_with_feed(path: Path) -> list[ET.Element]:
    """Independent count: every <outline> carrying an xmlUrl (trusted fixture, plain etree)."""
    return [o for o in ET.parse(path).iter("outline") if o.get("xmlUrl")]


def opml_doc(body: str) -> bytes:
    return f'<?xml version="1.0"?>\n<opml version="2.0"><head/><body>{body}</body></opml>'.encode()


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    shutil.copy(REPO / "sources.yaml", path)
    return path


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("name", OPML_FILES)
def test_parse_shared_opml(name: str) -> None:
    path = shared_path(f"fixtures/feeds/opml/{name}")
    feeds = parse_opml(path.read_bytes())
    expected = outlines_with_feed(path)
    assert len(feeds) == len(expected) > 0
    assert [f.xml_url for f in feeds] == [o.get("xmlUrl").strip() for o in expected]
    assert [f.title for f in feeds] == [" ".join(o.get("title").split()) for o in expected]
    assert all(
        f.html_url == (o.get("htmlUrl") or None) for f, o in zip(feeds, expected, strict=True)
    )


def test_nested_outlines_and_missing_titles() -> None:
    body = opml_doc(
        '<outline text="ML"><outline text="Labs">'
        '<outline type="rss" xmlUrl="https://a.example/feed" htmlUrl="https://www.a.example/"/>'
        '</outline><outline text="  Spaced\n  title " xmlUrl="https://b.example/rss"/></outline>'
        '<outline xmlURL="https://c.example/atom.xml"/>'
        '<outline text="folder without feed"/>'
    )
    feeds = parse_opml(body)
    assert feeds == [
        OpmlFeed("www.a.example", "https://a.example/feed", "https://www.a.example/"),
        OpmlFeed("Spaced title", "https://b.example/rss", None),
        OpmlFeed("c.example", "https://c.example/atom.xml", None),
    ]


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/opml.dtd">',
    ],
)
def test_doctype_and_entities_are_refused(doctype: str) -> None:
    body = (
        f'<?xml version="1.0"?>\n{doctype}\n<opml><body>'
        '<outline text="&x;" xmlUrl="https://a.example/feed"/></body></opml>'
    ).encode()
    with pytest.raises(ParseError, match="DOCTYPE"):
        parse_opml(body, name="evil.opml")


def test_malformed_and_foreign_xml() -> None:
    with pytest.raises(ParseError, match=r"^f\.opml:3: not well-formed"):
        parse_opml(b"<opml>\n<body>\n<outline></body></opml>", name="f.opml")
    with pytest.raises(ParseError, match="not an OPML file"):
        parse_opml(b"<rss><channel/></rss>")


# ---------------------------------------------------------------- adding to sources.yaml


@pytest.mark.parametrize("name", OPML_FILES)
def test_add_shared_opml_then_again_adds_nothing(config_copy: Path, name: str) -> None:
    path = shared_path(f"fixtures/feeds/opml/{name}")
    before = load_config(config_copy)
    configured = {normalize_url(s.url) for s in before.sources if s.url}
    unique_new = {normalize_url(o.get("xmlUrl")) for o in outlines_with_feed(path)} - configured

    first = add_feeds(config_copy, parse_opml(path.read_bytes()))
    assert len(first.added) == len(unique_new)
    assert len(first.added) + len(first.skipped) == len(outlines_with_feed(path))
    after = load_config(config_copy)
    assert len(after.sources) == len(before.sources) + len(unique_new)
    assert {normalize_url(s.url) for s in after.sources if s.url} == configured | unique_new
    assert after.focus_areas == before.focus_areas and after.schedules == before.schedules

    text = config_copy.read_text()
    second = add_feeds(config_copy, parse_opml(path.read_bytes()))
    assert second.added == []
    assert len(second.skipped) == len(outlines_with_feed(path))
    assert config_copy.read_text() == text


def test_comments_and_layout_are_preserved(config_copy: Path) -> None:
    old_lines = config_copy.read_text().splitlines()
    feeds = [
        OpmlFeed("New Blog", "https://new.example/feed"),
        OpmlFeed("Other", "https://o.example/rss"),
    ]
    add_feeds(config_copy, feeds)
    new_lines = config_copy.read_text().splitlines()
    remaining = iter(new_lines)
    assert all(line in remaining for line in old_lines), "original lines kept, in order"
    extra = len(new_lines) - len(old_lines)
    assert extra == 8  # two items of three lines, each after a blank line like the shipped ones
    comments = [line for line in new_lines if line.lstrip().startswith("#")]
    assert comments == [line for line in old_lines if line.lstrip().startswith("#")]
    focus = new_lines.index("focus_areas:")
    assert "  - name: Other" in new_lines[:focus]


def test_name_clashes_get_suffixes(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources:\n  - name: Netflix\n    type: feed\n    url: https://n.example/a\n")
    feeds = [OpmlFeed("Netflix", f"https://n.example/{x}") for x in ("b", "c")]
    report = add_feeds(path, [*feeds, OpmlFeed("Netflix", "http://www.n.example/a/")])
    assert report.added == ["Netflix-2", "Netflix-3"]
    assert report.skipped == [("http://www.n.example/a/", "already in sources as 'Netflix'")]
    assert [s.name for s in load_config(path).sources] == ["Netflix", "Netflix-2", "Netflix-3"]


def test_awkward_titles_survive_the_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources: []  # start empty\n")
    titles = ["null", "true", "123", "a: b # c", '"quoted"', "- dash", "Ünïcödé ✓"]
    feeds = [OpmlFeed(t, f"https://t.example/{i}?q=a#frag") for i, t in enumerate(titles)]
    assert add_feeds(path, feeds).added == titles
    loaded = load_config(path).sources
    assert [s.name for s in loaded] == titles
    assert [s.url for s in loaded] == [f.xml_url for f in feeds]


def test_skips_non_http_and_in_file_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources: []\n")
    feeds = [
        OpmlFeed("a", "feed://x.example/rss"),
        OpmlFeed("b", "https://x.example/rss"),
        OpmlFeed("c", "https://x.example/rss/"),
    ]
    report = add_feeds(path, feeds)
    assert report.added == ["b"]
    assert [reason for _, reason in report.skipped] == [
        "not an http(s) URL",
        "listed twice in the OPML (added as 'b')",
    ]


def test_dry_run_writes_nothing(config_copy: Path) -> None:
    text = config_copy.read_bytes()
    feeds = [OpmlFeed("New Blog", "https://new.example/feed")]
    assert add_feeds(config_copy, feeds, dry_run=True).added == ["New Blog"]
    assert config_copy.read_bytes() == text


def test_missing_config_is_created(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "sources.yaml"
    add_feeds(path, [OpmlFeed("A", "https://a.example/feed")])
    assert [(s.name, s.type) for s in load_config(path).sources] == [("A", "feed")]


def test_invalid_config_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources:\n  - name: a\n    typo: feed\n")
    with pytest.raises(ConfigError, match=r"s\.yaml:3: sources\[0\]\.typo"):
        add_feeds(path, [OpmlFeed("A", "https://a.example/feed")])
    assert path.read_text() == "sources:\n  - name: a\n    typo: feed\n"


def test_flow_list_with_items_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources: [{name: a, type: feed, url: 'https://a.example/f'}]\n")
    with pytest.raises(ConfigError, match="write it as `- name: ...` items"):
        add_feeds(path, [OpmlFeed("B", "https://b.example/feed")])


@pytest.mark.parametrize(
    "text",
    [
        "sources:\n- name: a\n  type: feed\n  url: https://a.example/f",  # no final newline
        "sources:\r\n  - name: a\r\n    type: feed\r\n    url: https://a.example/f\r\n",  # CRLF
        "sources:\n    -   name: a\n        type: feed\n        url: https://a.example/f\n"
        "        tags:\n          - x\n          - y   # trailing comment\n\n# areas\n"
        "focus_areas: []\n",
        "sources:\n  - name: a\n    type: html\n    url: https://a.example/\n    selectors:\n"
        "      item: li\n      title: h2\n      link: a\nsettings:\n  model: m\n",
    ],
)
def test_append_keeps_odd_layouts_valid(text: str) -> None:
    entries = [("B", "https://b.example/feed")]
    updated = append_sources(text, Path("s.yaml"), entries)
    config = parse_config(updated, Path("s.yaml"))
    assert [(s.name, s.url) for s in config.sources][-1] == entries[0]
    assert len(config.sources) == 2
    new_lines = updated.splitlines()
    start = next(i for i, line in enumerate(new_lines) if line.endswith("name: B"))
    assert new_lines[:start] + new_lines[start + 3 :] == text.splitlines()
    assert ("\r\n" in text) == ("\n" not in updated.replace("\r\n", ""))


def test_failed_write_leaves_the_old_file(
    config_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = config_copy.read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        add_feeds(config_copy, [OpmlFeed("New", "https://new.example/feed")])
    assert config_copy.read_bytes() == text
    assert sorted(p.name for p in config_copy.parent.iterdir()) == ["sources.yaml"]


def test_write_is_fsynced_and_keeps_mode(
    config_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_copy.chmod(0o600)
    synced: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", spy)
    add_feeds(config_copy, [OpmlFeed("New", "https://new.example/feed")])
    assert synced, "the new file is flushed to disk before it replaces the old one"
    assert config_copy.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in config_copy.parent.iterdir()) == ["sources.yaml"]
