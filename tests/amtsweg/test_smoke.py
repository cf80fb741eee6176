from flask.testing import FlaskClient


def test_front_page_renders_in_german_with_kern_assets(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "/assets/kern/kern.min.css" in page
