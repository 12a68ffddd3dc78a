"""Choose POST_AREA_SIMILARITY: when does a blog post go under a focus area, not the highlights?

Data (real, ../shared/fixtures/feeds, labels fixed before any tuning, by feed): posts of research
and learning blogs should go under an area (Lil'Log, colah, Anthropic research, EleutherAI papers,
Goodfire, Transluce, Timaeus); product news and changelogs should not (Dagster, Windsurf
changelog, Cursor, Ollama, Groq, Perplexity). A coarse label: some product posts may fairly fit
an area. Areas: the focus areas of a sources.yaml (default: the prepared 65k home's).

Posts are split in two halves by a hash of their URL; the threshold is chosen on the dev half
(best balanced accuracy over a grid), then the test half is scored once, beside the baselines
"every post under its area" (threshold 0) and "every post in the highlights" (threshold 1).

    .venv/bin/python benchmarks/bench_posts.py [--config /work/pf65k/sources.yaml]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

FEEDS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "feeds"
SCRAPED = "ml_org_feeds_scraped/olshansk_rss-feeds"
POSITIVE = [
    "ml_blogs_official/lilianweng_index_2026-07.xml",
    "ml_blogs_official/colah_rss.xml",
    *(f"{SCRAPED}/feed_{n}.xml" for n in ("anthropic_research", "eleuther_papers", "goodfire")),
    *(f"{SCRAPED}/feed_{n}.xml" for n in ("transluce", "timaeus")),
]
NEGATIVE = [
    f"{SCRAPED}/feed_{n}.xml"
    for n in ("dagster", "windsurf_changelog", "cursor", "ollama", "groq", "perplexity_hub")
]
GRID = [round(t, 2) for t in np.arange(0.05, 0.70, 0.025)]


def posts(paths: list[str], label: int) -> list[tuple[str, str, int]]:
    from paperfeed.config import SourceConfig
    from paperfeed.sources.feed import parse

    found = []
    for rel in paths:
        source = SourceConfig(rel, "feed", url="https://feed.example/")
        for item in parse((FEEDS / rel).read_bytes(), source):
            found.append((item.url or item.title, f"{item.title}. {item.summary}", label))
    return found


def dev_half(key: str) -> bool:
    return hashlib.sha256(key.encode()).digest()[0] % 2 == 0


def balanced_accuracy(best: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    under = best >= threshold
    tpr = float(under[labels == 1].mean()) if (labels == 1).any() else 0.0
    tnr = float((~under)[labels == 0].mean()) if (labels == 0).any() else 0.0
    return (tpr + tnr) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("/work/pf65k/sources.yaml"))
    args = parser.parse_args()
    if not FEEDS.is_dir():
        sys.exit(f"needs the real feeds in {FEEDS}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from paperfeed.config import load_config
    from paperfeed.digest.run import encode_areas
    from paperfeed.embed.embedder import load_embedder, load_query_encoder

    config = load_config(args.config)
    data = posts(POSITIVE, 1) + posts(NEGATIVE, 0)
    vectors = load_embedder(config.model).encode([text for _, text, _ in data])
    areas = encode_areas(load_query_encoder(config.model), config.focus_areas)
    best = (np.asarray(vectors) @ areas.T).max(axis=1)
    labels = np.array([label for _, _, label in data])
    dev = np.array([dev_half(key) for key, _, _ in data])
    scores = {t: balanced_accuracy(best[dev], labels[dev], t) for t in GRID}
    chosen = max(GRID, key=lambda t: (scores[t], -abs(t - 0.35)))
    test = ~dev
    report = {
        "posts": {"positive": int(labels.sum()), "negative": int((labels == 0).sum())},
        "dev": int(dev.sum()),
        "test": int(test.sum()),
        "chosen_threshold": chosen,
        "dev_balanced_accuracy": round(scores[chosen], 3),
        "test_balanced_accuracy": {
            f"threshold {chosen} (chosen)": round(
                balanced_accuracy(best[test], labels[test], chosen), 3
            ),
            "threshold 0 (every post under an area)": round(
                balanced_accuracy(best[test], labels[test], 0.0), 3
            ),
            "threshold 1 (every post in highlights)": round(
                balanced_accuracy(best[test], labels[test], 1.0), 3
            ),
        },
        "test_under_an_area": {
            "research posts": round(float((best[test & (labels == 1)] >= chosen).mean()), 3),
            "product posts": round(float((best[test & (labels == 0)] >= chosen).mean()), 3),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
