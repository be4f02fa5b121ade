"""DCAT-AP 3 views of the catalog: pure functions from what the catalog use cases return to an RDF graph.

The graph is checked against the official DCAT-AP 3.0.1 SHACL shapes (tests/catalog/test_dcat.py). Two rules
follow from those shapes and from how harvesters read catalogs:

- every linked resource states its class (``rdf:type``) itself — the licence, the publisher, the contact, the
  frequency, the file type — because the range shapes check ``sh:class`` on the published graph alone, and
  harvesters do not reason over vocabularies either;
- every IRI is made from the base URL the caller used (``Site``), so one platform answers on any host name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from sluice.catalog.schemas import Contact, ResourcePublic
from sluice.catalog.vocab import Category, Format, OpenType, UpdateCycle, label_of
from sluice.identity.roles import OrgKind
from sluice.identity.schemas import OrganisationPublic

DCATAP = Namespace("http://data.europa.eu/r5r/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
FREQUENCY = Namespace(f"{EU_AUTHORITY}frequency/")
FILE_TYPE = Namespace(f"{EU_AUTHORITY}file-type/")
ACCESS_RIGHT = Namespace(f"{EU_AUTHORITY}access-right/")
LICENCE = Namespace(f"{EU_AUTHORITY}licence/")
LANGUAGE = Namespace(f"{EU_AUTHORITY}language/")
AVAILABILITY = Namespace(f"{EU_AUTHORITY}planned-availability/")
PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")
LICENCE_TYPE = Namespace("http://purl.org/adms/licencetype/")

PREFIXES: tuple[tuple[str, str], ...] = (
    ("dcat", str(DCAT)),
    ("dct", str(DCTERMS)),
    ("dcatap", str(DCATAP)),
    ("foaf", str(FOAF)),
    ("vcard", str(VCARD)),
    ("skos", str(SKOS)),
    ("rdfs", str(RDFS)),
    ("hydra", str(HYDRA)),
    ("xsd", str(XSD)),
)
JSON_LD_CONTEXT: dict[str, str] = dict(PREFIXES)


@dataclass(frozen=True)
class Concept:
    """A term of someone else's vocabulary, with its English label (SHACL wants a skos:prefLabel on it)."""

    iri: URIRef
    label: str


FREQUENCIES: dict[UpdateCycle, URIRef] = {
    UpdateCycle.REALTIME: FREQUENCY.UPDATE_CONT,
    UpdateCycle.DAILY: FREQUENCY.DAILY,
    UpdateCycle.WEEKLY: FREQUENCY.WEEKLY,
    UpdateCycle.MONTHLY: FREQUENCY.MONTHLY,
    UpdateCycle.QUARTERLY: FREQUENCY.QUARTERLY,
    UpdateCycle.YEARLY: FREQUENCY.ANNUAL,
    UpdateCycle.IRREGULAR: FREQUENCY.IRREG,
}
# The API answers in JSON, so its distribution has the JSON file type too; its access service tells them apart.
FILE_TYPES: dict[Format, URIRef] = {
    Format.CSV: FILE_TYPE.CSV,
    Format.XLSX: FILE_TYPE.XLSX,
    Format.JSON: FILE_TYPE.JSON,
    Format.PARQUET: FILE_TYPE.PARQUET,
    Format.API: FILE_TYPE.JSON,
}
DISTRIBUTION_TEXTS: dict[Format, tuple[str, str]] = {
    Format.CSV: ("CSV 文件下载", "download as CSV"),
    Format.XLSX: ("Excel（XLSX）文件下载", "download as Excel (XLSX)"),
    Format.JSON: ("JSON 文件下载", "download as JSON"),
    Format.PARQUET: ("Parquet 文件下载", "download as Parquet"),
    Format.API: ("通过平台 API 访问", "access through the platform's API"),
}
ACCESS_RIGHTS: dict[OpenType, URIRef] = {
    OpenType.OPEN: ACCESS_RIGHT.PUBLIC,
    OpenType.CONDITIONAL: ACCESS_RIGHT.RESTRICTED,
    OpenType.NOT_OPEN: ACCESS_RIGHT.NON_PUBLIC,
}
PUBLISHER_TYPES: dict[OrgKind, Concept] = {
    OrgKind.DEPARTMENT: Concept(PUBLISHER_TYPE.LocalAuthority, "Local Authority"),
    OrgKind.PLATFORM: Concept(PUBLISHER_TYPE.LocalAuthority, "Local Authority"),
    OrgKind.ENTERPRISE: Concept(PUBLISHER_TYPE.Company, "Company"),
}
ATTRIBUTION = Concept(LICENCE_TYPE.Attribution, "Attribution")
# Licences by their SPDX identifier (what providers write), as the EU licence authority table names them.
LICENCES: dict[str, tuple[URIRef, tuple[Concept, ...]]] = {
    "CC-BY-4.0": (LICENCE.CC_BY_4_0, (ATTRIBUTION,)),
    "CC-BY-SA-4.0": (LICENCE.CC_BYSA_4_0, (ATTRIBUTION, Concept(LICENCE_TYPE.ShareAlike, "Share Alike"))),
    "CC0-1.0": (LICENCE.CC0, (Concept(LICENCE_TYPE.PublicDomain, "Public domain"),)),
}
# Published resources are kept up by their department under the sharing rules: planned to stay available.
STABLE = Concept(AVAILABILITY.STABLE, "stable")
LANGUAGES = (LANGUAGE.ZHO, LANGUAGE.ENG)  # every description is given in Chinese and in English
CATEGORY_SCHEME_TITLE = ("政务信息资源分类", "Categories of government information resources")
GENERIC_PLATFORM = ("数据共享平台", "Data sharing platform")  # when no organisation "platform" exists
HAN = re.compile(r"[\u3400-\u9fff]")
URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Site:
    """Where the platform answers; every IRI in the graph is made here."""

    base: str

    @classmethod
    def at(cls, base_url: str) -> Site:
        return cls(base_url.rstrip("/"))

    def catalog(self) -> URIRef:
        return URIRef(f"{self.base}/catalog")

    def dataset(self, code: str) -> URIRef:
        return URIRef(f"{self.base}/dataset/{code}")

    def organisation(self, code: str) -> URIRef:
        return URIRef(f"{self.base}/organisation/{code}")

    def download(self, code: str, form: Format) -> URIRef:
        return URIRef(f"{self.base}/api/v1/resources/{code}/download?format={form.value.lower()}")

    def resource_api(self, code: str) -> URIRef:
        return URIRef(f"{self.base}/api/v1/resources/{code}")

    def api_description(self) -> URIRef:
        return URIRef(f"{self.base}/openapi.json")

    def categories(self) -> URIRef:
        return URIRef(f"{self.base}/vocab/category")

    def category(self, category: Category) -> URIRef:
        return URIRef(f"{self.base}/vocab/category/{category.value}")

    def page(self, document: str, number: int) -> URIRef:
        return URIRef(f"{self.base}/{document}?page={number}")


