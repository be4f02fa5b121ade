"""The demo government's data: one synthetic city, consistent across departments.

The same residents appear in the population register, marriages, real estate, vaccinations, tests and
travel; the same enterprises in the enterprise registry and tax payments. Identity numbers carry valid
check characters, and their region and birth date agree with the resident's division code and date of
birth; addresses are built from the division code (Faker's own addresses mix provinces at random). Names
come from Faker's zh_CN surname and given-name lists, weighted as Faker weights them.

A small, *known* share of records is deliberately wrong, so that validation, quality checks and objections
have something real to find (``Flaws`` says how many of each, for any scale):

- every ``BAD_CHECK_EVERY``-th resident's identity number has a wrong check character (quarantined on load);
- every ``BAD_DATE_EVERY``-th resident's date of birth is impossible, e.g. 2001-02-30 (quarantined);
- every ``MISMATCH_EVERY``-th resident's date of birth is valid but disagrees with the identity number
  (passes validation: a quality rule or an objection must find it).

Scale 1 is about 10 000 residents; the other tables grow with it.
"""

from __future__ import annotations

import csv
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sluice.catalog.standards import credit_code_check_character, division_codes, resident_id_check_character

RESIDENTS_PER_SCALE = 10_000
BAD_CHECK_EVERY = 250
BAD_DATE_EVERY = 333
MISMATCH_EVERY = 401
CITY_PREFIX = "1101"  # the demo city's districts (GB/T 2260)
AS_OF = date(2026, 10, 31)  # the day the demo's statistics are counted on
AGE_GROUPS = ((0, "0-17"), (18, "18-34"), (35, "35-59"), (60, "60+"))
STREETS = (
    "建国",
    "复兴",
    "长安",
    "和平",
    "解放",
    "人民",
    "朝阳",
    "光明",
    "学院",
    "中关村",
    "望京",
    "丽泽",
    "永定",
    "广渠",
)
INDUSTRIES = (
    "软件和信息技术服务业",
    "批发业",
    "零售业",
    "建筑业",
    "餐饮业",
    "道路运输业",
    "金融业",
    "科技推广和应用服务业",
)
VACCINES = ("乙肝疫苗", "麻腮风疫苗", "百白破疫苗", "流感疫苗", "新冠疫苗", "HPV疫苗")
LABS = ("市疾控中心实验室", "第一人民医院检验科", "金域医学检验所", "迪安诊断检验所")
TAXES = ("增值税", "企业所得税", "个人所得税", "城市维护建设税", "印花税")
COURTS = ("市中级人民法院", "朝阳区人民法院", "海淀区人民法院", "东城区人民法院")
CASE_TYPES = ("民事", "商事", "行政", "知识产权")


@dataclass(frozen=True)
class Flaws:
    """How many deliberately wrong residents a scale produces."""

    bad_check: int
    bad_date: int
    mismatched_birth: int

    @classmethod
    def of(cls, residents: int) -> Flaws:
        positions = range(1, residents + 1)
        bad_check = sum(1 for i in positions if i % BAD_CHECK_EVERY == 0)
        bad_date = sum(1 for i in positions if i % BAD_DATE_EVERY == 0 and i % BAD_CHECK_EVERY != 0)
        mismatched = sum(
            1 for i in positions if i % MISMATCH_EVERY == 0 and i % BAD_CHECK_EVERY != 0 and i % BAD_DATE_EVERY != 0
        )
        return cls(bad_check, bad_date, mismatched)


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    gender: str
    birth_date: str
    division_code: str
    address: str
    phone: str


