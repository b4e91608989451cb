"""A buyer's markets on the pages: created and edited with their lots (the commune chosen by its
name), imported from a file (all or nothing, every problem by line and field), listed a page at a
time and filtered; and two edits of one market at once, on both stores."""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from playwright.sync_api import expect
from sqlmodel import select

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.loading.loader import commit_load
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.referential.service import communes_named
from clausier.web import auth
from clausier.web.models import WebSession
from tests import factories as make
from tests.serving import serving
from tests.web.conftest import screenshot
from tests.web.test_pages import sign_in

REGION = "23000002700014"  # Région Normandie, the example's buyer signed in


def _market(site, ref: str) -> tuple[Market | None, list[Lot]]:
    with site["store"].session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).first()
        lots = (
            session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
            if market
            else []
        )
        return market, list(lots)


def test_a_buyer_creates_a_market_with_two_lots_then_edits_it(page, site):
    sign_in(page, site, Role.buyer)
    page.get_by_role("link", name="Nouveau marché").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau marché")
    page.get_by_label("Référence").fill("MKT-2027-900")
    page.get_by_label("Objet").fill("Voirie du centre-ville")
    page.get_by_label("Commune d'exécution").fill("Saint-Denis")  # four communes bear the name
    page.get_by_label("Code CPV").fill("45233140")
    page.get_by_label("Montant HT (€)").fill("1 500 000")
    page.get_by_label("Intitulé du lot 1").fill("Chaussée")
    page.get_by_label("Montant HT du lot 1 (€)").fill("1 000 000")
    page.get_by_role("button", name="Ajouter un lot").click()
    expect(page.get_by_label("Intitulé du lot 2")).to_be_focused()
    page.get_by_label("Intitulé du lot 2").fill("Trottoirs")
    page.get_by_label("Montant HT du lot 2 (€)").fill("500000,50")
    page.get_by_label("Date de consultation").fill("2027-06-01")
    page.get_by_label("Date d'attribution").fill("2027-03-01")  # before the consultation
    page.get_by_role("button", name="Créer le marché").click()
    summary = page.locator("#erreurs")
    expect(summary).to_contain_text("plusieurs communes répondent à « Saint-Denis »")
    expect(summary).to_contain_text("date d'attribution (01/03/2027) précède date de consultation")
    assert _market(site, "MKT-2027-900")[0] is None, "nothing written"
    commune = page.get_by_label("Commune d'exécution")
    commune.select_option(label="Saint-Denis (93066, Seine-Saint-Denis)")
    page.get_by_label("Date d'attribution").fill("2027-07-01")
    # the commune was a choice: the dates still wrong are refused again, the commune kept
    page.get_by_label("Date de consultation").fill("2027-08-01")
    page.get_by_role("button", name="Créer le marché").click()
    expect(page.locator("#erreurs")).to_contain_text("précède date de consultation")
    expect(page.get_by_label("Commune d'exécution")).to_have_value("93066")
    page.get_by_label("Date de consultation").fill("2027-06-01")
    page.get_by_role("button", name="Créer le marché").click()
    page.wait_for_url(re.compile(r"/marches/MKT-2027-900$"))
    market, lots = _market(site, "MKT-2027-900")
    assert (market.commune_code, market.state, str(market.amount)) == (
        "93066", "identification", "1500000.00",
    )  # fmt: skip
    assert [(lot.number, lot.title, str(lot.amount)) for lot in lots] == [
        (1, "Chaussée", "1000000.00"),
        (2, "Trottoirs", "500000.50"),
    ]

    page.goto(site["url"] + "/marches/MKT-2027-900/modifier")
    expect(page.get_by_label("Objet")).to_have_value("Voirie du centre-ville")
    page.get_by_label("Objet").fill("Voirie du centre-bourg")
    page.get_by_label("Commune d'exécution").fill("saint lo")  # no case, accent nor hyphen
    page.get_by_label("Retirer le lot 2").check()
    screenshot(page, "marche-modifier")
    page.get_by_role("button", name="Enregistrer les modifications").click()
    page.wait_for_url(re.compile(r"/marches/MKT-2027-900$"))
    market, lots = _market(site, "MKT-2027-900")
    assert (market.title, market.commune_code, market.version) == (
        "Voirie du centre-bourg", "50502", 2,
    )  # fmt: skip
    assert [lot.number for lot in lots] == [1]
    with site["store"].session() as session:
        edit = session.exec(
            select(TransitionLog).where(
                TransitionLog.market_id == market.id, TransitionLog.trigger == "edit"
            )
        ).one()
    assert edit.payload["changes"]["lots[2].title"] == ["Trottoirs", None]

    # a tab opened before that edit: its version is behind, nothing it holds is written
    page.goto(site["url"] + "/marches/MKT-2027-900/modifier")
    with site["store"].session() as session:
        row = session.exec(select(Market).where(Market.ref == "MKT-2027-900")).one()
        commit_load(
            session, {"markets": [{"ref": row.ref, "buyer": REGION, "title": "Voirie, autre onglet",
                                   "commune": "50502", "cpv": "45233140", "amount": 1500000}]},
            name="test", actor="test", writer=_operator(),
        )  # fmt: skip
    page.get_by_label("Code CPV").fill("45233141")
    page.get_by_role("button", name="Enregistrer les modifications").click()
    expect(page.locator("#conflit")).to_contain_text("Le marché a changé depuis l'affichage")
    expect(page.get_by_label("Objet")).to_have_value("Voirie, autre onglet")
    market, _lots = _market(site, "MKT-2027-900")
    assert market.cpv == "45233140" and market.title == "Voirie, autre onglet"


