"""The service catalogue: public, every Leistung with what a citizen needs to know."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from portal.catalogue import all_leistungen


def test_catalogue_lists_every_leistung_without_login(client: FlaskClient) -> None:
    page = client.get("/leistungen")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Leistungen" in html
    leistungen = all_leistungen()
    assert len(leistungen) >= 11
    for leistung in leistungen:
        assert f'href="/leistungen/{leistung.code}"' in html
    for title in ("Beistandschaft beantragen", "Wohngeld als Mietzuschuss",
                  "Grundsicherung im Alter und bei Erwerbsminderung"):
        assert title in html


def test_every_leistung_page_says_who_what_and_how(app: Flask, client: FlaskClient) -> None:
    for leistung in all_leistungen():
        html = client.get(f"/leistungen/{leistung.code}").get_data(as_text=True)
        assert "Wer kann den Antrag stellen" in html
        assert "Diese Unterlagen brauchen Sie" in html
        assert "So stellen Sie den Antrag" in html
        with app.test_request_context():  # German, as the page shows it
            assert str(leistung.title) in html
            for document in leistung.documents:
                assert str(document) in html
        if leistung.form_endpoint is None:
            assert f'href="/anfrage?leistung={leistung.code}"' in html


def test_unknown_or_hostile_leistung_code_is_404(client: FlaskClient) -> None:
    assert client.get("/leistungen/gibt-es-nicht").status_code == 404
    assert client.get("/leistungen/%3Cscript%3E").status_code == 404


def test_start_button_preselects_the_service_on_the_request_form(
        client: FlaskClient, create_citizen) -> None:
    from tests.conftest import sign_in_citizen

    html = client.get("/leistungen/wohngeld_mietzuschuss").get_data(as_text=True)
    assert 'href="/anfrage?leistung=wohngeld_mietzuschuss"' in html
    anonymous = client.get("/anfrage?leistung=wohngeld_mietzuschuss")
    assert anonymous.status_code == 302
    assert "/konto/anmelden" in anonymous.headers["Location"]
    sign_in_citizen(client, create_citizen())
    form = client.get("/anfrage?leistung=wohngeld_mietzuschuss").get_data(as_text=True)
    assert '<option selected value="leistung:wohngeld_mietzuschuss">' in form
    assert "Ich weiß es nicht" in form
    assert '<optgroup label="Fachbereiche">' in form