class City:
    """A seeded synthetic city. Same seed and scale, same city."""

    def __init__(self, scale: float = 1, seed: int = 2026) -> None:
        from faker.providers.person.zh_CN import Provider as Names

        self.scale = scale
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
        self.districts = sorted(c for c in division_codes() if c.startswith(CITY_PREFIX) and not c.endswith("00"))
        self.surnames = list(Names.last_names)
        self.surname_weights = list(itertools.accumulate(Names.last_names.values()))  # cumulative: fast choices
        self.given = list(Names.first_names)
        self.residents_count = max(10, int(RESIDENTS_PER_SCALE * scale))
        self._people: list[Person] | None = None
        self._used: set[str] = set()
        self._credit_codes: list[str] | None = None

    # --- people --------------------------------------------------------------------------------------

    def people(self) -> list[Person]:
        if self._people is None:
            self._people = [self._person(i) for i in range(1, self.residents_count + 1)]
        return self._people

    def _person(self, index: int) -> Person:
        rng = self.rng
        division = rng.choice(self.districts)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 80 * 365))
        sequence = f"{index % 1000:03d}"
        first17 = f"{division}{born:%Y%m%d}{sequence}"
        while first17 in self._used:  # same place, day and sequence: take the next free one of the same sex
            sequence = f"{(int(sequence) + 2) % 1000:03d}"
            first17 = f"{division}{born:%Y%m%d}{sequence}"
        self._used.add(first17)
        check = resident_id_check_character(first17)
        if index % BAD_CHECK_EVERY == 0:
            check = "0" if check != "0" else "1"
        birth_text = born.isoformat()
        if index % BAD_DATE_EVERY == 0 and index % BAD_CHECK_EVERY != 0:
            birth_text = f"{born.year}-02-30"
        elif index % MISMATCH_EVERY == 0:
            birth_text = (born + timedelta(days=1)).isoformat()
        name = rng.choices(self.surnames, cum_weights=self.surname_weights)[0] + "".join(
            rng.choices(self.given, k=rng.choice((1, 2)))
        )
        district_name = division_codes()[division]
        address = (
            f"北京市{district_name}{rng.choice(STREETS)}{rng.choice(('路', '街', '大街'))}{rng.randint(1, 300)}号"
            f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}室"
        )
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        gender = "1" if int(sequence[-1]) % 2 == 1 else "2"
        return Person(first17 + check, name, gender, birth_text, division, address, phone)

    def good_people(self) -> list[Person]:
        """Residents whose identity numbers are valid: other departments' records refer to these."""
        return [p for i, p in enumerate(self.people(), start=1) if i % BAD_CHECK_EVERY != 0]

    # --- enterprises ---------------------------------------------------------------------------------

    def credit_codes(self) -> list[str]:
        if self._credit_codes is None:
            codes = []
            count = max(5, int(1000 * self.scale))
            for i in range(count):
                division = self.districts[i % len(self.districts)]
                body = f"91{division}{self.rng.randrange(36**9):09X}"[:17]
                body = "".join(c if c in "0123456789ABCDEFGHJKLMNPQRTUWXY" else "A" for c in body)
                codes.append(body + credit_code_check_character(body))
            self._credit_codes = codes
        return self._credit_codes

    # --- the tables, as rows -------------------------------------------------------------------------

    def tables(self) -> dict[str, Iterator[list[str]]]:
        """Resource code → rows (header first), in the catalog's field order."""
        return {
            "psb.residents": self._residents(),
            "psb.criminal_records": self._criminal_records(),
            "civil.marriages": self._marriages(),
            "nra.real_estate": self._real_estate(),
            "amr.enterprises": self._enterprises(),
            "tax.payments": self._payments(),
            "health.vaccinations": self._vaccinations(),
            "health.tests": self._tests(),
            "transport.travel": self._travel(),
            "transport.parking": self._parking(),
            "court.judgments": self._judgments(),
            "psb.population_stats": self._population_stats(),
        }

    def _residents(self) -> Iterator[list[str]]:
        yield ["id_number", "name", "gender", "birth_date", "division_code", "address", "phone"]
        for p in self.people():
            yield [p.id_number, p.name, p.gender, p.birth_date, p.division_code, p.address, p.phone]

    def _criminal_records(self) -> Iterator[list[str]]:
        yield ["record_no", "id_number", "offence", "decided_on"]
        people = self.good_people()
        for i in range(max(1, len(people) // 100)):
            person = self.rng.choice(people)
            yield [
                f"XZ{i + 1:08d}",
                person.id_number,
                self.rng.choice(("盗窃", "诈骗", "危险驾驶", "寻衅滋事")),
                self._day(2010),
            ]

    def _marriages(self) -> Iterator[list[str]]:
        yield ["registration_no", "kind", "husband_id", "wife_id", "registered_on", "division_code"]
        people = self.good_people()
        men = [p for p in people if p.gender == "1" and p.birth_date < "2004"]
        women = [p for p in people if p.gender == "2" and p.birth_date < "2006"]
        for i in range(min(len(men), len(women), int(len(people) * 0.15))):
            kind = "结婚登记" if i % 7 else "离婚登记"
            yield [f"J{i + 1:09d}", kind, men[i].id_number, women[i].id_number, self._day(2000), men[i].division_code]

    def _real_estate(self) -> Iterator[list[str]]:
        yield ["certificate_no", "owner_id", "location", "division_code", "area_sqm", "use", "registered_on"]
        people = self.good_people()
        for i, person in enumerate(people[: int(len(people) * 0.3)]):
            area = f"{self.rng.uniform(35, 220):.2f}"
            use = self.rng.choice(("住宅", "住宅", "住宅", "商业", "办公"))
            yield [
                f"京({2015 + i % 10})不动产权第{i + 1:07d}号",
                person.id_number,
                person.address,
                person.division_code,
                area,
                use,
                self._day(2015),
            ]

    def _enterprises(self) -> Iterator[list[str]]:
        yield ["credit_code", "name", "registered_capital", "established_on", "division_code", "industry", "status"]
        for i, code in enumerate(self.credit_codes()):
            name = f"北京{self.rng.choice(STREETS)}{self.rng.choice(('科技', '商贸', '建设', '餐饮', '物流', '咨询'))}有限公司{i + 1}"
            capital = f"{self.rng.choice((10, 50, 100, 500, 1000, 5000))}.00"
            status = self.rng.choice(("存续", "存续", "存续", "在业", "注销", "吊销"))
            yield [code, name, capital, self._day(1995), code[2:8], self.rng.choice(INDUSTRIES), status]

    def _payments(self) -> Iterator[list[str]]:
        yield ["payment_id", "credit_code", "tax_type", "period", "amount", "paid_on"]
        number = 0
        for code in self.credit_codes():
            for month in range(1, 13, 3):
                number += 1
                amount = f"{self.rng.uniform(100, 500_000):.2f}"
                yield [
                    f"P{number:010d}",
                    code,
                    self.rng.choice(TAXES),
                    f"2025-{month:02d}",
                    amount,
                    f"2025-{month:02d}-15",
                ]

    def _vaccinations(self) -> Iterator[list[str]]:
        yield ["record_id", "id_number", "vaccine", "dose", "vaccinated_on", "site_division"]
        number = 0
        for person in self.good_people():
            for dose in range(1, self.rng.choice((1, 1, 2, 3)) + 1):
                number += 1
                yield [
                    f"V{number:010d}",
                    person.id_number,
                    self.rng.choice(VACCINES),
                    str(dose),
                    self._day(2019),
                    person.division_code,
                ]

    def _tests(self) -> Iterator[list[str]]:
        yield ["test_id", "id_number", "sampled_at", "result", "lab"]
        people = self.good_people()
        for i in range(len(people) * 2):
            person = people[(i * 7919) % len(people)]
            result = "阳性" if self.rng.random() < 0.03 else "阴性"
            yield [f"T{i + 1:010d}", person.id_number, self._moment(2022), result, self.rng.choice(LABS)]

    def _travel(self) -> Iterator[list[str]]:
        yield ["trip_id", "id_number", "departed_at", "from_division", "to_division", "mode"]
        people = self.good_people()
        for i, person in enumerate(people):
            to = self.rng.choice(self.districts)
            yield [
                f"R{i + 1:010d}",
                person.id_number,
                self._moment(2024),
                person.division_code,
                to,
                self.rng.choice(("地铁", "公交", "出租车", "自驾", "骑行")),
            ]

    def _parking(self) -> Iterator[list[str]]:
        yield ["lot_id", "name", "division_code", "capacity", "occupied", "longitude", "latitude", "updated_at"]
        for i in range(200):
            capacity = self.rng.randint(50, 1200)
            division = self.districts[i % len(self.districts)]
            name = f"{division_codes()[division]}{self.rng.choice(STREETS)}停车场{i + 1}"
            lon, lat = 116.2 + self.rng.random() * 0.4, 39.75 + self.rng.random() * 0.3
            yield [
                f"PK{i + 1:05d}",
                name,
                division,
                str(capacity),
                str(self.rng.randint(0, capacity)),
                f"{lon:.6f}",
                f"{lat:.6f}",
                "2026-11-27 18:00:00",
            ]

    def _judgments(self) -> Iterator[list[str]]:
        yield ["case_no", "court", "case_type", "title", "judged_on", "full_text"]
        for i in range(max(5, int(500 * self.scale))):
            case_type = self.rng.choice(CASE_TYPES)
            title = f"{case_type}纠纷一审判决书"
            text = f"本院受理原告与被告{case_type}纠纷一案，依法适用普通程序，公开开庭进行了审理。本案现已审理终结。"
            yield [
                f"(2025)京01{case_type[0]}初{i + 1}号",
                self.rng.choice(COURTS),
                case_type,
                title,
                self._day(2023),
                text,
            ]

    def _population_stats(self) -> Iterator[list[str]]:
        """The register's residents counted by district, sex and age group (as of the demo's day): the open,
        aggregated face of psb.residents, consistent with it."""
        yield ["division_code", "gender", "age_group", "residents", "as_of"]
        counts: Counter[tuple[str, str, str]] = Counter()
        for person in self.people():
            age = AS_OF.year - int(person.birth_date[:4]) - (AS_OF.strftime("%m-%d") < person.birth_date[5:])
            group = next(label for low, label in reversed(AGE_GROUPS) if max(age, 0) >= low)
            counts[(person.division_code, "男" if person.gender == "1" else "女", group)] += 1
        for (division, sex, group), count in sorted(counts.items()):
            yield [division, sex, group, str(count), AS_OF.isoformat()]

    # --- helpers -------------------------------------------------------------------------------------

    def _day(self, since: int) -> str:
        start = date(since, 1, 1)
        return (start + timedelta(days=self.rng.randrange((date(2026, 10, 31) - start).days))).isoformat()

    def _moment(self, since: int) -> str:
        start = datetime(since, 1, 1)
        return (
            start + timedelta(seconds=self.rng.randrange(int((datetime(2026, 10, 31) - start).total_seconds())))
        ).isoformat(sep=" ")


def write_table(rows: Iterator[list[str]], path: Path, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path