def _operator():
    from clausier.auth.writes import operator_import

    return operator_import()


BAD = (
    "ref;buyer;title;commune;cpv;amount;lot_number;lot_title;lot_amount\n"
    f"MKT-2027-910;{REGION};Cantine;14118;55523100;80000;1;Repas;80000\n"
    f"MKT-2027-911;{REGION};Espaces verts;99999;4511;-5;1;Tonte;1000\n"
    f"MKT-2027-911;{REGION};Espaces verts;99999;4511;-5;2;Taille;-3\n"
)
GOOD = (
    "ref;buyer;title;commune;cpv;amount;lot_number;lot_title;lot_amount\n"
    f"MKT-2027-910;{REGION};Cantine;14118;55523100;80000;1;Repas;80000\n"
    f"MKT-2027-911;{REGION};Espaces verts;Caen;77310000;5 000,50;1;Tonte;1000\n"
).replace(";Caen;", ";14118;")


def test_a_buyer_imports_a_file_every_problem_listed_then_a_good_one(page, site, tmp_path):
    sign_in(page, site, Role.buyer)
    page.get_by_role("link", name="Importer un fichier").click()
    bad = tmp_path / "marches.csv"
    bad.write_text(BAD, encoding="utf-8")
    page.get_by_label("Fichier CSV ou YAML").set_input_files(str(bad))
    page.get_by_role("button", name="Importer").click()
    summary = page.locator("#erreurs")
    expect(summary).to_contain_text("4 erreurs dans marches.csv : rien n'a été enregistré")
    assert summary.locator("li").all_inner_texts() == [
        "Ligne 3, champ « markets[MKT-2027-911].cpv » : code CPV « 4511 » invalide : attendu 8 chiffres (ex. 45454000)",
        "Ligne 3, champ « markets[MKT-2027-911].amount » : attendu : une valeur supérieure ou égale à 0",
        "Ligne 3, champ « markets[MKT-2027-911].commune » : commune inconnue « 99999 » (attendu : un code INSEE de commune, ex. 14118)",
        "Ligne 4, champ « markets[MKT-2027-911].lots[2].amount » : attendu : une valeur supérieure ou égale à 0",
    ]  # fmt: skip
    assert _market(site, "MKT-2027-910")[0] is None, "the good line is not written either"
    screenshot(page, "marches-import-erreurs")

    good = tmp_path / "marches-corrige.csv"
    good.write_text(GOOD, encoding="utf-8")
    page.get_by_label("Fichier CSV ou YAML").set_input_files(str(good))
    page.get_by_role("button", name="Importer").click()
    expect(page.locator("#resultat")).to_contain_text("marches-corrige.csv importé")
    expect(page.locator("#resultat")).to_contain_text("Marchés : 2 créés")
    market, lots = _market(site, "MKT-2027-911")
    assert (market.state, str(market.amount), len(lots)) == ("identification", "5000.50", 1)


