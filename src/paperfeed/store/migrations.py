"""Append-only, named schema migrations. Add new ones at the end; never edit an applied one."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_items",
        """
        CREATE SEQUENCE item_ids START 1;
        CREATE TABLE items (
            id            BIGINT PRIMARY KEY DEFAULT nextval('item_ids'),
            key           VARCHAR NOT NULL UNIQUE,  -- arxiv:ID, doi:, url:, guid:SOURCE:, hash:
            kind          VARCHAR NOT NULL,          -- paper | post
            title         VARCHAR NOT NULL,
            summary       VARCHAR NOT NULL DEFAULT '',
            url           VARCHAR,
            arxiv_id      VARCHAR,
            arxiv_version INTEGER,
            doi           VARCHAR,
            authors       VARCHAR[] NOT NULL DEFAULT [],
            categories    VARCHAR[] NOT NULL DEFAULT [],
            links         VARCHAR[] NOT NULL DEFAULT [],
            published_at  TIMESTAMPTZ,
            updated_at    TIMESTAMPTZ,
            first_seen_at TIMESTAMPTZ NOT NULL,
            changed_at    TIMESTAMPTZ NOT NULL,
            content_hash  VARCHAR NOT NULL            -- of title + summary: what the embedding saw
        );
        CREATE TABLE item_sources (
            item_id       BIGINT NOT NULL,
            source        VARCHAR NOT NULL,
            guid          VARCHAR,
            url           VARCHAR,
            first_seen_at TIMESTAMPTZ NOT NULL,
            last_seen_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (item_id, source)
        );
        """,
    ),
    (
        "0002_source_state",
        """
        CREATE TABLE source_state (
            name                 VARCHAR PRIMARY KEY,
            etag                 VARCHAR,
            last_modified        VARCHAR,
            moved_to             VARCHAR,     -- remembered 301/308 target
            last_attempt_at      TIMESTAMPTZ,
            last_ok              TIMESTAMPTZ,
            last_status          VARCHAR,     -- new | unchanged | failed | deferred | partial
            last_error           VARCHAR,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            disabled             BOOLEAN NOT NULL DEFAULT FALSE,
            disabled_reason      VARCHAR,
            retry_after          TIMESTAMPTZ, -- no request for this source before then
            cursor               VARCHAR      -- adapter resume point (arXiv window, offset)
        );
        CREATE TABLE host_state (
            host        VARCHAR PRIMARY KEY,
            retry_after TIMESTAMPTZ NOT NULL  -- 429/503: no request to the host before
        );
        CREATE TABLE source_errors (
            occurred_at TIMESTAMPTZ NOT NULL,
            source  VARCHAR NOT NULL,
            kind    VARCHAR NOT NULL,
            message VARCHAR NOT NULL
        );
        """,
    ),
    (
        "0003_embeddings",
        """
        CREATE TABLE embeddings (
            item_id      BIGINT NOT NULL,
            model        VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            dim          INTEGER NOT NULL,
            vector       BLOB NOT NULL,         -- float32, little-endian, L2-normalised
            embedded_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (item_id, model)
        );
        """,
    ),
    (
        "0004_reading",
        """
        CREATE TABLE marks (
            item_id    BIGINT PRIMARY KEY,
            read_at    TIMESTAMPTZ,
            saved_at   TIMESTAMPTZ,
            rating     SMALLINT,                -- -1 down, 1 up, NULL none
            updated_at TIMESTAMPTZ NOT NULL
        );
        CREATE SEQUENCE digest_ids START 1;
        CREATE TABLE digests (
            id           BIGINT PRIMARY KEY DEFAULT nextval('digest_ids'),
            period       VARCHAR NOT NULL,      -- ISO week, e.g. 2026-W48
            window_start TIMESTAMPTZ NOT NULL,
            window_end   TIMESTAMPTZ NOT NULL,
            created_at   TIMESTAMPTZ NOT NULL,
            path         VARCHAR
        );
        CREATE TABLE digest_items (
            digest_id  BIGINT NOT NULL,
            item_id    BIGINT NOT NULL,
            focus_area VARCHAR,
            rank       INTEGER NOT NULL,
            score      DOUBLE NOT NULL,
            PRIMARY KEY (digest_id, item_id)
        );
        """,
    ),
    (
        "0005_digest_file",
        # the digest is recorded with its text before the file is written, and marked written
        # after: a crash in between is finished by the next run (never a -2 copy)
        """
        ALTER TABLE digests ADD COLUMN markdown VARCHAR;
        ALTER TABLE digests ADD COLUMN written_at TIMESTAMPTZ;
        """,
    ),
    (
        "0006_moved_from",
        # the configured URL a remembered 301/308 came from: once sources.yaml names another
        # URL, the redirect is forgotten and the new URL is fetched
        "ALTER TABLE source_state ADD COLUMN moved_from VARCHAR;",
    ),
    (
        "0007_item_length",
        """
        ALTER TABLE items ADD COLUMN pages INTEGER;  -- a paper's page count (arXiv comments)
        ALTER TABLE items ADD COLUMN words INTEGER;  -- a post's word count (whole content)
        """,
    ),
    (
        "0008_digest_ticks",
        """
        CREATE TABLE digest_ticks (     -- boxes `paperfeed sync` has seen ticked, per file
            path     VARCHAR NOT NULL,
            item_id  BIGINT NOT NULL,
            seen_at  TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (path, item_id)
        );
        """,
    ),
]
