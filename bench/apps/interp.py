"""Benchmark app for the interpreter's own speed (issues 14 and 17): GET
/?work=W&n=N runs workload W N times in this process, with no socket and no
file in the loop, and answers the mean time of one run in microseconds
(time.perf_counter), after N/10 unrecorded runs. The same file runs under
both servers: the ratio is CPython in WebAssembly (Pyodide, in a nicorn-py
worker's Python thread) against the machine's native CPython.

  flask       Flask's test client: one GET of a JSON route (Werkzeug's
              routing, request and response objects, jsonify)
  sqlalchemy  a new SELECT ... WHERE built and compiled for pg8000's
              PostgreSQL dialect (SQLAlchemy's statement cache bypassed)
  python      plain Python: a recursive function, a dict and string format"""

import json
import time
from urllib.parse import parse_qs

import sqlalchemy as sa
from flask import Flask, jsonify
from sqlalchemy.dialects.postgresql import pg8000 as pg8000_dialect

inner = Flask("inner")


@inner.get("/item/<int:n>")
def item(n):
    return jsonify(id=n, name=f"item {n}", ok=True)


client = inner.test_client()
table = sa.table("nicorn_bench", sa.column("id"), sa.column("name"))
dialect = pg8000_dialect.dialect()


def flask_get():
    res = client.get("/item/42")
    assert res.status_code == 200


def sqlalchemy_compile():
    stmt = sa.select(table.c.name).where(table.c.id == sa.bindparam("id")).limit(1)
    str(stmt.compile(dialect=dialect))


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def plain_python():
    d = {f"k{i}": i * i for i in range(50)}
    s = sum(v for k, v in d.items() if k.endswith("1"))
    "|".join(f"{k}={v}" for k, v in sorted(d.items()))
    fib(12) + s


WORK = {"flask": flask_get, "sqlalchemy": sqlalchemy_compile, "python": plain_python}


def app(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    work = WORK[query.get("work", ["python"])[0]]
    n = int(query.get("n", ["1000"])[0])
    for _ in range(n // 10):
        work()
    t0 = time.perf_counter()
    for _ in range(n):
        work()
    us = (time.perf_counter() - t0) / n * 1e6
    body = json.dumps({"us": us, "n": n}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
