"""The Postman collection stays in step with the OpenAPI document."""

import importlib.util
import json
from pathlib import Path

POSTMAN = Path(__file__).resolve().parent.parent / "postman"


def load_builder():
    spec = importlib.util.spec_from_file_location("postman_build", POSTMAN / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_collection_is_what_the_document_builds(app):
    builder = load_builder()
    committed = builder.COLLECTION.read_text()
    assert committed == builder.render(app.extensions["openapi"]), "run: python postman/build.py"


def test_every_documented_operation_is_in_the_collection(app):
    collection = json.loads((POSTMAN / "auth-server.postman_collection.json").read_text())
    requests = {
        (item["request"]["method"], item["request"]["url"]["raw"].replace("{{baseUrl}}", ""))
        for folder in collection["item"]
        for item in folder["item"]
    }
    for path, operations in app.extensions["openapi"]["paths"].items():
        for method in operations.keys() - {"parameters"}:
            assert (method.upper(), path.replace("{", ":").replace("}", "")) in requests


def test_logging_in_stores_both_tokens_for_the_next_requests():
    collection = json.loads((POSTMAN / "auth-server.postman_collection.json").read_text())
    walk = {item["name"]: item for item in collection["item"][0]["item"]}
    login_script = "\n".join(walk["Log in (saves both tokens)"]["event"][0]["script"]["exec"])
    assert 'collectionVariables.set("authToken"' in login_script
    assert 'collectionVariables.set("refreshToken"' in login_script
    assert collection["auth"]["bearer"][0]["value"] == "{{authToken}}"
