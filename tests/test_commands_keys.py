"""`flask keys generate`: key material the server accepts as it is, in the form .env holds it."""

import io
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from dotenv import dotenv_values

from helpers import AuthActions, bearer


def generate(app, *args):
    return app.test_cli_runner().invoke(args=["keys", "generate", *args])


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA", "HS256"])
def test_the_printed_lines_make_a_server_that_signs_with_the_new_key(app, make_app, algorithm):
    result = generate(app, "--algorithm", algorithm)
    assert result.exit_code == 0, result.output
    values = dotenv_values(stream=io.StringIO(result.output))  # as the server reads .env
    assert values["JWT_ALGORITHM"] == algorithm
    overrides = {"jwt_algorithm": algorithm}
    if algorithm == "HS256":
        overrides |= {"secret_key": values["SECRET_KEY"]}
    else:
        overrides |= {
            "jwt_private_key": values["JWT_PRIVATE_KEY"],
            "jwt_public_key": values["JWT_PUBLIC_KEY"],
        }
        assert "\\n" in values["JWT_PRIVATE_KEY"]  # one line, its breaks written \n, as the server reads it
    server = make_app(**overrides)
    tokens = AuthActions(server.test_client()).tokens()
    assert server.test_client().get("/api/auth/me", headers=bearer(tokens["authToken"])).status_code == 200
    verifier = values["SECRET_KEY"] if algorithm == "HS256" else values["JWT_PUBLIC_KEY"].replace("\\n", "\n")
    claims = jwt.decode(tokens["authToken"], verifier, algorithms=[algorithm], options={"verify_exp": False})
    assert claims["sub"] == tokens["user"]["id"]  # signed with the key just made


def test_a_secret_is_48_random_bytes_and_new_each_time(app):
    first = dotenv_values(stream=io.StringIO(generate(app, "--algorithm", "HS256").output))["SECRET_KEY"]
    second = dotenv_values(stream=io.StringIO(generate(app, "--algorithm", "HS256").output))["SECRET_KEY"]
    assert len(first) == 64  # 48 bytes, URL-safe base64
    assert first != second


def test_each_line_is_one_line_so_any_env_file_reader_keeps_it_whole(app):
    output = generate(app, "--algorithm", "ES256").output
    assert [line.split("=", 1)[0] for line in output.splitlines()] == [
        "JWT_ALGORITHM",
        "JWT_PRIVATE_KEY",
        "JWT_PUBLIC_KEY",
    ]


def test_pem_prints_the_private_key_as_a_file(app):
    result = generate(app, "--algorithm", "EdDSA", "--pem")
    assert result.exit_code == 0
    key = serialization.load_pem_private_key(result.output.encode(), password=None)
    assert key.public_key()


def test_json_holds_the_pem_text(app):
    values = json.loads(generate(app, "--algorithm", "RS256", "--json").output)
    key = serialization.load_pem_private_key(values["JWT_PRIVATE_KEY"].encode(), password=None)
    assert key.key_size == 3072


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Missing option '--algorithm'"),
        (["--algorithm", "HS512"], "'HS512' is not one of"),
        (["--algorithm", "HS256", "--pem"], "--pem is for key pairs"),
    ],
)
def test_bad_input_is_a_usage_error(app, args, message):
    result = generate(app, *args)
    assert result.exit_code == 2
    assert message in result.output