def test_a_yaml_file_of_a_buyer_holds_its_markets_only(page, site, tmp_path):
    sign_in(page, site, Role.buyer)
    page.goto(site["url"] + "/marches/import")
    data = tmp_path / "annuaire.yaml"
    data.write_text(
        "contractors:\n"
        f'  - {{siret: "{make.siret(7)}", name: Intrus, email: intrus@exemple.fr}}\n'
        "markets:\n"
        "  - ref: MKT-2027-920\n"
        f'    buyer: "{REGION}"\n'
        "    title: Salle des fêtes\n"
        '    commune: "14118"\n'
        '    cpv: "45212000"\n'
        "    amount: 10000\n",
        encoding="utf-8",
    )
    page.get_by_label("Fichier CSV ou YAML").set_input_files(str(data))
    page.get_by_role("button", name="Importer").click()
    expect(page.locator("#erreurs")).to_contain_text(
        "Ligne 1, champ « contractors » : un acheteur importe ici ses marchés et leurs lots"
    )
    assert _market(site, "MKT-2027-920")[0] is None


def test_the_list_is_paged_and_filtered(page, site):
    rows = [
        {"ref": f"MKT-2028-{n:03d}", "buyer": REGION, "title": f"Entretien {n}",
         "commune": "14118" if n % 2 else "50129", "cpv": "45454000", "amount": 1000 + n}
        for n in range(1, 61)
    ]  # fmt: skip
    with site["store"].session() as session:
        commit_load(session, {"markets": rows}, name="test", actor="test", writer=_operator())
    sign_in(page, site, Role.buyer)
    caption = page.locator("caption")
    expect(caption).to_contain_text("page 1 sur 2")
    assert page.locator("tbody tr").count() == 50
    page.get_by_role("link", name="Page suivante").click()
    expect(caption).to_contain_text("page 2 sur 2")
    assert page.get_by_role("link", name="Page suivante").count() == 0
    page.get_by_role("link", name="Page précédente").click()
    expect(caption).to_contain_text("page 1 sur 2")

    page.get_by_label("Référence ou objet").fill("entretien 1")  # 1, 10-19
    page.get_by_label("Commune").select_option("14118")  # odd ones
    page.get_by_role("button", name="Filtrer").click()
    expect(caption).to_have_text("6 marchés répondant aux filtres")
    refs = page.locator("tbody tr td:first-child").all_inner_texts()
    assert refs == ["MKT-2028-001", "MKT-2028-011", "MKT-2028-013", "MKT-2028-015",
                    "MKT-2028-017", "MKT-2028-019"]  # fmt: skip
    page.goto(site["url"] + "/marches?etat=execution")
    assert set(page.locator("tbody tr td:nth-child(6)").all_inner_texts()) == {"Exécution"}
    page.get_by_role("link", name="Tout afficher").click()
    structure = page.get_by_label("Structure")
    structure.select_option(index=1)
    chosen = structure.locator("option:checked").inner_text()
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_label("Structure").locator("option:checked")).to_have_text(chosen)
    assert set(page.locator("tbody tr td:nth-child(5)").all_inner_texts()) == {chosen}
    screenshot(page, "marches-filtres")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(site["url"] + "/marches/nouveau")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


