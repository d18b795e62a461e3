"""The client interface: OpenAI-compatible server (a tiny one on loopback), errors, choosing a client,
the reply cache, the scripted client; and (slow) the bundled local model."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from labkit.llm import (
    CachedClient,
    LLMTimeoutError,
    LLMUnavailableError,
    LocalClient,
    OpenAIClient,
    ScoreUnsupportedError,
    ScriptedClient,
    extract_code,
    get_client,
    parse_spec,
)

GOOD = {" blue": -0.2}  # the fake server's favourite continuation


def _fake_logprobs(text: str, echo_ok: bool):
    """Word-level 'tokens' of ``text`` with char offsets; words of " blue" score high, others low."""
    tokens, offsets, i = [], [], 0
    for word in text.replace(" ", "\x00 ").split("\x00"):
        if word:
            tokens.append(word)
            offsets.append(i)
            i += len(word)
    values = [None] + [GOOD.get(t, -4.0) for t in tokens[1:]]
    if not echo_ok:  # like llama.cpp: only the generated token
        return {"tokens": ["."], "token_logprobs": [-1.0], "text_offset": [len(text)]}
    return {"tokens": tokens + ["."], "token_logprobs": values + [-1.0], "text_offset": offsets + [len(text)]}


class _Server:
    """An OpenAI-compatible server in a thread: fixed chat replies, echo log-probs, a few failure modes."""

    def __init__(self, mode: str = "ok"):
        self.mode, self.requests = mode, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((self.path, body, self.headers.get("Authorization")))
                if server.mode == "slow":
                    time.sleep(1.5)
                if server.mode == "auth":
                    return self._send(401, {"error": "bad key"})
                if self.path == "/v1/chat/completions":
                    n = body.get("n", 1)
                    text = f"```python\ndef compute_reward(pos):\n    return -{body['seed']}.0\n```"
                    return self._send(
                        200,
                        {
                            "choices": [
                                {"index": i, "message": {"role": "assistant", "content": text}} for i in range(n)
                            ],
                            "usage": {"prompt_tokens": 7, "completion_tokens": 5},
                        },
                    )
                if self.path == "/v1/completions":
                    if server.mode == "no_echo_400":
                        return self._send(400, {"error": "Only no echo is supported"})
                    lp = _fake_logprobs(body["prompt"], echo_ok=server.mode != "no_echo")
                    return self._send(200, {"choices": [{"text": body["prompt"] + ".", "logprobs": lp}]})
                self._send(404, {"error": "not found"})

            def _send(self, code, payload):
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client gave up (the time-out test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(request):
    s = _Server(getattr(request, "param", "ok"))
    yield s
    s.close()


def test_generate_sends_the_request_and_returns_the_reply(server, monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    client = OpenAIClient(server.url, "tiny", api_key_env="TEST_LLM_KEY", timeout=5)
    reply = client.generate(
        [{"role": "user", "content": "hi"}], max_new_tokens=20, temperature=0.3, seed=7, stop=["\n```"]
    )
    assert reply == "```python\ndef compute_reward(pos):\n    return -7.0"  # cut at the stop string
    path, body, auth = server.requests[-1]
    assert path == "/v1/chat/completions" and body["model"] == "tiny" and body["seed"] == 7
    assert body["max_tokens"] == 20 and body["temperature"] == 0.3 and auth == "Bearer sk-test"
    assert client.usage.calls == 1 and client.usage.completion_tokens == 5
    assert extract_code(reply).startswith("def compute_reward")


def test_generate_many_one_request_per_seed_or_n(server):
    one_by_one = OpenAIClient(server.url, "tiny", timeout=5).generate_many(
        [{"role": "user", "content": "x"}], 3, seed=10
    )
    assert [r.split("-")[1][:2] for r in one_by_one] == ["10", "11", "12"] and len(server.requests) == 3
    batched = OpenAIClient(server.url, "tiny", timeout=5, supports_n=True).generate_many(
        [{"role": "user", "content": "x"}], 3, seed=10
    )
    assert len(batched) == 3 and server.requests[-1][1]["n"] == 3 and len(server.requests) == 4


def test_score_reads_echoed_logprobs_and_ranks_the_right_option(server):
    client = OpenAIClient(server.url, "tiny", timeout=5)
    scores = client.score("The sky is", [" blue", " green", " made of cheese"])
    assert scores.shape == (3,) and int(np.argmax(scores)) == 0
    assert scores[0] == pytest.approx(-0.2) and scores[2] == pytest.approx(-12.0)  # three words at -4
    assert client.score("The sky is", [" made of cheese"], normalize=True)[0] == pytest.approx(-4.0)
    body = server.requests[-1][1]
    assert body["echo"] is True and body["logprobs"] == 1 and body["max_tokens"] == 1


@pytest.mark.parametrize("server", ["no_echo", "no_echo_400"], indirect=True)
def test_score_on_a_server_without_prompt_logprobs_says_so(server):
    with pytest.raises(ScoreUnsupportedError, match="LABKIT_LLM=local"):
        OpenAIClient(server.url, "tiny", timeout=5).score("The sky is", [" blue", " green"])


def test_unreachable_server_is_one_clear_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAIClient(f"http://127.0.0.1:{port}/v1", "tiny", timeout=2)
    t0 = time.perf_counter()
    with pytest.raises(LLMUnavailableError) as err:
        client.generate([{"role": "user", "content": "hi"}])
    msg = str(err.value)
    assert "Cannot reach" in msg and "server is running" in msg and "OPENAI_API_KEY" in msg and "\n" not in msg
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize("server", ["slow"], indirect=True)
def test_timeout(server):
    with pytest.raises(LLMTimeoutError, match="did not answer within"):
        OpenAIClient(server.url, "tiny", timeout=0.3).generate([{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("server", ["auth"], indirect=True)
def test_rejected_key_names_the_variable(server):
    with pytest.raises(LLMUnavailableError, match="MY_KEY"):
        OpenAIClient(server.url, "tiny", api_key_env="MY_KEY", timeout=5).generate([{"role": "user", "content": "x"}])


def test_spec_parsing_and_errors(monkeypatch):
    assert parse_spec("local") == ("local", {})
    assert parse_spec("local:/m/x.gguf") == ("local", {"gguf_path": "/m/x.gguf"})
    kind, kw = parse_spec("openai://127.0.0.1:8080/v1?model=qwen&key_env=K&timeout=30&n=1")
    assert kind == "openai" and kw == {
        "base_url": "http://127.0.0.1:8080/v1",
        "model": "qwen",
        "api_key_env": "K",
        "timeout": 30.0,
        "supports_n": True,
    }
    assert parse_spec("openais://api.example.com/v1?model=m")[1]["base_url"] == "https://api.example.com/v1"
    for bad, match in [
        ("gpt4", "Cannot read"),
        ("openai://h:1/v1", "names no model"),
        ("openai://h:1/v1?model=m&temp=1", "Unknown option"),
    ]:
        with pytest.raises(ValueError, match=match):
            parse_spec(bad)
    monkeypatch.setenv("LABKIT_LLM", "openai://127.0.0.1:9/v1?model=m")
    client = get_client()
    assert isinstance(client, OpenAIClient) and client.model == "m"
    assert get_client(client) is client


def test_bad_messages_are_one_line_errors():
    client = ScriptedClient(["ok"])
    for bad in ("hello", [], [{"role": "robot", "content": "x"}], [{"role": "user"}]):
        with pytest.raises(ValueError):
            client.generate(bad)


def test_cache_answers_repeats_from_disk(tmp_path):
    inner = ScriptedClient(lambda messages, seed: f"reply {seed} to {messages[-1]['content']}")
    cached = CachedClient(inner, tmp_path / "c.json")
    msgs = [{"role": "user", "content": "q"}]
    first = cached.generate_many(msgs, 2, seed=3, max_new_tokens=50)
    assert first == ["reply 3 to q", "reply 4 to q"] and inner.calls == 2
    again = CachedClient(inner, tmp_path / "c.json")  # a new process would read the same file
    assert again.generate_many(msgs, 2, seed=3, max_new_tokens=50) == first and inner.calls == 2
    assert again.usage.cached == 1
    again.generate_many(msgs, 2, seed=4, max_new_tokens=50)  # another seed is another request
    assert inner.calls == 4


def test_scripted_client_score_needs_a_scorer():
    with pytest.raises(ScoreUnsupportedError):
        ScriptedClient(["x"]).score("a", [" b"])
    assert ScriptedClient(["x"], scorer=lambda p, o: [len(s) for s in o]).score("a", [" b", " cc"]).tolist() == [2, 3]


# --- the bundled local model (loads in ~20 CPU seconds on one thread) ---------------------------------------------
@pytest.fixture(scope="module")
def local():
    return LocalClient()


@pytest.mark.slow
def test_local_model_loads_and_generates_deterministically(local):
    msgs = [{"role": "user", "content": "Say hello in one word."}]
    a = local.generate(msgs, max_new_tokens=8, temperature=0.8, seed=1)
    b = local.generate(msgs, max_new_tokens=8, temperature=0.8, seed=1)
    assert isinstance(a, str) and a.strip() and a == b
    assert local.generate(msgs, max_new_tokens=8) == local.generate(msgs, max_new_tokens=8)  # greedy
    many = local.generate_many(msgs, 3, seed=5, max_new_tokens=8, temperature=1.0)
    assert len(many) == 3 and many == local.generate_many(msgs, 3, seed=5, max_new_tokens=8, temperature=1.0)
    assert local.usage.completion_tokens > 0


@pytest.mark.slow
def test_local_score_ranks_an_obviously_right_option_first(local):
    s = local.score("One, two, three, four,", [" five", " purple", " the"])
    assert s.shape == (3,) and int(np.argmax(s)) == 0
    s = local.score("The opposite of hot is", [" cold", " purple"])
    assert s[0] > s[1]
