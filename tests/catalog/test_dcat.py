"""DCAT-AP 3 output of the catalog: valid against the official DCAT-AP 3.0.1 SHACL shapes, the same triples in
Turtle and JSON-LD, paged with Hydra links, and showing what search shows to the same caller."""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyshacl
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, Node, URIRef

# DCAT and XSD are read through their module: pytest scans module globals for fixtures, and these two
# closed namespaces warn when asked for attributes they do not define.
from rdflib import namespace as ns
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SH

from sluice.catalog import dcat
from sluice.catalog.dcat import ACCESS_RIGHT, FILE_TYPE, FREQUENCY, HYDRA, LICENCE, VCARD
from sluice.catalog.schemas import Contact, ResourcePublic
from sluice.catalog.vocab import Format, OpenType, RevisionStatus, UpdateCycle
from sluice.identity.roles import OrgKind
from sluice.identity.schemas import OrganisationPublic
from sluice.platform import Platform
from tests.catalog.conftest import draft
from tests.conftest import bearer

# rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph; nothing of ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")

REPO_ROOT = Path(__file__).resolve().parents[2]
SHAPES_DIR = REPO_ROOT.parent / "shared" / "data" / "dcat-ap-3.0.1"
BASE = "http://testserver"
TURTLE = "text/turtle; charset=utf-8"
JSON_LD = "application/ld+json"


# --- validating against the shapes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shapes:
    mandatory: Graph  # shapes.ttl + range.ttl: what DCAT-AP requires
    recommended: Graph  # shapes_recommended.ttl: what it recommends (severity warning)


@dataclass(frozen=True)
class Findings:
    violations: list[str]  # where, on which node, why
    warnings: Counter[str]  # where (shape and path), and how often


@pytest.fixture(scope="session")
def shapes() -> Shapes:
    if not SHAPES_DIR.is_dir():
        pytest.fail(f"the DCAT-AP 3.0.1 shapes are not at {SHAPES_DIR}: see ../shared/data/README.md")
    mandatory = Graph()
    for name in ("shapes.ttl", "range.ttl"):  # the combined file published beside them does not load
        mandatory.parse(SHAPES_DIR / name, format="turtle")
    return Shapes(mandatory, Graph().parse(SHAPES_DIR / "shapes_recommended.ttl", format="turtle"))


def check(graph: Graph, shapes: Shapes) -> Findings:
    results = [*_results(graph, shapes.mandatory), *_results(graph, shapes.recommended)]
    return Findings(
        violations=sorted(f"{where} on {detail}" for severity, where, detail in results if severity == SH.Violation),
        warnings=Counter(where for severity, where, _detail in results if severity != SH.Violation),
    )


def _results(graph: Graph, shapes_graph: Graph) -> list[tuple[Node | None, str, str]]:
    # inference="none": the shapes check classes asserted in the graph we publish, which is what a harvester
    # without a reasoner sees; the output states every class itself (vcard:Kind too), so RDFS inference
    # (which would also need the vCard, FOAF and DCAT ontologies loaded) could only hide a missing type.
    _conforms, report, _text = pyshacl.validate(
        graph, shacl_graph=shapes_graph, inference="none", allow_warnings=True, allow_infos=True
    )
    assert isinstance(report, Graph)
    return [
        (report.value(result, SH.resultSeverity), _where(report, result, shapes_graph), _detail(report, result))
        for result in report.subjects(RDF.type, SH.ValidationResult)
    ]


def _where(report: Graph, result: Node, shapes_graph: Graph) -> str:
    """The shape's label and the property path, e.g. "Dataset dct:spatial"."""
    source = report.value(result, SH.sourceShape)
    node_shape = shapes_graph.value(predicate=SH.property, object=source) or source
    path = report.value(result, SH.resultPath)
    label = shapes_graph.value(node_shape, RDFS.label)
    return f"{label} {path.n3(shapes_graph.namespace_manager)}" if path is not None else str(label)


