from tests.integration.conftest import Ready


def test_activation_produces_package(ready: Ready) -> None:
    r = ready.taru.post(f"/api/v1/intercepts/{ready.intercept['id']}/activate")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active"
