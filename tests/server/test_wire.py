"""JSON on the wire: the strict reader server and client share (klue.wire)."""
import json
import threading

import pytest

from klue.wire import dump_json, loads_json


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
def test_bytes_are_read_in_any_encoding_json_allows(encoding):
    assert loads_json('{"név": [1, 2.5, "é"]}'.encode(encoding)) == {"név": [1, 2.5, "é"]}


def test_text_with_a_byte_order_mark_is_refused_as_json_loads_refuses_it():
    with pytest.raises(ValueError, match="BOM"):
        loads_json('\ufeff{"a": 1}')


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_non_finite_constants_are_refused(text):
    with pytest.raises(ValueError, match="is not valid JSON"):
        loads_json(text)


def test_integral_numbers_are_integers_and_overflow_is_refused():
    assert loads_json("[2.0, 1e3, 2.5, -0.0, 1e15]") == [2, 1000, 2.5, 0, 10**15]
    assert [type(v) for v in loads_json("[2.0, 1e3, 2.5, 1e15]")] == [int, int, float, int]
    assert type(loads_json("1e20")) is float  # beyond 2**53 a float is not exact: it stays one
    with pytest.raises(ValueError, match="too large"):
        loads_json(b'{"w": 1e400}')
    with pytest.raises(ValueError, match="too many digits"):
        loads_json("9" * 5000)


def test_invalid_input_is_a_value_error():
    for bad in (b"", b"{", b"\xff\xfe\xfd", "[1,]"):
        with pytest.raises(ValueError):
            loads_json(bad)


def run_in_threads(check, count: int = 8, rounds: int = 300) -> list:
    """Run ``check(i)`` ``rounds`` times in each of ``count`` threads at once; the i's it failed for."""
    failures = []

    def work(i: int) -> None:
        for _ in range(rounds):
            if not check(i):
                failures.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return failures


def test_one_shared_decoder_reads_correctly_from_many_threads():
    docs = [json.dumps({"n": i, "xs": [i + 0.5] * 50, "k": {"deep": [i] * 20}}).encode() for i in range(8)]
    expected = [json.loads(doc) for doc in docs]
    assert not run_in_threads(lambda i: loads_json(docs[i]) == expected[i])


def test_dump_json_is_compact_utf8_and_strict():
    assert dump_json({"a": "é", "b": [1, 2.5]}) == '{"a":"é","b":[1,2.5]}'.encode()
    with pytest.raises(ValueError):
        dump_json(float("nan"))
    with pytest.raises(TypeError):
        dump_json({1, 2})
    cyclic: dict = {}
    cyclic["self"] = cyclic
    with pytest.raises(RecursionError):
        dump_json(cyclic)


def test_one_shared_encoder_writes_correctly_from_many_threads():
    values = [{"n": i, "xs": [i + 0.5] * 50, "s": "é" * i} for i in range(8)]
    assert not run_in_threads(lambda i: json.loads(dump_json(values[i])) == values[i])
