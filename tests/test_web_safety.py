"""The reading room's safety layer: Host (DNS rebinding), token, CSRF, GET never changes state,
CSP and escaping; marks while another process holds the database are queued, not lost."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from web_helpers import client_of, make_home, marks_in, room_of

from paperfeed.cli import main
from paperfeed.settings import Settings
from paperfeed.web.safety import Policy, UnsafeBind, check_bind


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    return make_home(tmp_path)


def test_a_mark_with_the_csrf_token_is_applied(home: Settings) -> None:
    client, policy = client_of(room_of(home))
    answer = client.post(
        "/items/3/read", data={"csrf": policy.csrf}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert 'class="marks is-read"' in answer.text and ">Undo read<" in answer.text
    assert marks_in(home)[3].read_at is not None


@pytest.mark.parametrize("form", [{}, {"csrf": "wrong"}, {"csrf": ""}])
def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
    home: Settings, form: dict
) -> None:
    client, _ = client_of(room_of(home))
    answer = client.post("/items/3/read", data=form)
    assert answer.status_code == 403
    assert marks_in(home) == {}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8787", "127.0.0.1:9999", ""])
def test_a_foreign_host_header_is_refused_even_with_a_valid_csrf_token(
    home: Settings, host: str
) -> None:
    client, policy = client_of(room_of(home))
    assert client.get("/", headers={"Host": host}).status_code == 403
    answer = client.post("/items/3/read", data={"csrf": policy.csrf}, headers={"Host": host})
    assert answer.status_code == 403
    assert marks_in(home) == {}


def test_localhost_names_of_the_served_port_are_accepted(home: Settings) -> None:
    client, _ = client_of(room_of(home))
    for host in ("127.0.0.1:8787", "localhost:8787"):
        assert client.get("/sources", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("action", ["read", "save", "up", "down", "unread"])
def test_get_to_a_marking_url_is_405_and_changes_nothing(home: Settings, action: str) -> None:
    client, policy = client_of(room_of(home))
    answer = client.get(f"/items/3/{action}", params={"csrf": policy.csrf})
    assert answer.status_code == 405
    assert marks_in(home) == {}


def test_without_javascript_a_mark_redirects_back_but_never_off_site(home: Settings) -> None:
    client, policy = client_of(room_of(home))
    form = {"csrf": policy.csrf, "next": "/search?q=x"}
    answer = client.post("/items/2/save", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/search?q=x"
    for target in ("//evil.example/", "https://evil.example/", "\\\\evil.example"):
        form = {"csrf": policy.csrf, "next": target}
        answer = client.post("/items/2/up", data=form, follow_redirects=False)
        assert answer.headers["location"] == "/"
    assert marks_in(home)[2].saved_at is not None and marks_in(home)[2].rating == 1


def test_unknown_item_or_action_is_404_not_500(home: Settings) -> None:
    client, policy = client_of(room_of(home))
    assert client.post("/items/999/read", data={"csrf": policy.csrf}).status_code == 404
    assert client.post("/items/1/delete", data={"csrf": policy.csrf}).status_code == 404
    assert client.get("/paper/999").status_code == 404


def test_with_a_token_every_request_must_carry_it(home: Settings) -> None:
    policy = Policy("127.0.0.1", 8787, token="s3cret-token")
    client, _ = client_of(room_of(home), policy)
    assert client.get("/").status_code == 403
    assert client.get("/", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    first = client.get("/progress?token=s3cret-token", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/progress"
    assert (
        "HttpOnly" in first.headers["set-cookie"]
        and "SameSite=Strict" in first.headers["set-cookie"]
    )
    assert client.get("/progress").status_code == 200  # the cookie now carries it
    answer = client.post("/items/1/read", data={"csrf": policy.csrf})
    assert answer.status_code in (200, 303)
    assert marks_in(home)[1].read_at is not None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_a_non_loopback_bind_without_token_is_refused(host: str) -> None:
    with pytest.raises(UnsafeBind):
        check_bind(host, None)
    check_bind(host, "a-token")  # with one it may start
    check_bind("127.0.0.1", None)
    check_bind("::1", None)


def test_the_command_refuses_to_start_on_0000_without_token(home: Settings) -> None:
    result = CliRunner().invoke(
        main,
        ["--home", str(home.home), "--config", str(home.config_path), "web", "--host", "0.0.0.0"],
    )
    assert result.exit_code == 1
    assert "refusing to serve on 0.0.0.0 without --token" in result.output
    assert "Traceback" not in result.output


def test_every_page_has_the_csp_and_no_inline_script(home: Settings) -> None:
    client, _ = client_of(room_of(home))
    for url in ("/", "/search?q=language", "/paper/1", "/reading", "/progress", "/sources"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        scripts = re.findall(r"<script\b[^>]*>", answer.text)
        assert scripts and all(' src="/static/' in s for s in scripts), url
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", answer.text), url
        assert not re.search(r"\son\w+\s*=", answer.text), url


def test_marks_made_while_another_process_holds_the_database_are_queued_then_applied(
    home: Settings,
) -> None:
    room = room_of(home)
    client, policy = client_of(room)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home.db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        answers = [
            client.post(
                f"/items/{n}/read", data={"csrf": policy.csrf}, headers={"HX-Request": "true"}
            )
            for n in (1, 2, 3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert all("queued" in a.text for a in answers)
        page = client.get("/reading")  # a page cannot be read now: a clear 503, not a 500
        assert page.status_code == 503 and "database busy" in page.text
    finally:
        holder.communicate(b"release\n", timeout=30)
    assert room.flush_pending() is True
    assert {i for i, m in marks_in(home).items() if m.read_at} == {1, 2, 3}


HOLD = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1])
print("held", flush=True)
sys.stdin.readline()
conn.close()
"""


def test_web_help_has_an_example_and_explains_the_token(home: Settings) -> None:
    result = CliRunner().invoke(main, ["web", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "--token" in result.output and "8787" in result.output
