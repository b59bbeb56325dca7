"""The OpenAPI document walked whole: every operation has a declared tag and a unique
operationId; the modem restart, the own-password change and Kannel's interface are in it;
each operation lists its own error statuses (not all of them everywhere), and what it answers
without credentials, with a viewer's key and with an operator's key (no body, or an empty one)
is among the statuses it lists."""

from __future__ import annotations

from typing import Any

from tests.integration.web.conftest import WebEnv

METHODS = ("get", "post", "put", "patch", "delete")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def errors_of(operation: dict[str, Any]) -> set[str]:
    return {status for status in operation["responses"] if int(status) >= 400}


def filled(path: str) -> str:
    return path.replace("{id}", "987654").replace("{name}", "nosuchmodem")


async def test_the_document_names_tags_and_answers_of_every_operation(web: WebEnv) -> None:
    response = await web.client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    declared = {tag["name"] for tag in document["tags"]}
    found = operations(document)
    ids = [operation["operationId"] for _, _, operation in found]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for method, path, operation in found:
        assert operation["tags"], (method, path)
        assert set(operation["tags"]) <= declared, (method, path)
        assert operation["operationId"].isidentifier(), (method, path)
        assert "_" not in operation["operationId"], (method, path)  # not built from the path

    by_id = {
        operation["operationId"]: (method, path, operation) for method, path, operation in found
    }
    assert by_id["restartModem"][:2] == ("post", "/api/v1/modems/{name}/restart")
    assert by_id["restartModem"][2]["tags"] == ["modems"]
    assert by_id["changeOwnPassword"][:2] == ("post", "/api/v1/me/password")
    assert by_id["changeOwnPassword"][2]["tags"] == ["account"]
    assert by_id["kannelSendSms"][:2] == ("get", "/cgi-bin/sendsms")
    assert by_id["kannelSendSmsForm"][:2] == ("post", "/cgi-bin/sendsms")
    assert by_id["kannelSendSms"][2]["tags"] == ["kannel"]

    # Each lists the statuses it answers, not a common list of every error.
    send = by_id["sendMessage"][2]
    assert {"401", "403", "422", "429"} <= errors_of(send)
    assert "404" not in errors_of(send) and "409" not in errors_of(send)
    assert errors_of(by_id["getMe"][2]) == {"401", "403", "503"}
    assert errors_of(by_id["getHealth"][2]) == {"503"}
    assert {"404", "409"} <= errors_of(by_id["cancelMessage"][2])
    assert len({frozenset(errors_of(op)) for _, _, op in found}) > 5
    for method, path, operation in found:
        for status in errors_of(operation):
            assert operation["responses"][status]["content"], (method, path, status)

    # What each operation answers is among what it lists.
    refused: list[tuple[str, str, str, int]] = []
    seen: set[int] = set()
    for who in (None, "viewer", "operator"):
        headers = web.bearer(who) if who else {}
        for method, path, operation in found:
            if path.startswith("/cgi-bin/"):
                continue  # its own credentials (below)
            body = {} if "requestBody" in operation else None
            answer = await web.client.request(
                method.upper(), filled(path), json=body, headers=headers
            )
            seen.add(answer.status)
            if str(answer.status) not in operation["responses"]:
                refused.append((who or "nobody", method, path, answer.status))
    assert refused == []
    assert {200, 401, 403, 404, 422} <= seen  # the probes got past sign-in and to the checks

    for method in ("get", "post"):
        answer = await web.client.request(
            method.upper(), "/cgi-bin/sendsms?username=x&password=y&to=1&text=a"
        )
        assert (
            str(answer.status)
            in by_id[f"kannelSendSms{'Form' if method == 'post' else ''}"][2]["responses"]
        )
