"""Who is in the demo government. Names are fixed: docs, tests and later capabilities rely on them."""

from __future__ import annotations

from dataclasses import dataclass

from sluice.identity.roles import OrgKind, Role


@dataclass(frozen=True)
class DemoOrganisation:
    code: str
    name_zh: str
    name_en: str
    kind: OrgKind


@dataclass(frozen=True)
class DemoAccount:
    username: str
    org_code: str
    roles: tuple[Role, ...]
    display_name: str


PLATFORM = DemoOrganisation("platform", "政务数据共享平台", "Government Data Sharing Platform", OrgKind.PLATFORM)

DEPARTMENTS = (
    DemoOrganisation("psb", "市公安局", "Municipal Public Security Bureau", OrgKind.DEPARTMENT),
    DemoOrganisation("civil", "市民政局", "Municipal Civil Affairs Bureau", OrgKind.DEPARTMENT),
    DemoOrganisation("nra", "市自然资源局", "Municipal Natural Resources Bureau", OrgKind.DEPARTMENT),
    DemoOrganisation("amr", "市市场监督管理局", "Municipal Administration for Market Regulation", OrgKind.DEPARTMENT),
    DemoOrganisation("tax", "市税务局", "Municipal Taxation Bureau", OrgKind.DEPARTMENT),
    DemoOrganisation("health", "市卫生健康委员会", "Municipal Health Commission", OrgKind.DEPARTMENT),
    DemoOrganisation("transport", "市交通运输局", "Municipal Transport Bureau", OrgKind.DEPARTMENT),
    DemoOrganisation("court", "市中级人民法院", "Municipal Intermediate People's Court", OrgKind.DEPARTMENT),
)

ENTERPRISES = (
    DemoOrganisation("bank", "城市商业银行", "City Commercial Bank", OrgKind.ENTERPRISE),
    DemoOrganisation("healthcode", "健康码运营公司", "Health Code App Operator", OrgKind.ENTERPRISE),
)

ORGANISATIONS = (PLATFORM, *DEPARTMENTS, *ENTERPRISES)


def _department_accounts(org: DemoOrganisation) -> tuple[DemoAccount, DemoAccount]:
    return (
        DemoAccount(f"{org.code}-admin", org.code, (Role.ORG_ADMIN, Role.PROVIDER), f"{org.name_zh} 数据管理员"),
        DemoAccount(f"{org.code}-analyst", org.code, (Role.CONSUMER,), f"{org.name_zh} 数据分析员"),
    )


ACCOUNTS = (
    DemoAccount("manager", "platform", (Role.MANAGER,), "数据主管部门 管理方"),
    DemoAccount("operator", "platform", (Role.OPERATOR,), "平台运营方"),
    DemoAccount("auditor", "platform", (Role.AUDITOR,), "安全审计方"),
    *(account for org in DEPARTMENTS for account in _department_accounts(org)),
    DemoAccount("bank-analyst", "bank", (Role.CONSUMER,), "城市商业银行 信贷分析员"),
    DemoAccount("healthcode-app", "healthcode", (Role.CONSUMER,), "健康码应用"),
)
