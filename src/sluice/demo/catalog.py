"""The demo government's catalog: the resources the scenarios use, plus a few hundred departmental ones.

Every entry goes through the real workflow: the department's `<org>-admin` registers and submits it, the
`manager` publishes it — so the demo's history looks like a real one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sluice.catalog import service as catalog
from sluice.catalog.schemas import Contact, FieldSpec, ResourceCreate, ReviewDecision
from sluice.catalog.vocab import Category, FieldType, Format, Grade, OpenType, Sensitivity, SharingType, UpdateCycle
from sluice.demo.government import DEPARTMENTS
from sluice.identity.actor import Actor
from sluice.identity.authn import actor_for_user
from sluice.identity.queries import find_user

CC_BY = "CC-BY-4.0"
INT, DEC, DT, TS = FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.TIMESTAMP
NONE, PERSONAL, SENSITIVE = Sensitivity.NONE, Sensitivity.PERSONAL, Sensitivity.SENSITIVE


def f(
    name: str,
    zh: str,
    en: str,
    kind: FieldType = FieldType.STRING,
    *,
    pk: bool = False,
    element: str | None = None,
    sensitivity: Sensitivity = NONE,
    nullable: bool | None = None,
) -> FieldSpec:
    return FieldSpec(
        name=name,
        title_zh=zh,
        title_en=en,
        type=kind,
        primary_key=pk,
        nullable=(not pk) if nullable is None else nullable,
        data_element=element,
        sensitivity=sensitivity,
    )


def contact(org: str) -> Contact:
    return Contact(name=f"{org} data office", email=f"data@{org}.gov.example", phone="010-12345678")


SCENARIO_RESOURCES: tuple[ResourceCreate, ...] = (
    ResourceCreate(
        code="psb.residents",
        title_zh="人口基础信息",
        title_en="Resident population register",
        abstract_zh="全市常住人口的户籍登记信息，包括公民身份号码、姓名、性别、出生日期、住址和联系方式，是人口基础信息库的核心。",
        abstract_en="Household registration of the city's residents: identity number, name, sex, date of birth, address "
        "and contact. The core of the population base database.",
        category=Category.BASE,
        tags=["人口", "户籍", "身份", "population"],
        update_cycle=UpdateCycle.DAILY,
        contact=contact("psb"),
        sharing_type=SharingType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        grade=Grade.IMPORTANT,
        formats=[Format.API, Format.PARQUET],
        fields=[
            f("id_number", "公民身份号码", "Identity number", pk=True, element="resident_id", sensitivity=SENSITIVE),
            f("name", "姓名", "Name", sensitivity=PERSONAL, nullable=False),
            f("gender", "性别", "Sex", element="sex_code", sensitivity=PERSONAL),
            f("birth_date", "出生日期", "Date of birth", DT, element="date", sensitivity=PERSONAL),
            f("division_code", "户籍所在地行政区划", "Division of registration", element="division_code"),
            f("address", "住址", "Address", sensitivity=PERSONAL),
            f("phone", "联系电话", "Mobile number", element="mobile_number", sensitivity=PERSONAL),
        ],
    ),
    ResourceCreate(
        code="psb.criminal_records",
        title_zh="违法犯罪记录",
        title_en="Criminal records",
        abstract_zh="公安机关掌握的违法犯罪记录。依法封存，不予共享。",
        abstract_en="Criminal records held by the police. Sealed by law; not shared.",
        category=Category.DEPARTMENTAL,
        tags=["犯罪记录", "治安"],
        update_cycle=UpdateCycle.DAILY,
        contact=contact("psb"),
        sharing_type=SharingType.NOT_SHARED,
        legal_basis="《中华人民共和国刑事诉讼法》第二百八十六条（犯罪记录封存）；《中华人民共和国治安管理处罚法》",
        open_type=OpenType.NOT_OPEN,
        grade=Grade.CORE,
        formats=[Format.API],
        fields=[
            f("record_no", "记录编号", "Record number", pk=True),
            f("id_number", "公民身份号码", "Identity number", element="resident_id", sensitivity=SENSITIVE),
            f("offence", "违法犯罪类型", "Offence", sensitivity=SENSITIVE),
            f("decided_on", "处理日期", "Decided on", DT, element="date"),
        ],
    ),
    ResourceCreate(
        code="civil.marriages",
        title_zh="婚姻登记信息",
        title_en="Marriage registrations",
        abstract_zh="结婚、离婚登记信息，用于不动产登记、社会救助等业务的婚姻状况核验。",
        abstract_en="Marriage and divorce registrations, for checking marital status in real-estate registration, "
        "social assistance and other services.",
        category=Category.BASE,
        tags=["婚姻", "民政", "marriage"],
        update_cycle=UpdateCycle.DAILY,
        contact=contact("civil"),
        sharing_type=SharingType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        grade=Grade.IMPORTANT,
        formats=[Format.API],
        fields=[
            f("registration_no", "登记证号", "Registration number", pk=True),
            f("kind", "登记类型", "Kind (marriage/divorce)"),
            f(
                "husband_id",
                "男方公民身份号码",
                "Husband's identity number",
                element="resident_id",
                sensitivity=SENSITIVE,
            ),
            f("wife_id", "女方公民身份号码", "Wife's identity number", element="resident_id", sensitivity=SENSITIVE),
            f("registered_on", "登记日期", "Registered on", DT, element="date"),
            f("division_code", "登记机关行政区划", "Division of the registry", element="division_code"),
        ],
    ),
    ResourceCreate(
        code="nra.real_estate",
        title_zh="不动产登记信息",
        title_en="Real-estate register",
        abstract_zh="不动产权属登记信息，包括不动产权证号、权利人、坐落、面积和用途。",
        abstract_en="Registered ownership of real estate: certificate number, owner, location, area and use.",
        category=Category.BASE,
        tags=["不动产", "房产", "real estate"],
        update_cycle=UpdateCycle.DAILY,
        contact=contact("nra"),
        sharing_type=SharingType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        grade=Grade.IMPORTANT,
        formats=[Format.API, Format.CSV],
        fields=[
            f("certificate_no", "不动产权证号", "Certificate number", pk=True),
            f(
                "owner_id",
                "权利人公民身份号码",
                "Owner's identity number",
                element="resident_id",
                sensitivity=SENSITIVE,
            ),
            f("location", "坐落", "Location", sensitivity=PERSONAL),
            f("division_code", "所在行政区划", "Division", element="division_code"),
            f("area_sqm", "建筑面积（平方米）", "Floor area (m²)", DEC),
            f("use", "用途", "Use"),
            f("registered_on", "登记日期", "Registered on", DT, element="date"),
        ],
    ),
    ResourceCreate(
        code="amr.enterprises",
        title_zh="企业登记信息",
        title_en="Enterprise registry",
        abstract_zh="市场主体登记信息：统一社会信用代码、企业名称、注册资本、成立日期、所属行业和经营状态。向社会开放。",
        abstract_en="Registered market entities: unified social credit code, name, registered capital, date "
        "established, industry and status. Open to everyone.",
        category=Category.BASE,
        tags=["企业", "法人", "市场主体", "enterprise"],
        update_cycle=UpdateCycle.DAILY,
        contact=contact("amr"),
        licence=CC_BY,
        sharing_type=SharingType.UNCONDITIONAL,
        open_type=OpenType.OPEN,
        grade=Grade.GENERAL,
        formats=[Format.CSV, Format.JSON, Format.PARQUET, Format.API],
        fields=[
            f("credit_code", "统一社会信用代码", "Unified social credit code", pk=True, element="credit_code"),
            f("name", "企业名称", "Name", nullable=False),
            f("registered_capital", "注册资本（万元）", "Registered capital (10k CNY)", DEC),
            f("established_on", "成立日期", "Established on", DT, element="date"),
            f("division_code", "登记机关行政区划", "Division", element="division_code"),
            f("industry", "所属行业", "Industry"),
            f("status", "经营状态", "Status"),
        ],
    ),
    ResourceCreate(
        code="tax.payments",
        title_zh="企业纳税信息",
        title_en="Enterprise tax payments",
        abstract_zh="企业按税种、所属期的纳税记录，可在企业授权下用于“云税贷”等信用评估。",
        abstract_en="Enterprises' tax payments by tax and period; with the enterprise's consent, used for credit "
        "assessment such as the cloud tax loan.",
        category=Category.DEPARTMENTAL,
        tags=["纳税", "税务", "信用", "tax"],
        update_cycle=UpdateCycle.MONTHLY,
        contact=contact("tax"),
        sharing_type=SharingType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        grade=Grade.IMPORTANT,
        formats=[Format.API],
        fields=[
            f("payment_id", "缴款编号", "Payment id", pk=True),
            f("credit_code", "统一社会信用代码", "Unified social credit code", element="credit_code", nullable=False),
            f("tax_type", "税种", "Tax"),
            f("period", "所属期", "Period (YYYY-MM)"),
            f("amount", "实缴金额（元）", "Amount paid (CNY)", DEC),
            f("paid_on", "缴款日期", "Paid on", DT, element="date"),
        ],
    ),
    ResourceCreate(
        code="health.vaccinations",
        title_zh="疫苗接种记录",
        title_en="Vaccination records",
        abstract_zh="居民疫苗接种记录：疫苗种类、剂次、接种日期和接种点。",
        abstract_en="Residents' vaccinations: vaccine, dose, date and site.",
        category=Category.THEMATIC,
        tags=["健康", "疫苗", "卫生", "health"],
        update_cycle=UpdateCycle.DAILY,
        contact=contact("health"),
        sharing_type=SharingType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        grade=Grade.IMPORTANT,
        formats=[Format.API],
        fields=[
            f("record_id", "记录编号", "Record id", pk=True),
            f(
                "id_number",
                "公民身份号码",
                "Identity number",
                element="resident_id",
                sensitivity=SENSITIVE,
                nullable=False,
            ),
            f("vaccine", "疫苗名称", "Vaccine", sensitivity=SENSITIVE),
            f("dose", "剂次", "Dose", INT),
            f("vaccinated_on", "接种日期", "Vaccinated on", DT, element="date"),
            f("site_division", "接种点行政区划", "Division of the site", element="division_code"),
        ],
    ),
    ResourceCreate(
        code="health.tests",
        title_zh="核酸检测记录",
        title_en="Test results",
        abstract_zh="核酸检测采样时间、检测结果和检测机构。",
        abstract_en="Laboratory test samples: time taken, result and laboratory.",
        category=Category.THEMATIC,
        tags=["健康", "检测", "health"],
        update_cycle=UpdateCycle.REALTIME,
        contact=contact("health"),
        sharing_type=SharingType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        grade=Grade.IMPORTANT,
        formats=[Format.API],
        fields=[
            f("test_id", "检测编号", "Test id", pk=True),
            f(
                "id_number",
                "公民身份号码",
                "Identity number",
                element="resident_id",
                sensitivity=SENSITIVE,
                nullable=False,
            ),
            f("sampled_at", "采样时间", "Sampled at", TS),
            f("result", "检测结果", "Result", sensitivity=SENSITIVE),
            f("lab", "检测机构", "Laboratory"),
        ],
    ),
    ResourceCreate(
        code="transport.travel",
        title_zh="出行记录",
        title_en="Travel records",
        abstract_zh="铁路、民航、长途客运的出行记录：出发时间、出发地和目的地。",
        abstract_en="Rail, air and coach journeys: departure time, origin and destination.",
        category=Category.THEMATIC,
        tags=["交通", "出行", "行程", "travel"],
        update_cycle=UpdateCycle.REALTIME,
        contact=contact("transport"),
        sharing_type=SharingType.CONDITIONAL,
        open_type=OpenType.NOT_OPEN,
        grade=Grade.IMPORTANT,
        formats=[Format.API],
        fields=[
            f("trip_id", "行程编号", "Trip id", pk=True),
            f(
                "id_number",
                "公民身份号码",
                "Identity number",
                element="resident_id",
                sensitivity=SENSITIVE,
                nullable=False,
            ),
            f("departed_at", "出发时间", "Departed at", TS, sensitivity=SENSITIVE),
            f("from_division", "出发地行政区划", "Origin", element="division_code", sensitivity=SENSITIVE),
            f("to_division", "目的地行政区划", "Destination", element="division_code", sensitivity=SENSITIVE),
            f("mode", "交通方式", "Mode"),
        ],
    ),
    ResourceCreate(
        code="transport.parking",
        title_zh="停车场实时泊位",
        title_en="Parking occupancy",
        abstract_zh="公共停车场的位置、总泊位和实时占用数，向社会开放，便于出行导航。",
        abstract_en="Public car parks: location, capacity and live occupancy. Open to everyone, for navigation apps.",
        category=Category.THEMATIC,
        tags=["交通", "停车", "parking"],
        update_cycle=UpdateCycle.REALTIME,
        contact=contact("transport"),
        licence=CC_BY,
        sharing_type=SharingType.UNCONDITIONAL,
        open_type=OpenType.OPEN,
        grade=Grade.GENERAL,
        formats=[Format.CSV, Format.JSON, Format.API],
        fields=[
            f("lot_id", "停车场编号", "Car park id", pk=True),
            f("name", "停车场名称", "Name", nullable=False),
            f("division_code", "所在行政区划", "Division", element="division_code"),
            f("capacity", "总泊位", "Capacity", INT),
            f("occupied", "已占用泊位", "Occupied", INT),
            f("longitude", "经度", "Longitude", DEC),
            f("latitude", "纬度", "Latitude", DEC),
            f("updated_at", "更新时间", "Updated at", TS),
        ],
    ),
    ResourceCreate(
        code="psb.population_stats",
        title_zh="户籍人口统计（按区县、性别、年龄段）",
        title_en="Registered population by district, sex and age group",
        abstract_zh="由人口基础信息汇总的户籍人口数，按区县、性别和年龄段统计，不含任何个人信息，向社会开放。",
        abstract_en="Registered residents counted by district, sex and age group, aggregated from the population "
        "register; no personal information. Open to everyone.",
        category=Category.BASE,
        tags=["人口", "统计", "population"],
        update_cycle=UpdateCycle.MONTHLY,
        contact=contact("psb"),
        licence=CC_BY,
        sharing_type=SharingType.UNCONDITIONAL,
        open_type=OpenType.OPEN,
        grade=Grade.GENERAL,
        formats=[Format.CSV, Format.JSON, Format.PARQUET, Format.API],
        fields=[
            f("division_code", "区县代码", "District", pk=True, element="division_code"),
            f("gender", "性别", "Sex", pk=True),
            f("age_group", "年龄段", "Age group", pk=True),
            f("residents", "户籍人口数", "Registered residents", INT),
            f("as_of", "统计日期", "As of", DT, element="date"),
        ],
    ),
    ResourceCreate(
        code="court.judgments",
        title_zh="裁判文书",
        title_en="Published court judgments",
        abstract_zh="依法公开的生效裁判文书（已隐名处理），向社会开放。",
        abstract_en="Final judgments published as the law requires (with parties anonymised). Open to everyone.",
        category=Category.DEPARTMENTAL,
        tags=["司法", "裁判文书", "judgments"],
        update_cycle=UpdateCycle.DAILY,
        contact=contact("court"),
        licence=CC_BY,
        sharing_type=SharingType.UNCONDITIONAL,
        open_type=OpenType.OPEN,
        grade=Grade.GENERAL,
        formats=[Format.CSV, Format.JSON],
        fields=[
            f("case_no", "案号", "Case number", pk=True),
            f("court", "审理法院", "Court"),
            f("case_type", "案件类型", "Case type"),
            f("title", "文书标题", "Title"),
            f("judged_on", "裁判日期", "Judged on", DT, element="date"),
            f("full_text", "文书全文", "Full text"),
        ],
    ),
)


@dataclass(frozen=True)
class Theme:
    zh: str
    en: str
    tags: tuple[str, ...]


THEMES: dict[str, tuple[Theme, ...]] = {
    "psb": (
        Theme("机动车驾驶人", "driving licence holders", ("交通", "驾驶")),
        Theme("出入境证件", "travel documents", ("出入境",)),
        Theme("户籍迁移", "household moves", ("人口", "户籍")),
        Theme("流动人口居住登记", "temporary residence", ("人口",)),
    ),
    "civil": (
        Theme("社会救助", "social assistance", ("救助", "民生")),
        Theme("养老服务机构", "elderly care homes", ("养老",)),
        Theme("社会组织登记", "registered social organisations", ("社会组织",)),
        Theme("殡葬服务", "funeral services", ("民生",)),
    ),
    "nra": (
        Theme("土地供应", "land supply", ("土地",)),
        Theme("地质灾害隐患点", "geological hazard sites", ("地质", "安全")),
        Theme("国土空间规划", "spatial planning", ("规划",)),
        Theme("测绘成果", "surveying results", ("测绘",)),
    ),
    "amr": (
        Theme("行政处罚", "administrative penalties", ("企业", "信用")),
        Theme("食品生产许可", "food production licences", ("食品", "许可")),
        Theme("特种设备", "special equipment", ("安全",)),
        Theme("商标注册", "trademarks", ("企业",)),
    ),
    "tax": (
        Theme("发票开具统计", "invoice statistics", ("税务", "统计")),
        Theme("纳税信用等级", "tax credit ratings", ("信用", "税务")),
        Theme("税收优惠备案", "tax relief filings", ("税务",)),
        Theme("欠税公告", "tax arrears notices", ("信用",)),
    ),
    "health": (
        Theme("医疗机构", "medical institutions", ("医疗", "健康")),
        Theme("执业医师", "licensed doctors", ("医疗",)),
        Theme("出生医学证明", "birth certificates", ("人口", "健康")),
        Theme("传染病监测", "infectious disease surveillance", ("健康", "统计")),
    ),
    "transport": (
        Theme("公交线路", "bus routes", ("交通", "公交")),
        Theme("道路运输许可", "road transport permits", ("交通", "许可")),
        Theme("出租车运营", "taxi operations", ("交通",)),
        Theme("路网运行监测", "road network monitoring", ("交通", "统计")),
    ),
    "court": (
        Theme("执行案件", "enforcement cases", ("司法",)),
        Theme("失信被执行人", "judgment defaulters", ("司法", "信用")),
        Theme("法院公告", "court notices", ("司法",)),
        Theme("诉讼服务", "litigation services", ("司法", "服务")),
    ),
}
ASPECTS = (
    ("登记信息", "register"),
    ("统计数据", "statistics"),
    ("名录", "directory"),
    ("年度报告", "annual report"),
    ("变更记录", "change log"),
    ("办理情况", "case handling"),
    ("监管信息", "supervision records"),
    ("许可信息", "permits"),
    ("公示信息", "public notices"),
)


def departmental_resources(count: int, seed: int = 2026) -> list[ResourceCreate]:
    """``count`` plausible departmental resources with a seeded mix of types, grades, formats and tags."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo content, not security
    made: list[ResourceCreate] = []
    for number in range(count):
        org = DEPARTMENTS[number % len(DEPARTMENTS)]
        theme = rng.choice(THEMES[org.code])
        aspect_zh, aspect_en = ASPECTS[(number // len(DEPARTMENTS)) % len(ASPECTS)]
        open_type = rng.choices(list(OpenType), weights=(3, 2, 5))[0]
        sharing = rng.choices(list(SharingType), weights=(4, 5, 1))[0]
        grade = Grade.GENERAL if open_type is not OpenType.NOT_OPEN else rng.choices(list(Grade), weights=(1, 3, 6))[0]
        if grade is Grade.CORE and sharing is SharingType.UNCONDITIONAL:
            sharing = SharingType.CONDITIONAL
        year = 2015 + number % 11
        made.append(
            ResourceCreate(
                code=f"{org.code}.r{number:05d}",
                title_zh=f"{theme.zh}{aspect_zh}（{year}）",
                title_en=f"{theme.en.capitalize()} {aspect_en} ({year})",
                abstract_zh=f"{org.name_zh}发布的{theme.zh}{aspect_zh}，覆盖{year}年度全市范围。",
                abstract_en=f"{theme.en.capitalize()} {aspect_en} published by the {org.name_en}, city-wide, {year}.",
                category=rng.choices(list(Category), weights=(1, 3, 6))[0],
                tags=[*theme.tags, aspect_zh[:2]],
                update_cycle=rng.choice(list(UpdateCycle)),
                contact=contact(org.code),
                licence=CC_BY if open_type is not OpenType.NOT_OPEN else None,
                sharing_type=sharing,
                legal_basis="《中华人民共和国保守国家秘密法》" if sharing is SharingType.NOT_SHARED else None,
                open_type=open_type,
                grade=grade,
                formats=rng.sample(list(Format), k=rng.randint(1, 3)),
                fields=[
                    f("record_id", "记录编号", "Record id", pk=True),
                    f("division_code", "行政区划", "Division", element="division_code"),
                    f("item", f"{theme.zh}事项", f"{theme.en} item"),
                    f("recorded_on", "记录日期", "Recorded on", DT, element="date"),
                    f("quantity", "数量", "Quantity", INT),
                ],
            )
        )
    return made


DEPARTMENTAL_COUNT = 300


def add_catalog(session: Session, progress: object = None) -> int:
    """Register, submit and publish every demo resource. Returns how many."""
    manager = actor_for_user(find_user(session, "manager"), via="demo")
    entries = [*SCENARIO_RESOURCES, *departmental_resources(DEPARTMENTAL_COUNT)]
    admins: dict[str, Actor] = {}
    for number, entry in enumerate(entries, start=1):
        org = entry.code.split(".", 1)[0]
        provider = admins.setdefault(org, actor_for_user(find_user(session, f"{org}-admin"), via="demo"))
        catalog.register_resource(session, provider, data=entry)
        catalog.submit_resource(session, provider, code=entry.code)
        catalog.review_resource(session, manager, code=entry.code, decision=ReviewDecision(decision="publish"))
        if callable(progress):
            progress("catalog", number, len(entries))
    return len(entries)