def _detail(report: Graph, result: Node) -> str:
    return f"{report.value(result, SH.focusNode)}: {report.value(result, SH.resultMessage)}"


def report_warnings(findings: Findings, what: str) -> None:
    """Recommended properties are reported, not enforced: some need facts the catalog does not hold yet."""
    if findings.warnings:
        listed = "; ".join(f"{where} x{count}" for where, count in sorted(findings.warnings.items()))
        warnings.warn(f"DCAT-AP recommendations missed by {what}: {listed}", stacklevel=2)


# --- reading the documents -----------------------------------------------------------------------------


def headers_for(demo: Platform, username: str | None) -> dict[str, str]:
    return bearer(demo, username) if username else {}


def fetch(client: TestClient, path: str, headers: dict[str, str]) -> Graph:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    json_ld = response.headers["content-type"] == JSON_LD
    return Graph().parse(data=response.text, format="json-ld" if json_ld else "turtle")


def page_view(graph: Graph) -> Node:
    views = list(graph.subjects(RDF.type, HYDRA.PartialCollectionView))
    assert len(views) == 1
    return views[0]


def whole_catalog(client: TestClient, headers: dict[str, str]) -> tuple[Graph, int]:
    """Every page of /catalog.ttl, followed by its hydra:next links, in one graph; and how many pages."""
    graph, url, pages = Graph(), "/catalog.ttl", 0
    while url:
        page = fetch(client, url, headers)
        graph += page
        pages += 1
        following = page.value(page_view(page), HYDRA.next)
        url = str(following) if following else ""
    return graph, pages


def datasets(graph: Graph) -> set[Node]:
    return set(graph.subjects(RDF.type, ns.DCAT.Dataset))


def iri(path: str) -> URIRef:
    return URIRef(f"{BASE}{path}")


# --- the whole catalog and single datasets validate ----------------------------------------------------


@pytest.mark.parametrize("username", [None, "civil-analyst"])
def test_the_whole_catalog_is_valid_dcat_ap(
    demo: Platform, demo_client: TestClient, shapes: Shapes, username: str | None
) -> None:
    headers = headers_for(demo, username)
    graph, pages = whole_catalog(demo_client, headers)
    count = demo_client.get("/api/v1/resources", params={"limit": 0}, headers=headers).json()["count"]

    assert len(datasets(graph)) == count
    assert set(graph.objects(iri("/catalog"), ns.DCAT.dataset)) == datasets(graph)
    assert pages == math.ceil(count / 100)
    findings = check(graph, shapes)
    assert findings.violations == []
    report_warnings(findings, f"the catalog as {username or 'the public'}")


@pytest.mark.parametrize("username", [None, "civil-analyst"])
def test_the_public_sees_open_data_and_a_department_also_the_rest(
    demo: Platform, demo_client: TestClient, username: str | None
) -> None:
    graph, _pages = whole_catalog(demo_client, headers_for(demo, username))
    rights = set(graph.objects(None, DCTERMS.accessRights))

    assert {ACCESS_RIGHT.PUBLIC, ACCESS_RIGHT.RESTRICTED} <= rights
    assert (ACCESS_RIGHT.NON_PUBLIC in rights) == (username is not None)
    assert (iri("/dataset/psb.residents") in datasets(graph)) == (username is not None)


@pytest.mark.parametrize(
    ("code", "username"),
    [
        ("psb.residents", "civil-analyst"),
        ("civil.marriages", "civil-analyst"),
        ("transport.parking", None),
        ("court.judgments", None),
    ],
)
def test_a_single_dataset_is_valid_dcat_ap(
    demo: Platform, demo_client: TestClient, shapes: Shapes, code: str, username: str | None
) -> None:
    headers = headers_for(demo, username)
    turtle, json_ld = (
        check(fetch(demo_client, f"/dataset/{code}.{suffix}", headers), shapes) for suffix in ("ttl", "jsonld")
    )

    assert turtle.violations == json_ld.violations == []
    report_warnings(turtle, code)


# --- what a dataset says --------------------------------------------------------------------------------


