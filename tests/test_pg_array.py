"""lifecycle.pg_array: the array literal PostgreSQL reads back as exactly the values given, whatever
the SMSC put in a provider id or an error code (quotes, backslashes, braces, commas, the word NULL)."""

import pytest
from django.db import connection

from campaigns.lifecycle import pg_array

HOSTILE = ["a", 'b"c', "d\\e", "{x,y}", "NULL", " spaced ", "", '\\"', "中文", "a,b"]


@pytest.mark.django_db
@pytest.mark.parametrize("values", [[1, 2, 30000000000], [], HOSTILE, ["plain", "ids", "only"]])
def test_postgresql_reads_the_literal_back_as_the_values(values):
    if connection.vendor != "postgresql":
        pytest.skip("an array literal of PostgreSQL's")
    cast = "BIGINT[]" if values and isinstance(values[0], int) else "TEXT[]"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT CAST(%s AS {cast})", [pg_array(values)])
        (found,) = cursor.fetchone()
    assert found == values