def test_a_commune_is_found_by_its_name_or_its_code(sqlite_store):
    with sqlite_store.session() as session:
        assert [c.code for c in communes_named(session, "Saint-Lô")] == ["50502"]
        assert [c.code for c in communes_named(session, "SAINT LO")] == ["50502"]
        assert [c.code for c in communes_named(session, "50129")] == ["50129"]
        assert {c.code for c in communes_named(session, "saint-denis")} >= {"93066", "97411"}
        assert [c.code for c in communes_named(session, "Cherbourg")] == ["50129"]
        assert communes_named(session, "Nulle-Part-sur-Mer") == []


# --- two edits of one market at once ------------------------------------------------------

RACERS = 6


def _web_session(store, token: str) -> tuple[dict, str]:
    """A buyer's web session as signing in with its token opens it: its cookie, its form token."""
    with store.session() as session:
        now = product_clock.now()
        principal = tokens.authenticate(session, token, now=now)
        secret = auth.open_session(session, principal, now=now)
        csrf = session.exec(
            select(WebSession.csrf).where(WebSession.secret_hash == tokens.digest(secret))
        ).one()
        session.commit()
    return {"Cookie": f"{auth.COOKIE}={secret}"}, csrf


def test_racing_edits_of_one_market_keep_one_and_tell_the_others(world, store):
    with store.session() as session:
        market = make.market(session, buyer=world.own.buyer, ref="MKT-2027-RACE")
        session.commit()
        version = market.version
    headers, csrf = _web_session(store, world.tokens[Role.buyer])
    start = threading.Barrier(RACERS)

    def edit(number: int) -> httpx.Response:
        data = {
            "csrf": csrf, "version": str(version), "action": "enregistrer",
            "title": f"Voirie {number}", "commune": make.CHERBOURG, "cpv": "45454000",
            "amount": "2000000", "lot_1_number": "1", "lot_1_title": f"Chaussée {number}",
            "lot_1_amount": "1000000", "lot_2_number": "2", "lot_2_title": "Trottoirs",
            "lot_2_amount": "1000000",
        }  # fmt: skip
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            client.get("/api/health")
            start.wait()
            return client.post("/marches/MKT-2027-RACE/modifier", data=data)

    with (
        serving(create_app(store.engine, get_settings())) as url,
        ThreadPoolExecutor(RACERS) as pool,
    ):
        answers = list(pool.map(edit, range(RACERS)))
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == Counter({303: 1, 409: RACERS - 1}), [
        (a.status_code, a.text[:300]) for a in answers
    ]
    for answer in answers:
        if answer.status_code == 409:
            main = html.unescape(re.search(r"<main.*</main>", answer.text, re.S)[0])
            assert "Le marché a changé depuis l'affichage" in main, main
            assert f'name="version" value="{version + 1}"' in answer.text  # the form again
    with store.session() as session:
        stored = session.exec(select(Market).where(Market.ref == "MKT-2027-RACE")).one()
        lot = session.exec(select(Lot).where(Lot.market_id == stored.id, Lot.number == 1)).one()
        edits = session.exec(
            select(TransitionLog).where(
                TransitionLog.market_id == stored.id, TransitionLog.trigger == "edit"
            )
        ).all()
    assert stored.version == version + 1 and len(edits) == 1
    number = stored.title.removeprefix("Voirie ")
    assert lot.title == f"Chaussée {number}", "the winner's edit, whole"


def test_an_import_over_the_load_limit_is_refused_before_it_is_read(world):
    from tests.web.test_page_matrix import Browsers

    limit = get_settings().limits.load_bytes + get_settings().limits.form_bytes
    content = b"ref;buyer;title;commune;cpv;amount\n" + b"x" * limit
    answer = Browsers(world).call(
        Role.buyer, "POST", "/marches/import",
        files={"fichier": ("marches.csv", content, "text/csv")},
    )  # fmt: skip
    assert answer.status_code == 413
    assert "Fichier trop volumineux" in html.unescape(answer.text)
    assert "Rien n'a été enregistré" in html.unescape(answer.text)