def test_an_open_dataset_says_what_the_catalog_knows(demo_client: TestClient) -> None:
    graph = fetch(demo_client, "/dataset/transport.parking.ttl", {})
    dataset = iri("/dataset/transport.parking")

    assert set(graph.objects(dataset, DCTERMS.title)) == {
        Literal("停车场实时泊位", lang="zh"),
        Literal("Parking occupancy", lang="en"),
    }
    assert graph.value(dataset, DCTERMS.identifier) == Literal("transport.parking")
    assert set(graph.objects(dataset, ns.DCAT.keyword)) == {
        Literal("交通", lang="zh"),
        Literal("停车", lang="zh"),
        Literal("parking", lang="en"),
    }
    assert graph.value(dataset, DCTERMS.accrualPeriodicity) == FREQUENCY.UPDATE_CONT
    assert graph.value(dataset, DCTERMS.accessRights) == ACCESS_RIGHT.PUBLIC
    assert graph.value(dataset, DCTERMS.issued).datatype == ns.XSD.dateTime  # type: ignore[union-attr]
    assert graph.value(dataset, DCTERMS.modified).datatype == ns.XSD.dateTime  # type: ignore[union-attr]

    publisher = graph.value(dataset, DCTERMS.publisher)
    assert publisher == iri("/organisation/transport")
    assert (publisher, RDF.type, FOAF.Agent) in graph
    assert Literal("市交通运输局", lang="zh") in set(graph.objects(publisher, FOAF.name))

    contact = graph.value(dataset, ns.DCAT.contactPoint)
    assert {VCARD.Organization, VCARD.Kind} <= set(graph.objects(contact, RDF.type))
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:data@transport.gov.example")

    distributions = {graph.value(d, ns.DCAT.accessURL): d for d in graph.objects(dataset, ns.DCAT.distribution)}
    csv = distributions[iri("/api/v1/resources/transport.parking/download?format=csv")]
    api = distributions[iri("/api/v1/resources/transport.parking")]
    assert len(distributions) == 3
    assert graph.value(csv, DCTERMS.format) == FILE_TYPE.CSV
    assert graph.value(csv, DCTERMS.license) == LICENCE.CC_BY_4_0
    assert (LICENCE.CC_BY_4_0, RDF.type, DCTERMS.LicenseDocument) in graph
    service = graph.value(api, ns.DCAT.accessService)
    assert graph.value(service, ns.DCAT.endpointURL) == iri("/api/v1/resources/transport.parking")
    assert graph.value(service, ns.DCAT.servesDataset) == dataset


def test_data_that_is_not_open_has_no_licence(demo: Platform, demo_client: TestClient) -> None:
    graph = fetch(demo_client, "/dataset/psb.residents.ttl", bearer(demo, "civil-analyst"))

    assert graph.value(iri("/dataset/psb.residents"), DCTERMS.accessRights) == ACCESS_RIGHT.NON_PUBLIC
    assert list(graph.objects(None, DCTERMS.license)) == []


@pytest.mark.parametrize("suffix", ["ttl", "jsonld"])
def test_chinese_titles_survive_with_their_language_tag(demo: Platform, demo_client: TestClient, suffix: str) -> None:
    response = demo_client.get(f"/dataset/psb.residents.{suffix}", headers=bearer(demo, "civil-analyst"))
    graph = Graph().parse(data=response.text, format="turtle" if suffix == "ttl" else "json-ld")

    assert response.headers["content-type"] == (TURTLE if suffix == "ttl" else JSON_LD)
    assert "人口基础信息" in response.content.decode("utf-8")  # as characters, not escapes
    assert Literal("人口基础信息", lang="zh") in set(graph.objects(iri("/dataset/psb.residents"), DCTERMS.title))


