"""sources.yaml loading and validation (RELIABILITY B7): errors name the file, line and key."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from paperfeed.config import Config, load_config, parse_config
from paperfeed.errors import ConfigError
from paperfeed.yamlnodes import cron_problem

REPO = Path(__file__).resolve().parents[1]
MARK = "# <-"

VALID = """\
sources:
  - name: arXiv cs.LG
    type: arxiv
    categories: [cs.LG]
  - name: A blog
    type: feed
    url: https://example.org/feed.xml
focus_areas:
  - name: NLP
    description: language models
"""


def marked_line(text: str) -> int:
    """The 1-based line carrying the `# <-` marker: where the error must point."""
    lines = [i for i, line in enumerate(text.splitlines(), 1) if MARK in line]
    assert len(lines) == 1, "each bad config marks exactly one line"
    return lines[0]


def config_error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


# (id, text with the bad line marked, key the message must name, words it must contain)
BAD_CONFIGS = [
    ("unknown-top-key", "sources: []\nsorces: []  # <-\n", "sorces", "did you mean 'sources'"),
    (
        "unknown-source-key",
        "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n    wieght: 2  # <-\n",
        "sources[0].wieght",
        "did you mean 'weight'",
    ),
    (
        "weight-not-number",
        "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n    weight: high  # <-\n",
        "sources[0].weight",
        "expected a number",
    ),
    (
        "negative-weight",
        "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n    weight: -1  # <-\n",
        "sources[0].weight",
        "≥ 0",
    ),
    (
        "tags-not-list",
        "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n    tags: nlp  # <-\n",
        "sources[0].tags",
        "list",
    ),
    (
        "bad-type",
        "sources:\n  - name: a\n    type: rss  # <-\n    url: https://x.org/f\n",
        "sources[0].type",
        "arxiv, feed or html",
    ),
    (
        "feed-without-url",
        "sources:\n  - name: a  # <-\n    type: feed\n",
        "sources[0].url",
        "required",
    ),
    (
        "ftp-url",
        "sources:\n  - name: a\n    type: feed\n    url: ftp://x.org/f  # <-\n",
        "sources[0].url",
        "http(s) URL",
    ),
    (
        "duplicate-name",
        "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n"
        "  - name: a  # <-\n    type: feed\n    url: https://y.org/f\n",
        "sources[1].name",
        "first at line 2",
    ),
    (
        "arxiv-without-categories",
        "sources:\n  - name: a  # <-\n    type: arxiv\n    tags: [paper]\n",
        "sources[0].categories",
        "categories",
    ),
    (
        "arxiv-bad-category",
        "sources:\n  - name: a\n    type: arxiv\n    categories:\n      - cs.LG\n"
        "      - machine learning  # <-\n",
        "sources[0].categories[1]",
        "not an arXiv category",
    ),
    (
        "arxiv-category-not-in-the-taxonomy",
        "sources:\n  - name: a\n    type: arxiv\n    categories:\n      - cs.LLM  # <-\n",
        "sources[0].categories[0]",
        "'cs.LLM' is not an arXiv category (did you mean",
    ),
    (
        "arxiv-category-in-the-wrong-case",
        "sources:\n  - name: a\n    type: arxiv\n    categories: [cs.lg]  # <-\n",
        "sources[0].categories[0]",
        "did you mean 'cs.LG'?",
    ),
    (
        "loopback-feed-without-allow-private",
        "sources:\n  - name: a\n    type: feed\n    url: http://127.0.0.1:8000/feed.xml  # <-\n",
        "sources[0].url",
        "allow_private: true",
    ),
    (
        "private-arxiv-mirror-without-allow-private",
        "sources:\n  - name: a\n    type: arxiv\n    categories: [cs.LG]\n"
        "    base_url: http://10.0.0.5/api/query  # <-\n",
        "sources[0].base_url",
        "private or loopback address",
    ),
    (
        "localhost-page-without-allow-private",
        "sources:\n  - name: a\n    type: html\n    url: http://localhost:8080/  # <-\n"
        "    selectors: {item: li, title: h2}\n",
        "sources[0].url",
        "allow_private: true",
    ),
    (
        "page-size-too-big",
        "sources:\n  - name: a\n    type: arxiv\n    categories: [cs.LG]\n"
        "    page_size: 5000  # <-\n",
        "sources[0].page_size",
        "from 1 to 2000",
    ),
    (
        "url-on-arxiv",
        "sources:\n  - name: a\n    type: arxiv\n    categories: [cs.LG]\n"
        "    url: https://x.org  # <-\n",
        "sources[0].url",
        "not an option of arxiv sources",
    ),
    (
        "html-missing-title-selector",
        "sources:\n  - name: a\n    type: html\n    url: https://x.org/\n    selectors:\n"
        "      item: article  # <-\n      link: a\n",
        "sources[0].selectors.title",
        "required",
    ),
    (
        "html-bad-css",
        "sources:\n  - name: a\n    type: html\n    url: https://x.org/\n    selectors:\n"
        "      item: article\n      title: 'h2[['  # <-\n      link: a\n",
        "sources[0].selectors.title",
        "invalid CSS selector",
    ),
    (
        "enabled-not-bool",
        "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n"
        "    enabled: maybe  # <-\n",
        "sources[0].enabled",
        "true or false",
    ),
    (
        "name-not-text",
        "sources:\n  - name: 2024  # <-\n    type: feed\n    url: https://x.org/f\n",
        "sources[0].name",
        "expected text",
    ),
    (
        "duplicate-key",
        "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n"
        "    url: https://x.org/g  # <-\n",
        "sources[0].url",
        "duplicate key",
    ),
    (
        "focus-goal-negative",
        "sources: []\nfocus_areas:\n  - name: NLP\n    description: d\n    weekly_goal: -1  # <-\n",
        "focus_areas[0].weekly_goal",
        "whole number",
    ),
    (
        "focus-missing-description",
        "sources: []\nfocus_areas:\n  - name: NLP  # <-\n    keywords: [llm]\n",
        "focus_areas[0].description",
        "required",
    ),
    (
        "focus-duplicate",
        "sources: []\nfocus_areas:\n  - name: NLP\n    description: d\n"
        "  - name: NLP  # <-\n    description: e\n",
        "focus_areas[1].name",
        "duplicate focus area",
    ),
    (
        "settings-typo",
        "sources: []\nsettings:\n  modle: x  # <-\n",
        "settings.modle",
        "did you mean 'model'",
    ),
    (
        "bad-timezone",
        "sources: []\nsettings:\n  schedules:\n    timezone: Europe/Londn  # <-\n",
        "settings.schedules.timezone",
        "did you mean 'Europe/London'",
    ),
    (
        "bad-cron",
        "sources: []\nsettings:\n  schedules:\n    ingest: '0 25 * * *'  # <-\n",
        "settings.schedules.ingest",
        "hour",
    ),
    (
        "contact-not-address",
        "sources: []\nsettings:\n  contact: just me  # <-\n",
        "settings.contact",
        "e-mail",
    ),
    (
        "example-not-an-id",
        "sources: []\nfocus_areas:\n  - name: a\n    description: b\n"
        "    examples:\n      - 2104.12255\n      - not-a-paper  # <-\n",
        "focus_areas[0].examples[1]",
        "not an arXiv id",
    ),
    (
        "examples-not-list",
        "sources: []\nfocus_areas:\n  - name: a\n    description: b\n"
        "    examples: 2104.12255  # <-\n",
        "focus_areas[0].examples",
        "expected a list",
    ),
    (
        "exclude-not-a-word",
        "sources: []\nfocus_areas:\n  - name: a\n    description: b\n"
        "    exclude:\n      - '(survey'  # <-\n",
        "focus_areas[0].exclude[0]",
        "not a word or phrase",
    ),
    (
        "require-also-excluded",
        "sources: []\nfocus_areas:\n  - name: a\n    description: b\n"
        "    exclude: [Survey]\n    require: [graph, survey]  # <-\n",
        "focus_areas[0].require",
        "also in `exclude`",
    ),
    ("sources-missing", "focus_areas: []  # <-\n", "sources", "required"),
    ("sources-not-list", "sources:\n  name: a  # <-\n", "sources", "list"),
]


@pytest.mark.parametrize(
    ("text", "key", "words"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_names_file_line_and_key(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    message = config_error(text, tmp_path)
    path = tmp_path / "sources.yaml"
    assert message.startswith(f"{path}:{marked_line(text)}: {key}: "), message
    assert words in message


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = "sources:\n  - name: a\n    type: feed\n  url: [unclosed  # <-\n"
    message = config_error(text, tmp_path)
    match = re.match(rf"{re.escape(str(tmp_path / 'sources.yaml'))}:(\d+): invalid YAML", message)
    assert match, message
    assert int(match.group(1)) >= marked_line(text)


def test_python_tag_is_refused_without_running_it(tmp_path: Path) -> None:
    """B7: the payload creates a file when an unsafe loader builds it; ours builds nothing."""
    target = tmp_path / "pwned"
    payload = f"!!python/object/apply:builtins.open [{str(target)!r}, 'w']"
    text = f"sources:\n  - name: a\n    type: feed\n    url: {payload}  # <-\n"
    message = config_error(text, tmp_path)
    assert f"sources.yaml:{marked_line(text)}: sources[0].url: " in message
    assert "!!python/object/apply:builtins.open is not allowed" in message
    assert not target.exists()
    # Control: the same document does execute under an unsafe loader, so the test is meaningful.
    built = yaml.unsafe_load(text)
    built["sources"][0]["url"].close()
    assert target.exists()


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['echo hacked']",
        "!!python/name:os.system",
        "!!binary aGVsbG8=",
        "!custom value",
    ],
)
def test_any_tag_beyond_plain_yaml_is_refused(tmp_path: Path, payload: str) -> None:
    text = f"sources: []\nsettings:\n  model: {payload}  # <-\n"
    message = config_error(text, tmp_path)
    assert f":{marked_line(text)}: settings.model: YAML tag " in message
    assert "is not allowed in sources.yaml" in message


def test_tag_on_a_collection_is_refused(tmp_path: Path) -> None:
    text = "sources: !!python/object/apply:os.system  # <-\n  - echo hacked\n"
    assert f":{marked_line(text)}: sources: YAML tag" in config_error(text, tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "nope.yaml"))):
        load_config(tmp_path / "nope.yaml")


def test_empty_file(tmp_path: Path) -> None:
    assert ":1: sources: " in config_error("# nothing yet\n", tmp_path)


def test_valid_config_values_and_defaults() -> None:
    config = parse_config(VALID, Path("s.yaml"))
    assert isinstance(config, Config)
    arxiv, blog = config.sources
    assert (arxiv.type, arxiv.categories, arxiv.weight, arxiv.enabled) == (
        "arxiv",
        ("cs.LG",),
        1.0,
        True,
    )
    assert (blog.url, blog.line, arxiv.line) == ("https://example.org/feed.xml", 5, 2)
    assert config.focus_areas[0].weekly_goal is None
    assert config.model == "all-MiniLM-L6-v2"
    assert config.schedules.timezone == "UTC"
    assert config.source("A blog") is blog and config.source("nope") is None


def test_settings_block(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    text = VALID + (
        "settings:\n  model: sentence-transformers/all-mpnet-base-v2\n"
        "  digest_dir: ~/vault/digests\n  contact: me@example.org\n"
        "  schedules:\n    ingest: '@daily'\n    digest: '30 7 * * mon'\n"
        "    timezone: Asia/Tokyo\n"
    )
    config = parse_config(text, Path("s.yaml"))
    assert config.digest_dir == tmp_path / "vault" / "digests"
    assert config.model == "sentence-transformers/all-mpnet-base-v2"
    assert config.contact == "me@example.org"
    assert (config.schedules.ingest_cron, config.schedules.digest_cron) == (
        "@daily",
        "30 7 * * mon",
    )
    assert config.schedules.timezone == "Asia/Tokyo"


def test_type_options_are_kept() -> None:
    text = (
        "sources:\n  - name: q\n    type: arxiv\n    query: retrieval augmented generation\n"
        "    page_size: 100\n    max_results: 3000\n    lookback_days: 3\n"
        "    base_url: http://127.0.0.1:8080/api/query\n    allow_private: true\n"
        "  - name: h\n    type: html\n    url: https://x.org/\n    allow_private: true\n"
        "    selectors: {item: li.post, title: h2, link: a, date: time}\n"
    )
    arxiv, html = parse_config(text, Path("s.yaml")).sources
    assert arxiv.categories == () and arxiv.query == "retrieval augmented generation"
    assert dict(arxiv.options) == {
        "page_size": 100,
        "max_results": 3000,
        "lookback_days": 3,
        "base_url": "http://127.0.0.1:8080/api/query",
    }
    assert html.allow_private is True
    assert html.options["selectors"] == {
        "item": "li.post",
        "title": "h2",
        "link": "a",
        "date": "time",
    }


def test_empty_values_mean_defaults() -> None:
    text = "sources:\n  - name: a\n    type: feed\n    url: https://x.org/f\n    tags:\n"
    assert parse_config(text, Path("s.yaml")).sources[0].tags == ()


def test_alias_bomb_is_not_expanded(tmp_path: Path) -> None:
    """Anchors are composed as shared nodes; the schema walk stops at the first wrong shape."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    text = "\n".join(lines) + "\nsources: []\n"
    assert "unknown key" in config_error(text, tmp_path)