def test_no_file_sent_to_the_import_gives_a_server_error(world):
    """Shapes a person may send instead of a load file: each is refused in words, nothing
    written, never a 500."""
    from tests.web.test_page_matrix import Browsers

    browsers = Browsers(world)
    files = {
        "vide.csv": b"",
        "entete.csv": b"ref;buyer;title;commune;cpv;amount\n",
        "binaire.csv": bytes(range(1, 256)) * 4,
        "liste.yaml": b"- 1\n- 2\n",
        "scalaire.yaml": b"5\n",
        "marches.yaml": b"markets: 5\n",
        "lignes.yaml": b"markets: [1, [2], {ref: {a: b}}]\n",
        "double.yaml": b"markets:\n  - ref: A\n    ref: B\n",
        "image.png": b"\x89PNG\r\n",
    }
    for role in (Role.buyer, Role.admin):
        for name, content in files.items():
            answer = browsers.call(
                role, "POST", "/marches/import", files={"fichier": (name, content, "text/csv")}
            )
            assert answer.status_code in (200, 422), (role, name, answer.status_code)
            if answer.status_code == 422:
                assert "rien n'a été enregistré" in html.unescape(answer.text), (role, name)
    answer = browsers.call(Role.buyer, "POST", "/marches/import", data={"fichier": "texte"})
    assert answer.status_code == 422 and "choisissez un fichier" in html.unescape(answer.text)


def test_the_form_saves_a_lots_own_cpv_and_refuses_a_bad_one_on_its_field(world, store):
    """A market split by trade: each lot row has an optional CPV, the market's when blank."""
    with store.session() as session:
        market = make.market(session, buyer=world.own.buyer, ref="MKT-2027-CPV")
        session.commit()
        version = market.version
    headers, csrf = _web_session(store, world.tokens[Role.buyer])
    data = {
        "csrf": csrf, "version": str(version), "action": "enregistrer",
        "title": "Collège", "commune": make.CHERBOURG, "cpv": "45454000", "amount": "2000000",
        "lot_1_number": "1", "lot_1_title": "Gros œuvre", "lot_1_cpv": "4521",
        "lot_1_amount": "1000000", "lot_2_number": "2", "lot_2_title": "Second œuvre",
        "lot_2_cpv": "", "lot_2_amount": "1000000",
    }  # fmt: skip
    with (
        serving(create_app(store.engine, get_settings())) as url,
        httpx.Client(base_url=url, timeout=60, headers=headers) as client,
    ):
        refused = client.post("/marches/MKT-2027-CPV/modifier", data=data)
        assert refused.status_code == 422, refused.text[:500]
        text = html.unescape(refused.text)
        assert 'href="#lot_1_cpv"' in text
        summary = re.search(r'<div class="error-summary".*?</div>', text, re.S)[0]
        assert "Lot 1, code CPV : code CPV « 4521 » invalide : attendu 8 chiffres" in summary, (
            summary
        )
        assert 'id="lot_1_cpv" name="lot_1_cpv" value="4521"' in text  # shown back as typed
        saved = client.post("/marches/MKT-2027-CPV/modifier", data=data | {"lot_1_cpv": "45210000"})
        assert saved.status_code == 303, saved.text[:500]
        form = html.unescape(client.get("/marches/MKT-2027-CPV/modifier").text)
    assert 'id="lot_1_cpv" name="lot_1_cpv" value="45210000"' in form
    assert "Celui du marché si vide" in form
    with store.session() as session:
        stored = session.exec(select(Market).where(Market.ref == "MKT-2027-CPV")).one()
        lots = session.exec(
            select(Lot).where(Lot.market_id == stored.id).order_by(Lot.number)
        ).all()
        edit = session.exec(
            select(TransitionLog).where(
                TransitionLog.market_id == stored.id, TransitionLog.trigger == "edit"
            )
        ).one()
    assert [lot.cpv for lot in lots] == ["45210000", None]
    assert edit.payload["changes"]["lots[1].cpv"] == [None, "45210000"]