@pytest.mark.parametrize("path", ["/dataset/transport.parking.{}", "/catalog.{}?page=2"])
def test_json_ld_holds_the_same_triples_as_turtle(demo_client: TestClient, path: str) -> None:
    response = demo_client.get(path.format("jsonld"))
    from_json_ld = Graph().parse(data=response.text, format="json-ld")
    from_turtle = fetch(demo_client, path.format("ttl"), {})

    assert response.headers["content-type"] == JSON_LD
    assert "@context" in json.loads(response.text)
    assert len(from_json_ld) > 50
    # paging links name the document they page through: Turtle pages link to Turtle pages
    assert isomorphic(from_json_ld, _renamed(from_turtle, "/catalog.ttl", "/catalog.jsonld"))


def _renamed(graph: Graph, old: str, new: str) -> Graph:
    def rename(node: Node) -> Node:
        return URIRef(str(node).replace(old, new)) if isinstance(node, URIRef) else node

    renamed = Graph()
    for s, p, o in graph:
        renamed.add((rename(s), p, rename(o)))
    return renamed


# --- paging --------------------------------------------------------------------------------------------


def test_catalog_pages_are_disjoint_and_linked(demo_client: TestClient) -> None:
    first, second = (fetch(demo_client, f"/catalog.jsonld?page={n}", {}) for n in (1, 2))
    first_view, second_view = page_view(first), page_view(second)

    assert len(datasets(first)) == 100
    assert datasets(first).isdisjoint(datasets(second))
    assert first.value(first_view, HYDRA.next) == second_view == iri("/catalog.jsonld?page=2")
    assert first.value(first_view, HYDRA.first) == first_view
    assert first.value(first_view, HYDRA.itemsPerPage) == Literal(100)
    assert (first_view, RDF.type, HYDRA.PagedCollection) in first  # what ckanext-dcat's harvester follows
    assert second.value(second_view, HYDRA.previous) == first_view
    assert first.value(first_view, HYDRA.last) == second.value(second_view, HYDRA.last)


def test_a_page_past_the_last_is_404_and_page_zero_is_invalid(demo_client: TestClient) -> None:
    first = fetch(demo_client, "/catalog.jsonld", {})
    last_page = first.value(page_view(first), HYDRA.last)
    last = fetch(demo_client, str(last_page), {})
    past = demo_client.get(f"/catalog.jsonld?page={int(str(last_page).rsplit('=', 1)[1]) + 1}")
    zero = demo_client.get("/catalog.ttl?page=0")

    assert last.value(page_view(last), HYDRA.next) is None
    assert (past.status_code, past.json()["error"]["code"]) == (404, "not_found")
    assert (zero.status_code, zero.json()["error"]["code"]) == (422, "invalid")


# --- what may not be seen ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/dataset/psb.residents.ttl", "/dataset/psb.residents.jsonld", "/dataset/psb.nothing_here.ttl"]
)
def test_an_invisible_or_unknown_dataset_is_404_in_the_error_shape(demo_client: TestClient, path: str) -> None:
    response = demo_client.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert set(response.json()["error"]) == {"code", "message", "detail"}


def test_a_providers_draft_stays_out_of_the_catalog(demo: Platform, demo_client: TestClient) -> None:
    provider = bearer(demo, "psb-admin")
    registered = demo_client.post("/api/v1/resources", headers=provider, json=draft().model_dump(mode="json"))
    assert registered.status_code == 201, registered.text

    graph, _pages = whole_catalog(demo_client, provider)
    assert iri("/dataset/psb.vehicles") not in datasets(graph)
    assert iri("/dataset/psb.residents") in datasets(graph)
    assert demo_client.get("/dataset/psb.vehicles.ttl", headers=provider).status_code == 404


# --- the builder on its own ------------------------------------------------------------------------------

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SITE = dcat.Site.at("https://data.example.gov/")
PSB = OrganisationPublic(
    code="psb", name_zh="市公安局", name_en="Public Security Bureau", kind=OrgKind.DEPARTMENT, created_at=AT
)