def key_alias_bomb() -> str:
    """Nine levels of lists of aliases, the last used as a mapping key (about 480 bytes)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n? *a8\n: boom\nsources: []\n"


def test_key_alias_bomb_is_refused_before_any_key_is_printed(tmp_path: Path) -> None:
    text = key_alias_bomb()
    message = config_error(text, tmp_path)
    assert len(text) < 600
    assert message.endswith(": a key must be plain text, not a list or a mapping")
    assert ":9: " in message  # an alias reports the line of its anchor, `a8: &a8 [...]`


def test_alias_as_a_key_is_refused(tmp_path: Path) -> None:
    text = "name: &n sources\n*n : []\n"
    assert "an alias (*name) cannot be a key" in config_error(text, tmp_path)


def test_a_file_over_one_megabyte_is_refused_unread(tmp_path: Path) -> None:
    text = "sources: []\n" + "# padding\n" * 120_000
    message = config_error(text, tmp_path)
    assert message.endswith("sources.yaml:1: top level: file is 1.1 MB; the limit is 1 MB")


@pytest.mark.parametrize(
    ("expression", "ok"),
    [
        ("0 6 * * *", True),
        ("*/15 8-18 * * 1-5", True),
        ("0 7 * jan,jul sun", True),
        ("@weekly", True),
        ("0 6 * *", False),
        ("60 * * * *", False),
        ("0 0 0 * *", False),
        ("*/0 * * * *", False),
        ("0 7 * * funday", False),
    ],
)
def test_cron_problem(expression: str, ok: bool) -> None:
    assert (cron_problem(expression) is None) is ok


# ---------------------------------------------------------------- the shipped sources.yaml

REQUIRED_SOURCES = [
    "arXiv cs.LG",
    "arXiv cs.CL",
    "arXiv cs.CV",
    "arXiv cs.AI",
    "arXiv stat.ML",
    "arXiv cs.IR",
    "Google Research",
    "Meta AI",
    "Netflix Tech Blog",
    "Amazon Science",
    "AWS Machine Learning blog",
    "Microsoft Research",
    "Pinterest Engineering",
    "Uber Engineering",
    "DoorDash Engineering",
    "Snap Engineering",
    "Hugging Face blog",
    "OpenAI",
    "Google DeepMind",
    "BAIR",
    "Lilian Weng",
    "colah",
    "Jay Alammar",
    "Eugene Yan",
    "Chip Huyen",
    "The Batch",
    "Import AI",
    "Last Week in AI",
    "ML Engineer Insights",
    "ML Pills",
]


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_config(REPO / "sources.yaml")


def test_shipped_config_has_every_required_source(shipped: Config) -> None:
    names = {s.name for s in shipped.sources}
    assert [n for n in REQUIRED_SOURCES if n not in names] == []
    categories = {c for s in shipped.sources if s.type == "arxiv" for c in s.categories}
    assert categories >= {"cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML", "cs.IR"}


def test_shipped_config_uses_only_public_https_urls(shipped: Config) -> None:
    urls = [s.url for s in shipped.sources if s.url is not None]
    urls += [str(s.options["base_url"]) for s in shipped.sources if "base_url" in s.options]
    assert len(urls) == sum(s.type != "arxiv" for s in shipped.sources)
    assert all(urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname for u in urls)
    assert not any(s.allow_private for s in shipped.sources)


def test_shipped_config_is_polite_to_arxiv_and_tagged(shipped: Config) -> None:
    arxiv = [s for s in shipped.sources if s.type == "arxiv"]
    assert all(s.options.get("lookback_days") == 7 for s in arxiv)
    assert all(int(s.options.get("max_results", 0)) <= 2000 for s in arxiv)
    kinds = {"paper", "blog", "newsletter"}
    assert all(kinds & set(s.tags) for s in shipped.sources)


def test_shipped_focus_areas_and_schedules(shipped: Config) -> None:
    assert 4 <= len(shipped.focus_areas) <= 6
    assert all(a.description and a.keywords and a.weekly_goal for a in shipped.focus_areas)
    assert cron_problem(shipped.schedules.ingest_cron) is None
    assert shipped.schedules.digest_cron.split()[:2] == ["0", "7"]
    assert shipped.schedules.digest_cron.split()[4] in ("1", "mon")


def test_examples_and_filters_are_read_and_normalised() -> None:
    text = VALID + (
        "    examples: [2104.12250, 2104.12255v2, 'arXiv:2310.08864', https://arxiv.org/pdf/2104.12255,"
        " https://example.org/post]\n"
        "    exclude: [survey, ' position paper']\n"
        "    require: [language]\n"
    )
    area = parse_config(text, Path("sources.yaml")).focus_areas[0]
    assert area.examples == ("2104.12250", "2104.12255", "2310.08864", "https://example.org/post")
    assert area.exclude == ("survey", "position paper") and area.require == ("language",)
