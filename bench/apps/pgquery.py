"""Flask + SQLAlchemy + pg8000: one indexed SELECT against the local
PostgreSQL per request (the bench's database row). The same file runs under
both servers; the table is made once, under an advisory lock, by whichever
worker imports first."""

import random

import sqlalchemy as sa
from flask import Flask, jsonify

ROWS = 1000
engine = sa.create_engine("postgresql+pg8000://root@127.0.0.1/test", pool_size=1, max_overflow=0)

with engine.begin() as c:
    c.execute(sa.text("SELECT pg_advisory_xact_lock(4242)"))
    c.execute(sa.text("CREATE TABLE IF NOT EXISTS nicorn_bench (id int PRIMARY KEY, name text NOT NULL)"))
    if c.execute(sa.text("SELECT count(*) FROM nicorn_bench")).scalar_one() < ROWS:
        c.execute(sa.text("TRUNCATE nicorn_bench"))
        c.execute(sa.text("INSERT INTO nicorn_bench SELECT i, 'item ' || i FROM generate_series(1, :n) AS i"), {"n": ROWS})
# No connection left open at import: each worker opens its own on first use.
engine.dispose()

QUERY = sa.text("SELECT name FROM nicorn_bench WHERE id = :id")
app = Flask(__name__)


@app.get("/")
def item():
    n = random.randint(1, ROWS)
    with engine.connect() as c:
        name = c.execute(QUERY, {"id": n}).scalar_one()
    return jsonify(ok=name == f"item {n}", name=name)
