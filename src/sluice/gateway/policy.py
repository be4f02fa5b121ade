"""Rule 1 of the gateway: accept exactly one read-only SELECT built from allowed parts, and say what is not.

The query is parsed with sqlglot (DuckDB dialect) and every node of the tree is checked against allow-lists
kept here as data: node types, functions by name, and tables (resource codes, or the query's own CTEs).
Anything else is refused naming the part: statements other than a query (DDL, DML, COPY, ATTACH, PRAGMA,
SET, INSTALL, LOAD, CALL, …), table functions (``read_csv``, ``glob``, …), files and URLs in FROM,
functions outside the list (settings, environment, system catalogs), recursive CTEs, parameters, several
statements. Resolving tables to grants and rewriting them (rules 2–3) work on the tree this returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from sluice.errors import Forbidden, Invalid

DIALECT = "duckdb"
MAX_SQL_LENGTH = 20_000
MAX_NODES = 5_000

# Node types a governed query may contain (everything else is refused).
ALLOWED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Select,
    exp.Union,
    exp.Intersect,
    exp.Except,
    exp.Subquery,
    exp.With,
    exp.CTE,
    exp.TableAlias,
    exp.From,
    exp.Join,
    exp.Lateral,
    exp.Where,
    exp.Group,
    exp.Having,
    exp.Order,
    exp.Ordered,
    exp.Limit,
    exp.Offset,
    exp.Qualify,
    exp.Distinct,
    exp.Window,
    exp.WindowSpec,
    exp.Filter,
    exp.Table,
    exp.Column,
    exp.Identifier,
    exp.Star,
    exp.Alias,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,
    exp.Array,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.Case,
    exp.If,
    exp.Interval,
    exp.Var,
    exp.Neg,
    exp.Not,
    exp.And,
    exp.Or,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.DPipe,
    exp.Distinct,
    exp.Exists,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Dot,
    exp.Bracket,
    exp.Slice,
    exp.Unnest,
    exp.Any,
    exp.All,
    exp.RegexpLike,
    exp.Extract,
    exp.ColumnDef,
    exp.DataTypeParam,
    exp.PreWhere,
)

# Functions a governed query may call, by sqlglot class (aggregates, windows, text, numbers, dates).
ALLOWED_FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.Count,
    exp.Sum,
    exp.Avg,
    exp.Min,
    exp.Max,
    exp.Stddev,
    exp.StddevPop,
    exp.StddevSamp,
    exp.Variance,
    exp.VariancePop,
    exp.Median,
    exp.Quantile,
    exp.PercentileCont,
    exp.PercentileDisc,
    exp.ApproxDistinct,
    exp.CountIf,
    exp.ArgMax,
    exp.ArgMin,
    exp.AnyValue,
    exp.First,
    exp.Last,
    exp.GroupConcat,
    exp.ArrayAgg,
    exp.RowNumber,
    exp.Rank,
    exp.DenseRank,
    exp.PercentRank,
    exp.CumeDist,
    exp.Ntile,
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.NthValue,
    exp.Lower,
    exp.Upper,
    exp.Length,
    exp.Substring,
    exp.Trim,
    exp.Concat,
    exp.ConcatWs,
    exp.StrPosition,
    exp.Left,
    exp.Right,
    exp.Pad,
    exp.Initcap,
    exp.Reverse,
    exp.Repeat,
    exp.StartsWith,
    exp.EndsWith,
    exp.RegexpExtract,
    exp.RegexpReplace,
    exp.Replace,
    exp.Split,
    exp.SplitPart,
    exp.Abs,
    exp.Round,
    exp.Floor,
    exp.Ceil,
    exp.Sqrt,
    exp.Pow,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Sign,
    exp.Greatest,
    exp.Least,
    exp.Coalesce,
    exp.Nullif,
    exp.If,
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.DateTrunc,
    exp.TimestampTrunc,
    exp.DateAdd,
    exp.DateSub,
    exp.DateDiff,
    exp.Year,
    exp.Month,
    exp.Day,
    exp.DayOfWeek,
    exp.DayOfYear,
    exp.Quarter,
    exp.Week,
    exp.StrToDate,
    exp.StrToTime,
    exp.TimeToStr,
    exp.TsOrDsToDate,
    exp.Date,
    exp.ToChar,
)
# Functions sqlglot does not model (exp.Anonymous), allowed by lower-case name.
ALLOWED_ANONYMOUS = frozenset({"strftime", "strptime", "date_part", "datepart", "list_value"})

REFUSED_STATEMENTS = {
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
    exp.Merge: "MERGE",
    exp.Create: "CREATE",
    exp.Drop: "DROP",
    exp.Alter: "ALTER",
    exp.Copy: "COPY",
    exp.Export: "EXPORT",
    exp.Attach: "ATTACH",
    exp.Detach: "DETACH",
    exp.Pragma: "PRAGMA",
    exp.Set: "SET",
    exp.Install: "INSTALL",
    exp.Use: "USE",
    exp.Describe: "DESCRIBE",
    exp.Summarize: "SUMMARIZE",
    exp.Command: "a command",
}


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed rule 1: its tree, and the resources it reads (by code)."""

    tree: exp.Query
    resources: frozenset[str]


