"""What `serve` reads from a request, in both of its APIs (no model needed; the served model: test_model_loop)."""

import base64
import io
import json
import re
from types import SimpleNamespace

import pytest
from PIL import Image

from molmo_agent.errors import ConfigError
from molmo_agent.serve import ModelServer, RequestError, expected_hosts, host_of, parse_chat, parse_predict

from .conftest import cli


def _png(size=(320, 180)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_system_message_goes_before_the_user_text_and_sampling_is_read():
    body = {"messages": [{"role": "system", "content": "You are a pointing model."},
                         {"role": "user", "content": [{"type": "text", "text": "Point to the To."},
                                                      {"type": "image_url", "image_url": {"url": "data:image/png;base64," + _png()}}]}],
            "temperature": 0.7, "top_p": 0.8, "max_tokens": 1024}
    asked = parse_chat(json.dumps(body).encode())
    assert asked.text == "You are a pointing model. Point to the To." and asked.image.size == (320, 180)
    assert (asked.max_tokens, asked.temperature, asked.top_p) == (1024, 0.7, 0.8)


def test_the_text_is_kept_byte_for_byte():
    prompt = "molmo_web_think: \n# GOAL\nG\n\n# NEXT STEP\n"
    body = {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + _png()}}, {"type": "text", "text": prompt}]}]}
    assert parse_chat(json.dumps(body).encode()).text == prompt


def test_predict_reads_molmowebs_request_with_its_server_defaults():
    asked = parse_predict(json.dumps({"prompt": "molmo_web_think: x", "image_base64": _png((1280, 720)),
                                      "past_actions": [{"thought": "t", "action": {"name": "noop"}}]}).encode())
    assert asked.text == "molmo_web_think: x" and asked.image.size == (1280, 720)
    assert (asked.temperature, asked.top_p, asked.max_tokens) == (0.7, 0.8, 1024)


@pytest.mark.parametrize("body, status, message", [
    (b"{nope", 400, "not JSON"),
    (json.dumps({"prompt": "p"}).encode(), 400, "image_base64"),
    (json.dumps({"prompt": "p", "image_base64": "AAAA"}).encode(), 400, "not readable"),
    (json.dumps({"prompt": "p", "image_base64": _png((5000, 5000))}).encode(), 413, "at most"),
    (json.dumps({"prompt": "p", "image_base64": _png(), "temperature": "hot"}).encode(), 400, "temperature"),
])
def test_predict_refuses_bad_requests_with_what_is_wrong(body, status, message):
    with pytest.raises(RequestError, match=message) as caught:
        parse_predict(body)
    assert caught.value.status == status


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.7", "example.org"])
def test_serve_will_not_listen_beyond_loopback_without_a_key(host, tmp_path):
    with pytest.raises(ConfigError, match=f"refusing to serve on {re.escape(host)} without --api-key"):
        ModelServer(object(), name="m", host=host, port=0)
    # the CLI refuses before it loads anything (the folder is not even a model)
    done = cli("serve", "--model", str(tmp_path), "--host", host, "--port", "0")
    assert done.returncode == 2 and "without --api-key" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_needs_no_key_and_any_host_may_serve_with_one(host):
    for where, key in ((host, None), ("0.0.0.0", "k")):
        server = ModelServer(SimpleNamespace(batcher=SimpleNamespace()), name="m", host=where, port=0, api_key=key)
        server.socket.close()


def test_the_host_header_must_name_the_address_listened_on():
    assert [host_of(h) for h in ("LocalHost:8000", "[::1]:8000", "10.0.0.5", "example.org:80")] == [
        "localhost", "::1", "10.0.0.5", "example.org"]
    assert expected_hosts("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert expected_hosts("10.0.0.5", ["gpu.internal"]) == {"10.0.0.5", "gpu.internal"}
    assert expected_hosts("0.0.0.0") is None and expected_hosts("127.0.0.1", ["*"]) is None
