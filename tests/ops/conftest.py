"""Fixtures of the ops tests: a Redis key prefix of our own, node environments, an SMTP sink."""

from __future__ import annotations

import secrets

import pytest

from tests.ops import procs

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_prefix():
    """A unique key prefix in the shared Redis for a test module; its keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at {REDIS_URL} is not running: {error}")
    prefix = f"hubtest{secrets.token_hex(6)}"
    yield prefix
    for key in client.scan_iter(match=f"*{prefix}*", count=500):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def smtp_server():
    """An SMTP server on loopback for a test module."""
    with procs.mailbox() as box:
        yield box


@pytest.fixture
def smtp(smtp_server):
    """The module's SMTP server, emptied for this test."""
    smtp_server.reset()
    return smtp_server


@pytest.fixture
def request_context(app):
    """Services translate their messages, which needs a request."""
    with app.test_request_context():
        yield


@pytest.fixture(scope="module")
def pg_only(database_url):
    """Skip on SQLite: several instances share a PostgreSQL server."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances need PostgreSQL (HUB_TEST_DB=postgresql)")