def check_query(sql: str, is_resource: Callable[[str], bool]) -> CheckedQuery:
    """Parse ``sql`` and check every part of it; ``is_resource(code)`` says whether a table name is known."""
    tree = parse_one_query(sql)
    return check_tree(tree, rule_one(tree), is_resource)


def check_tree(
    tree: exp.Query, tables: tuple[tuple[str, str], ...], is_resource: Callable[[str], bool]
) -> CheckedQuery:
    """A tree that passed ``rule_one``, with every table it names known to the caller."""
    for code, shown in tables:
        if not is_resource(code):
            raise Invalid(f"unknown table {shown!r}: name a resource by its code, e.g. psb.residents", table=shown)
    return CheckedQuery(tree=tree, resources=frozenset(code for code, _ in tables))


def rule_one(tree: exp.Query) -> tuple[tuple[str, str], ...]:
    """The part of rule 1 that depends on the query alone: every node allowed; every table it names, as
    (resource code, as written)."""
    tables: list[tuple[str, str]] = []
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for count, node in enumerate(tree.walk(), start=1):
        if count > MAX_NODES:
            raise Invalid(f"the query is too complex (over {MAX_NODES} parts); simplify it")
        _check_node(node)
        if isinstance(node, exp.Table):
            code = _table_code(node, ctes)
            if code is not None:
                tables.append((code, node.sql(dialect=DIALECT)))
    if not tables:
        raise Invalid("the query reads no resource: name one by its code in FROM, e.g. FROM psb.residents")
    return tuple(tables)


def parse_one_query(sql: str) -> exp.Query:
    if len(sql) > MAX_SQL_LENGTH:
        raise Invalid(f"the query is {len(sql)} characters long, over the limit of {MAX_SQL_LENGTH}")
    if not sql.strip():
        raise Invalid("the query is empty")
    try:
        statements = [s for s in sqlglot.parse(sql, dialect=DIALECT) if s is not None]
    except (ParseError, TokenError) as exc:
        raise Invalid(f"the query cannot be parsed: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise Invalid(f"send exactly one statement, not {len(statements)}", statements=len(statements))
    statement = statements[0]
    for kind, name in REFUSED_STATEMENTS.items():
        if isinstance(statement, kind):
            raise Forbidden(f"{name} is not allowed: the gateway answers read-only SELECT queries", part=name)
    if not isinstance(statement, exp.Query):
        raise Forbidden(
            f"{type(statement).__name__.upper()} is not allowed: the gateway answers read-only SELECT queries"
        )
    return statement


def _check_node(node: exp.Expr) -> None:
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise Forbidden("recursive CTEs are not allowed", part="WITH RECURSIVE")
    if isinstance(node, exp.Select) and node.args.get("into"):
        raise Forbidden("SELECT … INTO is not allowed", part="INTO")
    if isinstance(node, (exp.Placeholder, exp.Parameter)):
        raise Invalid("parameters ($1, ?) are not supported: write the values into the query", part="parameter")
    if isinstance(node, exp.Anonymous):
        name = str(node.name).lower()
        if name not in ALLOWED_ANONYMOUS:
            raise Forbidden(f"the function {name}() is not allowed", part=name)
        return
    if isinstance(node, exp.Func) and not isinstance(node, ALLOWED_FUNCTIONS):
        if isinstance(node, ALLOWED_NODES):
            return
        raise Forbidden(f"the function {_function_name(node)}() is not allowed", part=_function_name(node))
    if not isinstance(node, (*ALLOWED_NODES, *ALLOWED_FUNCTIONS)):
        raise Forbidden(f"{_describe(node)} is not allowed in a governed query", part=type(node).__name__)


def _table_code(table: exp.Table, ctes: set[str]) -> str | None:
    """The resource code a table names, or None for a reference to the query's own CTE."""
    if not isinstance(table.this, exp.Identifier):
        raise Forbidden(
            f"{table.this.sql(dialect=DIALECT)!r} is not allowed in FROM: only resources, by code (no table "
            "functions, files or URLs)",
            part="table function",
        )
    if table.args.get("catalog"):
        raise Invalid(f"unknown table {table.sql(dialect=DIALECT)!r}: a resource code has two parts, org.name")
    db, name = table.db, table.name
    if not db:
        if name.lower() in ctes:
            return None
        raise Invalid(f"unknown table {name!r}: name a resource by its code, e.g. psb.residents", table=name)
    return f"{db.lower()}.{name.lower()}"


def _function_name(node: exp.Func) -> str:
    return str(node.sql_name() if hasattr(node, "sql_name") else type(node).__name__).lower()


def _describe(node: exp.Expr) -> str:
    text = node.sql(dialect=DIALECT)
    return f"{type(node).__name__} ({text[:60]})" if text else type(node).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