def resource(**changes: object) -> ResourcePublic:
    description = draft().model_copy(update=changes)
    return ResourcePublic(
        **description.model_dump(),
        organisation="psb",
        organisation_name_zh=PSB.name_zh,
        organisation_name_en=PSB.name_en,
        revision=1,
        status=RevisionStatus.PUBLISHED,
        created_at=AT,
        published_at=AT,
        updated_at=AT,
    )


def test_the_shapes_catch_a_missing_title_and_a_contact_without_its_class(shapes: Shapes) -> None:
    graph = dcat.dataset_graph(resource(), PSB, SITE)
    graph.remove((URIRef(f"{SITE.dataset('psb.vehicles')}#contact"), RDF.type, VCARD.Kind))
    graph.remove((SITE.dataset("psb.vehicles"), DCTERMS.title, None))

    violations = check(graph, shapes).violations
    assert any(v.startswith("Dataset dcat:contactPoint on") for v in violations), violations
    assert any(v.startswith("Dataset dct:title on") for v in violations), violations


def test_every_catalog_value_has_a_dcat_term() -> None:
    assert set(dcat.FREQUENCIES) == set(UpdateCycle)
    assert set(dcat.FILE_TYPES) == set(dcat.DISTRIBUTION_TEXTS) == set(Format)
    assert set(dcat.ACCESS_RIGHTS) == set(OpenType)
    assert set(dcat.PUBLISHER_TYPES) == set(OrgKind)


def test_iris_are_made_from_the_base_url_without_a_double_slash() -> None:
    graph = dcat.dataset_graph(resource(), PSB, SITE)

    assert URIRef("https://data.example.gov/dataset/psb.vehicles") in datasets(graph)
    assert URIRef("https://data.example.gov/organisation/psb") in set(graph.subjects(RDF.type, FOAF.Agent))


def test_an_empty_abstract_falls_back_to_the_title() -> None:
    graph = dcat.dataset_graph(resource(abstract_zh="", abstract_en=""), PSB, SITE)

    assert set(graph.objects(SITE.dataset("psb.vehicles"), DCTERMS.description)) == {
        Literal("机动车登记信息", lang="zh"),
        Literal("Registered motor vehicles", lang="en"),
    }


def test_a_republished_resource_has_no_issued_date_it_cannot_know() -> None:
    graph = dcat.dataset_graph(resource().model_copy(update={"revision": 2}), PSB, SITE)

    assert graph.value(SITE.dataset("psb.vehicles"), DCTERMS.issued) is None
    assert graph.value(SITE.dataset("psb.vehicles"), DCTERMS.modified) == Literal(
        AT.isoformat(), datatype=ns.XSD.dateTime
    )


@pytest.mark.parametrize(
    ("licence", "document"),
    [
        ("CC0-1.0", LICENCE.CC0),
        ("https://opendata.example.gov/licence", URIRef("https://opendata.example.gov/licence")),
        ("市政府开放数据许可协议", URIRef(f"{SITE.dataset('psb.vehicles')}#licence")),
    ],
)
def test_any_licence_becomes_a_valid_licence_document(shapes: Shapes, licence: str, document: URIRef) -> None:
    open_resource = resource(
        open_type=OpenType.OPEN, licence=licence, formats=[Format.XLSX], contact=Contact(name="PSB data office")
    )
    graph = dcat.dataset_graph(open_resource, PSB, SITE)

    assert graph.value(URIRef(f"{SITE.dataset('psb.vehicles')}#xlsx"), DCTERMS.license) == URIRef(document)
    assert (URIRef(document), RDF.type, DCTERMS.LicenseDocument) in graph
    assert check(graph, shapes).violations == []


def test_a_catalog_without_a_platform_organisation_is_still_valid(shapes: Shapes) -> None:
    page = dcat.CatalogPage(
        datasets=[], publishers={}, platform=None, modified=None, paging=dcat.Paging.of("catalog.ttl", 1, 100, 0)
    )
    graph = dcat.catalog_graph(page, SITE)

    assert (SITE.catalog(), RDF.type, ns.DCAT.Catalog) in graph
    assert check(graph, shapes).violations == []