@dataclass(frozen=True)
class Paging:
    """Which page of a paged catalog document this is (1-based) and how many there are."""

    document: str
    number: int
    size: int
    last: int
    total: int

    @classmethod
    def of(cls, document: str, number: int, size: int, count: int) -> Paging:
        return cls(document, number, size, last=max(1, math.ceil(count / size)), total=count)


@dataclass(frozen=True)
class CatalogPage:
    """One page of the catalog: its datasets, their publishers (by code), and facts about the whole."""

    datasets: Sequence[ResourcePublic]
    publishers: Mapping[str, OrganisationPublic]
    platform: OrganisationPublic | None
    modified: datetime | None
    paging: Paging


# --- the two documents ---------------------------------------------------------------------------------


def dataset_graph(resource: ResourcePublic, publisher: OrganisationPublic, site: Site) -> Graph:
    """One published resource as a dcat:Dataset, with its distributions, publisher and contact."""
    graph = _graph()
    _add_dataset(graph, site, resource, publisher)
    return graph


def catalog_graph(page: CatalogPage, site: Site) -> Graph:
    """A page of the catalog: the dcat:Catalog, the page's datasets in full, and Hydra links to the others."""
    graph = _graph()
    catalog = _add_catalog(graph, site, page.platform, page.modified)
    for resource in page.datasets:
        dataset = _add_dataset(graph, site, resource, page.publishers[resource.organisation])
        graph.add((catalog, DCAT.dataset, dataset))
    _add_paging(graph, site, catalog, page.paging)
    return graph


def turtle(graph: Graph) -> str:
    return graph.serialize(format="turtle")


def json_ld(graph: Graph) -> str:
    return graph.serialize(format="json-ld", context=JSON_LD_CONTEXT, auto_compact=True, indent=2)


# --- nodes ---------------------------------------------------------------------------------------------


def _graph() -> Graph:
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in PREFIXES:
        graph.bind(prefix, namespace)
    return graph


