"""Rule 1 of the gateway: only one read-only SELECT over known resources, built from allowed parts.

A corpus of hostile queries, each of which must be refused with a clear message naming the offending part,
and a set of legitimate analytical queries that must pass with the resources they read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.errors import Forbidden, Invalid, SluiceError
from sluice.gateway.policy import MAX_SQL_LENGTH, check_query

KNOWN = {"psb.residents", "civil.marriages", "amr.enterprises"}


def known(code: str) -> bool:
    return code in KNOWN


ACCEPTED = [
    ("SELECT name, gender FROM psb.residents WHERE division_code LIKE '1101%'", {"psb.residents"}),
    ("select count(*) from PSB.Residents", {"psb.residents"}),
    ('SELECT "name" FROM "psb"."residents"', {"psb.residents"}),
    ("FROM psb.residents SELECT name", {"psb.residents"}),
    (
        "WITH w AS (SELECT wife_id FROM civil.marriages) SELECT r.name FROM psb.residents r JOIN w ON w.wife_id = r.id_number",
        {"psb.residents", "civil.marriages"},
    ),
    (
        "SELECT division_code, count(*) AS n FROM psb.residents GROUP BY 1 HAVING count(*) > 10 ORDER BY n DESC LIMIT 5",
        {"psb.residents"},
    ),
    (
        "SELECT name, row_number() OVER (PARTITION BY division_code ORDER BY birth_date) FROM psb.residents",
        {"psb.residents"},
    ),
    (
        "SELECT id_number FROM psb.residents UNION ALL SELECT husband_id FROM civil.marriages",
        {"psb.residents", "civil.marriages"},
    ),
    ("SELECT * FROM (SELECT name FROM psb.residents) t", {"psb.residents"}),
    ("SELECT year(birth_date), avg(length(name)) FROM psb.residents GROUP BY ALL", {"psb.residents"}),
    ("SELECT CAST(birth_date AS VARCHAR), birth_date::DATE FROM psb.residents", {"psb.residents"}),
    ("SELECT CASE WHEN gender = '1' THEN 'm' ELSE 'f' END FROM psb.residents", {"psb.residents"}),
    (
        "SELECT name FROM psb.residents WHERE id_number IN (SELECT wife_id FROM civil.marriages)",
        {"psb.residents", "civil.marriages"},
    ),
    (
        "SELECT name FROM psb.residents WHERE EXISTS (SELECT 1 FROM civil.marriages m WHERE m.wife_id = id_number)",
        {"psb.residents", "civil.marriages"},
    ),
    ("SELECT strftime(birth_date, '%Y') FROM psb.residents", {"psb.residents"}),
    ("SELECT name FROM psb.residents r, LATERAL (SELECT r.name AS n) x", {"psb.residents"}),
    ("SELECT name FROM psb.residents QUALIFY row_number() OVER (ORDER BY name) = 1", {"psb.residents"}),
    ("SELECT name FROM psb.residents -- a comment\n WHERE gender = '2'", {"psb.residents"}),
    ("SELECT coalesce(nullif(name, ''), '?') FROM psb.residents", {"psb.residents"}),
    ("SELECT name FROM psb.residents INTERSECT SELECT name FROM psb.residents", {"psb.residents"}),
]


@pytest.mark.parametrize(("sql", "resources"), ACCEPTED, ids=[s[:50] for s, _ in ACCEPTED])
def test_read_only_analytical_queries_pass_with_the_resources_they_read(sql: str, resources: set[str]) -> None:
    assert check_query(sql, known).resources == resources


REFUSED: list[tuple[str, type[SluiceError], str]] = [
    # statements other than a query
    ("DROP TABLE psb.residents", Forbidden, "DROP"),
    ("DELETE FROM psb.residents", Forbidden, "DELETE"),
    ("UPDATE psb.residents SET name = 'x'", Forbidden, "UPDATE"),
    ("INSERT INTO psb.residents VALUES (1)", Forbidden, "INSERT"),
    ("INSERT INTO psb.residents SELECT * FROM psb.residents", Forbidden, "INSERT"),
    ("CREATE TABLE t AS SELECT * FROM psb.residents", Forbidden, "CREATE"),
    ("CREATE VIEW v AS SELECT 1", Forbidden, "CREATE"),
    ("CREATE MACRO m(x) AS x", Forbidden, "CREATE"),
    ("ALTER TABLE psb.residents ADD COLUMN x INT", Forbidden, "ALTER"),
    ("COPY psb.residents TO '/tmp/out.csv'", Forbidden, "COPY"),
    ("COPY (SELECT * FROM psb.residents) TO '/tmp/out.parquet' (FORMAT parquet)", Forbidden, "COPY"),
    ("EXPORT DATABASE '/tmp/x'", Invalid, "cannot be parsed"),
    ("ATTACH '/tmp/other.db' AS other", Forbidden, ""),
    ("DETACH other", Forbidden, ""),
    ("PRAGMA database_list", Forbidden, "PRAGMA"),
    ("SET enable_external_access = true", Forbidden, "SET"),
    ("RESET ALL", Forbidden, ""),
    ("INSTALL httpfs", Forbidden, ""),
    ("LOAD httpfs", Forbidden, ""),
    ("CALL duckdb_settings()", Forbidden, ""),
    ("USE other", Forbidden, ""),
    ("DESCRIBE psb.residents", Forbidden, ""),
    ("SUMMARIZE psb.residents", Forbidden, ""),
    ("SHOW TABLES", Forbidden, ""),
    ("CHECKPOINT", Forbidden, ""),
    ("VACUUM", Forbidden, ""),
    ("BEGIN TRANSACTION", Forbidden, ""),
    ("EXPLAIN SELECT * FROM psb.residents", Forbidden, ""),
    ("SELECT * INTO t FROM psb.residents", Forbidden, "INTO"),
    # several statements
    ("SELECT 1 FROM psb.residents; DROP TABLE psb.residents", Invalid, "exactly one statement"),
    ("SELECT name FROM psb.residents; SELECT name FROM psb.residents", Invalid, "exactly one statement"),
    ("SELECT 1 FROM psb.residents;;SELECT 2", Invalid, "exactly one statement"),
    # table functions, files, URLs
    ("SELECT * FROM read_csv('/etc/passwd')", Forbidden, ""),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", Forbidden, ""),
    ("SELECT * FROM read_parquet('/srv/lake/psb/residents/v1/data.parquet')", Forbidden, ""),
    ("SELECT * FROM read_json('x.json')", Forbidden, ""),
    ("SELECT * FROM read_text('/etc/shadow')", Forbidden, ""),
    ("SELECT * FROM read_blob('/etc/shadow')", Forbidden, ""),
    ("SELECT * FROM glob('/**')", Forbidden, ""),
    ("SELECT * FROM 'data.parquet'", Invalid, "unknown table"),
    ("SELECT * FROM '/etc/passwd'", Invalid, "unknown table"),
    ("SELECT * FROM 'https://evil.example/x.csv'", Invalid, "unknown table"),
    ('SELECT * FROM "psb.residents"', Invalid, "unknown table"),
    ("SELECT * FROM parquet_scan('x')", Forbidden, ""),
    ("SELECT * FROM range(100000000000)", Forbidden, ""),
    ("SELECT * FROM generate_series(1, 100000000000)", Forbidden, ""),
    ("SELECT * FROM psb.residents, read_csv('/etc/passwd')", Forbidden, ""),
    ("SELECT * FROM psb.residents WHERE name IN (SELECT * FROM read_csv('/etc/passwd'))", Forbidden, ""),
    ("WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x, psb.residents", Forbidden, ""),
    ("SELECT * FROM psb.residents UNION ALL SELECT * FROM read_text('/etc/passwd')", Forbidden, ""),
    ("SELECT * FROM psb.residents r, LATERAL read_csv('/etc/passwd')", Forbidden, ""),
    # system catalogs, settings, environment
    ("SELECT * FROM duckdb_settings()", Forbidden, ""),
    ("SELECT * FROM duckdb_tables()", Forbidden, ""),
    ("SELECT * FROM duckdb_secrets()", Forbidden, ""),
    ("SELECT * FROM information_schema.tables", Invalid, "unknown table"),
    ("SELECT * FROM pg_catalog.pg_tables", Invalid, "unknown table"),
    ("SELECT * FROM sqlite_master", Invalid, "unknown table"),
    ("SELECT current_setting('memory_limit') FROM psb.residents", Forbidden, "current_setting"),
    ("SELECT getenv('HOME') FROM psb.residents", Forbidden, "getenv"),
    ("SELECT version() FROM psb.residents", Forbidden, ""),
    ("SELECT current_database() FROM psb.residents", Forbidden, ""),
    ("SELECT pg_read_file('/etc/passwd') FROM psb.residents", Forbidden, "pg_read_file"),
    ("SELECT name FROM psb.residents WHERE getenv('X') IS NULL", Forbidden, "getenv"),
    ("SELECT name FROM psb.residents ORDER BY current_setting('threads')", Forbidden, "current_setting"),
    ("SELECT name FROM psb.residents GROUP BY name HAVING getenv('X') = ''", Forbidden, "getenv"),
    ("SELECT name, row_number() OVER (ORDER BY getenv('X')) FROM psb.residents", Forbidden, "getenv"),
    ("SELECT * FROM psb.residents JOIN civil.marriages ON getenv('X') = wife_id", Forbidden, "getenv"),
    ("SELECT \"getenv\"('HOME') FROM psb.residents", Forbidden, "getenv"),
    ("SELECT GETENV('HOME') FROM psb.residents", Forbidden, "getenv"),
    ("SELECT list_transform([name], lambda x: getenv(x)) FROM psb.residents", Forbidden, ""),
    ("SELECT query('SELECT 1') FROM psb.residents", Forbidden, ""),
    # the platform's own functions (the export's MASK, the SQLite engine's masks) are not the caller's to call
    ("SELECT sluice_letters_digits(name) FROM psb.residents", Forbidden, "sluice_letters_digits"),
    ("SELECT sluice_hmac('00', '00', name) FROM psb.residents", Forbidden, "sluice_hmac"),
    ("SELECT * FROM query_table('psb.residents')", Forbidden, ""),
    # unknown tables and names
    ("SELECT * FROM psb.criminal_secrets", Invalid, "unknown table"),
    ("SELECT * FROM residents", Invalid, "unknown table"),
    ("SELECT * FROM lake.psb.residents", Invalid, "unknown table"),
    ("SELECT * FROM main.users", Invalid, "unknown table"),
    ("SELECT 1", Invalid, "reads no resource"),
    ("SELECT 1 WHERE 1 = 1", Invalid, "reads no resource"),
    # recursion, parameters, oddities
    (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT * FROM t, psb.residents",
        Forbidden,
        "recursive",
    ),
    ("SELECT name FROM psb.residents WHERE id_number = $1", Invalid, "parameters"),
    ("SELECT name FROM psb.residents WHERE id_number = ?", Invalid, "parameters"),
    ("", Invalid, "empty"),
    ("   ", Invalid, "empty"),
    ("SELECT FROM WHERE", Invalid, ""),
    ("SELECT name FROM psb.residents WHERE name = 'unterminated", Invalid, ""),
    ("SELECT * FROM psb.residents /* unterminated comment", Invalid, ""),
    ("SELECT name FROM psb.residents" + " " * (MAX_SQL_LENGTH + 1), Invalid, "over the limit"),
    ("SELECT " + " + ".join(["1"] * 6000) + " FROM psb.residents", Invalid, ""),
    ("SELECT * FROM ｐｓｂ.residents", Invalid, "unknown table"),  # full-width look-alikes
    ("SELECT * FROM psb.resіdents", Invalid, "unknown table"),  # Cyrillic і
    ("SELECT * FROM psb.residents AT (VERSION => 1)", Forbidden, "not allowed"),
    ("SELECT * FROM psb.residents USING SAMPLE 10%", Forbidden, ""),
    ("PIVOT psb.residents ON gender USING count(*)", Forbidden, ""),
    (
        "SELECT * FROM psb.residents, civil.marriages, amr.enterprises, psb.residents p2 WHERE FALSE OR getenv('x') = ''",
        Forbidden,
        "getenv",
    ),
]


@pytest.mark.parametrize(("sql", "error", "naming"), REFUSED, ids=[s[:60] or "<empty>" for s, _, _ in REFUSED])
def test_hostile_queries_are_refused_naming_what_is_wrong(sql: str, error: type[SluiceError], naming: str) -> None:
    with pytest.raises(SluiceError) as refused:
        check_query(sql, known)
    assert type(refused.value) is error
    assert naming.lower() in refused.value.message.lower()


def test_the_corpus_is_at_least_a_hundred_queries() -> None:
    assert len(REFUSED) + len(ACCEPTED) >= 100


@given(st.text(min_size=0, max_size=300))
def test_arbitrary_text_is_refused_or_reads_only_known_resources(text: str) -> None:
    try:
        checked = check_query(text, known)
    except SluiceError:
        return
    assert checked.resources <= KNOWN
