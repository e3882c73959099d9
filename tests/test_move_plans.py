"""On PostgreSQL the lifecycle's hot moves (claim, submit results) scan campaigns_message alone:
joined to anything, the planner orders the join by statistics that say the move's from-state is
empty (sending is transient, so ANALYZE finds none), and on a small table it rescanned the whole
table per row (lifecycle.Tally._move_in_place). EXPLAIN of each statement as it was run."""

import pytest
from django.db import connection

from campaigns import lifecycle
from tests.sending_helpers import (  # noqa: F401 (fixtures)
    message_ids,
    planned_campaign,
    shipped_template,
    simulator_connection,
)


@pytest.fixture
def campaign(shop, shipped_template, simulator_connection):
    return planned_campaign(shop, shipped_template, simulator_connection, 6)


def statements_of(call):
    """The (sql, params) of every UPDATE of campaigns_message `call` runs."""
    seen = []

    def record(execute, sql, params, many, context):
        if sql.startswith("UPDATE campaigns_message"):
            seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    return seen


def plan(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(line for (line,) in cursor.fetchall())


def test_claims_and_submit_results_are_planned_without_a_join(campaign):
    if connection.vendor != "postgresql":
        pytest.skip("the planner in question is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_message")  # every message queued: none sending, as statistics go
    ids = message_ids(campaign)
    claims = statements_of(lambda: lifecycle.claim(campaign.pk, ids))
    submitted = [(i, f"p{i}") for i in ids[:4]]
    results = statements_of(
        lambda: lifecycle.record_submits(submitted=submitted, unknown=[ids[4]], failed={("8", "x"): [ids[5]]})
    )
    assert len(claims) == 1 and len(results) == 3
    for sql, params in claims + results:
        explained = plan(sql, params)
        assert "Join" not in explained and "Nested Loop" not in explained, explained
    # And the moves did what they say: each message has the provider id the result named.
    assert dict(campaign.messages.filter(status="submitted").values_list("id", "provider_id")) == {
        i: f"p{i}" for i in ids[:4]
    }