def _add_catalog(graph: Graph, site: Site, platform: OrganisationPublic | None, modified: datetime | None) -> URIRef:
    catalog = site.catalog()
    name_zh, name_en = (platform.name_zh, platform.name_en) if platform else GENERIC_PLATFORM
    graph.add((catalog, RDF.type, DCAT.Catalog))
    _add_texts(graph, catalog, DCTERMS.title, f"{name_zh}数据目录", f"{name_en} data catalogue")
    _add_texts(
        graph,
        catalog,
        DCTERMS.description,
        f"{name_zh}发布的政务数据资源目录。",
        f"The government data resources published on the {name_en}.",
    )
    graph.add((catalog, DCTERMS.publisher, _add_platform_agent(graph, site, platform)))
    for language in LANGUAGES:
        graph.add((catalog, DCTERMS.language, _typed(graph, language, DCTERMS.LinguisticSystem)))
    graph.add((catalog, DCAT.themeTaxonomy, _add_category_scheme(graph, site)))
    if platform is not None:  # the catalog exists since the platform that keeps it does
        graph.add((catalog, DCTERMS.issued, _date_time(platform.created_at)))
    if modified is not None:
        graph.add((catalog, DCTERMS.modified, _date_time(modified)))
    return catalog


def _add_dataset(graph: Graph, site: Site, resource: ResourcePublic, publisher: OrganisationPublic) -> URIRef:
    dataset = site.dataset(resource.code)
    graph.add((dataset, RDF.type, DCAT.Dataset))
    _add_texts(graph, dataset, DCTERMS.title, resource.title_zh, resource.title_en)
    _add_texts(
        graph,
        dataset,
        DCTERMS.description,
        resource.abstract_zh or resource.title_zh,
        resource.abstract_en or resource.title_en,
    )
    graph.add((dataset, DCTERMS.identifier, Literal(resource.code)))
    _add_shared(graph, site, dataset, resource, publisher)
    graph.add(
        (dataset, DCTERMS.accrualPeriodicity, _typed(graph, FREQUENCIES[resource.update_cycle], DCTERMS.Frequency))
    )
    _add_dates(graph, dataset, resource)
    for form in resource.formats:
        graph.add((dataset, DCAT.distribution, _add_distribution(graph, site, resource, publisher, form)))
    return dataset


def _add_shared(
    graph: Graph, site: Site, node: URIRef, resource: ResourcePublic, publisher: OrganisationPublic
) -> None:
    """What a dataset and the API service serving it have in common."""
    for tag in resource.tags:
        graph.add((node, DCAT.keyword, _keyword(tag)))
    graph.add((node, DCAT.theme, _add_category(graph, site, resource.category)))
    graph.add((node, DCTERMS.publisher, _add_agent(graph, site, publisher)))
    graph.add((node, DCAT.contactPoint, _add_contact(graph, site.dataset(resource.code), resource.contact)))
    graph.add((node, DCTERMS.accessRights, _typed(graph, ACCESS_RIGHTS[resource.open_type], DCTERMS.RightsStatement)))


def _add_dates(graph: Graph, dataset: URIRef, resource: ResourcePublic) -> None:
    if resource.published_at is None:
        return
    graph.add((dataset, DCTERMS.modified, _date_time(resource.published_at)))
    # published_at is the latest publication: it is the first one only while revision 1 is the one shown.
    if resource.revision == 1:
        graph.add((dataset, DCTERMS.issued, _date_time(resource.published_at)))


def _add_distribution(
    graph: Graph, site: Site, resource: ResourcePublic, publisher: OrganisationPublic, form: Format
) -> URIRef:
    dataset = site.dataset(resource.code)
    distribution = URIRef(f"{dataset}#{form.value.lower()}")
    graph.add((distribution, RDF.type, DCAT.Distribution))
    if form is Format.API:
        graph.add((distribution, DCAT.accessURL, site.resource_api(resource.code)))
        graph.add((distribution, DCAT.accessService, _add_service(graph, site, resource, publisher)))
    else:
        graph.add((distribution, DCAT.accessURL, site.download(resource.code, form)))
    graph.add((distribution, DCTERMS.format, _typed(graph, FILE_TYPES[form], DCTERMS.MediaTypeOrExtent)))
    how_zh, how_en = DISTRIBUTION_TEXTS[form]
    _add_texts(
        graph, distribution, DCTERMS.description, f"{resource.title_zh}：{how_zh}", f"{resource.title_en}: {how_en}"
    )
    graph.add((distribution, DCATAP.availability, _add_concept(graph, STABLE)))
    if resource.licence and resource.open_type is not OpenType.NOT_OPEN:
        graph.add((distribution, DCTERMS.license, _add_licence(graph, dataset, resource.licence)))
    return distribution


def _add_service(graph: Graph, site: Site, resource: ResourcePublic, publisher: OrganisationPublic) -> URIRef:
    dataset = site.dataset(resource.code)
    service = URIRef(f"{dataset}#service")
    graph.add((service, RDF.type, DCAT.DataService))
    _add_texts(graph, service, DCTERMS.title, f"{resource.title_zh} API", f"{resource.title_en} API")
    graph.add((service, DCAT.endpointURL, site.resource_api(resource.code)))
    graph.add((service, DCAT.endpointDescription, site.api_description()))
    graph.add((service, DCAT.servesDataset, dataset))
    _add_shared(graph, site, service, resource, publisher)
    return service


