"""Finding personal data the catalog does not declare: a sampled, vectorised scan of every text column.

Each detector is a DuckDB predicate over the raw text. Identifiers are checked, not just matched: a resident
identity number must carry a valid check character, region and birth date (any 18 digits pass the check
character one time in 11), a bank card must pass Luhn, a credit code its GB 32100 check character. Names are
two to four Han characters starting with a common surname; addresses contain both an administrative unit and
a street-level unit. A column is flagged when at least ``threshold`` of its sampled non-null values match
and the catalog marks the field as not personal — except that a field the catalog declares as conforming to
the credit-code data element is not flagged for holding credit codes (the provider said what it is; an
organisation's code is not personal data in general).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import duckdb
from sqlglot import exp

from sluice.catalog.schemas import FieldSpec
from sluice.catalog.standards import builtin_validators
from sluice.catalog.vocab import FieldType, Sensitivity
from sluice.lake.readers import STAGED
from sluice.lake.schemas import PiiFlag
from sluice.lake.validation import DIALECT, ident

# The most common Chinese surnames (single and compound): enough to recognise a column of names.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
    "廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷"
    "詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司"
    "卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻"
    "苑迟邝"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "令狐",
)
ADMIN_UNITS = "(省|自治区|市|区|县|旗|盟|州)"
STREET_UNITS = "(路|街|巷|道|胡同|村|镇|乡|号|室|栋|幢|单元|楼|弄|里|组)"
# Which sensitivity a detected kind calls for (PIPL art. 28: identity numbers and financial accounts are
# sensitive personal information). A credit code identifies an organisation, but a sole trader's is personal.
SUGGESTED: dict[str, Sensitivity] = {
    "resident_id": Sensitivity.SENSITIVE,
    "bank_card": Sensitivity.SENSITIVE,
    "mobile": Sensitivity.PERSONAL,
    "credit_code": Sensitivity.PERSONAL,
    "name": Sensitivity.PERSONAL,
    "address": Sensitivity.PERSONAL,
}


def _regex(pattern: str) -> Callable[[exp.Expr], exp.Expr]:
    return lambda value: exp.func("REGEXP_FULL_MATCH", value, exp.Literal.string(pattern))


def detectors() -> dict[str, Callable[[exp.Expr], exp.Expr]]:
    """Kind → a predicate over a text value (TRUE when it looks like that kind of personal data)."""
    validators = builtin_validators()
    names = f"([{SURNAMES}]|{'|'.join(COMPOUND_SURNAMES)})[\\x{{4e00}}-\\x{{9fa5}}]{{1,2}}"
    return {
        "resident_id": validators["gb11643_resident_id"].sql,
        "mobile": _regex("(\\+?86[- ]?)?1[3-9][0-9]{9}"),
        "bank_card": lambda v: exp.and_(
            exp.func("REGEXP_FULL_MATCH", v.copy(), exp.Literal.string("(62|4|5|3)[0-9]{14,18}")),
            validators["luhn_bank_card"].sql(v.copy()),
        ),
        "credit_code": validators["gb32100_credit_code"].sql,
        "name": _regex(names),
        "address": lambda v: exp.and_(
            exp.func("REGEXP_MATCHES", v.copy(), exp.Literal.string(ADMIN_UNITS)),
            exp.func("REGEXP_MATCHES", v.copy(), exp.Literal.string(STREET_UNITS)),
            exp.GTE(this=exp.func("LENGTH", v.copy()), expression=exp.Literal.number(6)),
        ),
    }


@functools.cache
def _measures() -> tuple[tuple[str, ...], str]:
    """The detectors' kinds and one SELECT list counting, over a column named ``value``, the values present
    and those each detector recognises (rendered once: the trees are large, the text is reused per field)."""
    kinds = detectors()
    value = exp.column("value")
    parts: list[exp.Expr] = [exp.Count(this=value.copy())]
    parts += [
        exp.func("COUNT_IF", exp.func("COALESCE", predicate(value.copy()), exp.false())) for predicate in kinds.values()
    ]
    return tuple(kinds), ", ".join(part.sql(dialect=DIALECT) for part in parts)


def classify(
    con: duckdb.DuckDBPyConnection,
    fields: list[FieldSpec],
    columns: dict[str, str],
    *,
    sample_rows: int,
    threshold: float,
) -> list[PiiFlag]:
    """Flag text fields whose values look personal while the catalog says they are not."""
    candidates = [f for f in fields if f.type is FieldType.STRING and f.sensitivity is Sensitivity.NONE]
    if not candidates:
        return []
    kinds, measures = _measures()
    counted = con.execute(f"SELECT COUNT(*) FROM {STAGED}").fetchone()
    step = max(1, -(-int(counted[0] if counted else 0) // sample_rows))  # every step-th row: spread, repeatable
    selects = [
        f"SELECT {measures} FROM (SELECT NULLIF({ident(columns[f.name]).sql(dialect=DIALECT)}, '') AS value "
        f"FROM {STAGED} WHERE rowid % {step} = 0)"
        for f in candidates
    ]
    row = tuple(value for select in selects for value in (con.execute(select).fetchone() or ()))
    flags: list[PiiFlag] = []
    width = len(kinds) + 1
    for index, field in enumerate(candidates):
        chunk = row[index * width : (index + 1) * width]
        present = int(chunk[0])
        if present == 0:
            continue
        shares = {kind: int(hits) / present for kind, hits in zip(kinds, chunk[1:], strict=True)}
        if field.data_element == "credit_code":  # declared an organisation's code on purpose: not a finding
            shares.pop("credit_code")
        kind, share = max(shares.items(), key=lambda item: item[1])
        if share >= threshold:
            flags.append(PiiFlag(field=field.name, kind=kind, share=round(share, 4), declared=field.sensitivity.value))
    return flags