def _add_agent(graph: Graph, site: Site, organisation: OrganisationPublic) -> URIRef:
    agent = site.organisation(organisation.code)
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, RDF.type, FOAF.Organization))
    _add_texts(graph, agent, FOAF.name, organisation.name_zh, organisation.name_en)
    graph.add((agent, DCTERMS.type, _add_concept(graph, PUBLISHER_TYPES[organisation.kind])))
    return agent


def _add_platform_agent(graph: Graph, site: Site, platform: OrganisationPublic | None) -> URIRef:
    if platform is not None:
        return _add_agent(graph, site, platform)
    agent = URIRef(f"{site.catalog()}#publisher")
    graph.add((agent, RDF.type, FOAF.Agent))
    _add_texts(graph, agent, FOAF.name, *GENERIC_PLATFORM)
    return agent


def _add_contact(graph: Graph, dataset: URIRef, contact: Contact) -> URIRef:
    node = URIRef(f"{dataset}#contact")
    # vcard:Organization is a vcard:Kind, but the range shape checks for vcard:Kind itself: state both.
    graph.add((node, RDF.type, VCARD.Organization))
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, VCARD.fn, Literal(contact.name)))
    if contact.email:
        graph.add((node, VCARD.hasEmail, URIRef(f"mailto:{contact.email}")))
    return node


def _add_licence(graph: Graph, dataset: URIRef, licence: str) -> URIRef:
    known = LICENCES.get(licence)
    if known is not None:
        document, kinds = known
    elif URL.fullmatch(licence):
        document, kinds = URIRef(licence), ()
    else:  # a licence we know only by name: describe it under the dataset
        document, kinds = URIRef(f"{dataset}#licence"), ()
        graph.add((document, RDFS.label, Literal(licence)))
    graph.add((document, RDF.type, DCTERMS.LicenseDocument))
    for kind in kinds:
        graph.add((document, DCTERMS.type, _add_concept(graph, kind)))
    return document


def _add_category_scheme(graph: Graph, site: Site) -> URIRef:
    scheme = site.categories()
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    _add_texts(graph, scheme, DCTERMS.title, *CATEGORY_SCHEME_TITLE)
    return scheme


def _add_category(graph: Graph, site: Site, category: Category) -> URIRef:
    """The resource's category (基础/主题/部门信息资源) as a theme, in the catalog's own concept scheme."""
    concept = site.category(category)
    graph.add((concept, RDF.type, SKOS.Concept))
    _add_texts(graph, concept, SKOS.prefLabel, *label_of(category))
    graph.add((concept, SKOS.inScheme, _add_category_scheme(graph, site)))
    return concept


def _add_paging(graph: Graph, site: Site, catalog: URIRef, paging: Paging) -> None:
    view = site.page(paging.document, paging.number)
    graph.add((catalog, HYDRA.view, view))
    # Typed both ways: Hydra's PartialCollectionView, and the older PagedCollection that ckanext-dcat's
    # harvester looks for; both read hydra:next (piveau and udata read either).
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    graph.add((view, RDF.type, HYDRA.PagedCollection))
    graph.add((view, HYDRA.itemsPerPage, Literal(paging.size)))
    graph.add((view, HYDRA.totalItems, Literal(paging.total)))
    links = {HYDRA.first: 1, HYDRA.last: paging.last}
    if paging.number > 1:
        links[HYDRA.previous] = paging.number - 1
    if paging.number < paging.last:
        links[HYDRA.next] = paging.number + 1
    for link, number in links.items():
        graph.add((view, link, site.page(paging.document, number)))


# --- values --------------------------------------------------------------------------------------------


def _add_texts(graph: Graph, node: URIRef, predicate: URIRef, zh: str, en: str) -> None:
    graph.add((node, predicate, Literal(zh, lang="zh")))
    graph.add((node, predicate, Literal(en, lang="en")))


def _add_concept(graph: Graph, concept: Concept) -> URIRef:
    graph.add((concept.iri, RDF.type, SKOS.Concept))
    graph.add((concept.iri, SKOS.prefLabel, Literal(concept.label, lang="en")))
    return concept.iri


def _typed(graph: Graph, node: URIRef, kind: URIRef) -> URIRef:
    graph.add((node, RDF.type, kind))
    return node


def _keyword(tag: str) -> Literal:
    # Tags are free text in either language; tagged, portals can show each language its own.
    return Literal(tag, lang="zh" if HAN.search(tag) else "en")


def _date_time(moment: datetime) -> Literal:
    return Literal(moment.isoformat(), datatype=XSD.dateTime)
