#!/usr/bin/env python3
"""Seeded CQL statement generator for the differential corpus (Fixtures/differential/).

    python3 scripts/differential/generate.py SEED [--count-per-block N] > Fixtures/differential/statements.jsonl

The output is deterministic for a seed: one JSON object per line with
  id        position in the corpus (statements run in this order, on one connection)
  feature   what the statement exercises (the report counts statements per feature)
  cql       the statement text
  page_size optional: the statement is read page by page with this fetch size
  volatile  optional: result columns whose values change with wall-clock time (ttl(...)): compared
            with a tolerance of `tolerance` seconds below the recorded value, not exactly
  unordered optional: rows are compared as a multiset (CQL defines no order)

Every write that a later writetime() reads carries an explicit USING TIMESTAMP, TTLs are long
(a day) so nothing expires during a run, and no result depends on now()/uuid() values.
"""

import argparse
import json
import random
import sys
import uuid

KEYSPACE = "differential"
TTL = 86400
TYPES = ["ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration", "float", "inet", "int",
         "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varchar", "varint"]
SCALAR_COLUMNS = {t: "c_" + t for t in TYPES}
NUMERIC = ["bigint", "decimal", "double", "float", "int", "smallint", "tinyint", "varint"]
ORDERED_FOR_MINMAX = NUMERIC + ["ascii", "text", "timestamp", "date", "time", "uuid", "timeuuid", "inet", "boolean", "blob"]


class Corpus:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.items = []
        self.timestamp = 1_600_000_000_000_000  # fixed write timestamps (microseconds), increasing

    def add(self, feature, cql, **extra):
        item = {"id": len(self.items), "feature": feature, "cql": cql}
        item.update({k: v for k, v in extra.items() if v is not None})
        self.items.append(item)

    def ts(self):
        self.timestamp += self.rng.randint(1, 1000)
        return self.timestamp

    # ---- values -------------------------------------------------------------------------------

    def text(self, ascii_only=False):
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 _-"
        if not ascii_only:
            alphabet += "éß€中'"
        word = "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, 12)))
        return "'" + word.replace("'", "''") + "'"

    def timeuuid(self):
        # A version 1 UUID from a fixed time range and random clock sequence/node (deterministic per seed).
        ticks = 0x01E0_0000_0000_0000 + self.rng.randint(0, 10**15)
        low, mid, high = ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, (ticks >> 48) & 0x0FFF | 0x1000
        seq = self.rng.randint(0, 0x3FFF) | 0x8000
        node = self.rng.randint(0, 2**48 - 1)
        return str(uuid.UUID(fields=(low, mid, high, seq >> 8, seq & 0xFF, node)))

    def value(self, cql_type):
        r = self.rng
        if cql_type == "ascii":
            return self.text(ascii_only=True)
        if cql_type in ("text", "varchar"):
            return self.text()
        if cql_type == "bigint":
            return str(r.choice([0, 1, -1, 2**63 - 1, -2**63, r.randint(-10**12, 10**12)]))
        if cql_type == "int":
            return str(r.choice([0, 7, -7, 2**31 - 1, -2**31, r.randint(-10**6, 10**6)]))
        if cql_type == "smallint":
            return str(r.randint(-32768, 32767))
        if cql_type == "tinyint":
            return str(r.randint(-128, 127))
        if cql_type == "varint":
            return str(r.choice([0, -1, 10**30, -(10**25) + 7, r.randint(-10**20, 10**20)]))
        if cql_type == "decimal":
            whole = r.randint(-10**6, 10**6)
            return r.choice([str(whole), f"{whole}.{r.randint(0, 999):03d}", "0.1", "-0.001", f"{whole}.5", "1E+3", "12345678901234567890.123"])
        if cql_type == "double":
            return r.choice(["0.0", "1.5", "-2.25", "1e10", "3.141592653589793", str(r.randint(-1000, 1000)), f"{r.random() * 100:.6f}"])
        if cql_type == "float":
            return r.choice(["0.0", "1.5", "-2.25", "3.25", str(r.randint(-1000, 1000)), "0.125"])
        if cql_type == "boolean":
            return r.choice(["true", "false"])
        if cql_type == "blob":
            return "0x" + "".join(f"{r.randint(0, 255):02x}" for _ in range(r.randint(0, 8)))
        if cql_type == "date":
            return f"'{r.randint(1970, 2100):04d}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}'"
        if cql_type == "time":
            return f"'{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999999999):09d}'"
        if cql_type == "timestamp":
            return r.choice([f"'{r.randint(1971, 2037):04d}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}+0000'",
                             str(r.randint(0, 2**41))])
        if cql_type == "timeuuid":
            return self.timeuuid()
        if cql_type == "uuid":
            return str(uuid.UUID(int=r.getrandbits(128), version=4))
        if cql_type == "inet":
            return r.choice([f"'{r.randint(1, 254)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}'", "'::1'", "'2001:db8::ff00:42:8329'"])
        if cql_type == "duration":
            return r.choice(["1h30m", "2d", "3mo", "1y2mo", "45s", "500ms", "-1h", "1w", "1h2m3s4ms5us6ns"])
        raise ValueError(cql_type)


def schema(c):
    c.add("ddl", f"CREATE KEYSPACE {KEYSPACE} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    c.add("ddl", f"USE {KEYSPACE}")
    c.add("ddl", "CREATE TYPE address (street text, zip int, tags frozen<set<text>>)")
    c.add("ddl", "CREATE TYPE point (x double, y double)")
    columns = ", ".join(f"{name} {t}" for t, name in SCALAR_COLUMNS.items())
    c.add("ddl", f"CREATE TABLE scalars (k int PRIMARY KEY, {columns})")
    c.add("ddl", "CREATE TABLE events (p int, q text, c1 int, c2 text, v int, w text, s int static, "
                 "PRIMARY KEY ((p, q), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC)")
    c.add("ddl", "CREATE TABLE series (p int, c int, v bigint, PRIMARY KEY (p, c))")
    c.add("ddl", "CREATE TABLE colls (k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>, "
                 "fl frozen<list<int>>, fs frozen<set<int>>, fm frozen<map<int, text>>, "
                 "nested map<int, frozen<list<text>>>, tup tuple<int, text, double>, ad address, fad frozen<address>, "
                 "pts list<frozen<point>>)")
    c.add("ddl", "CREATE TABLE counters (k int PRIMARY KEY, hits counter, misses counter)")
    c.add("ddl", "CREATE TABLE locks (name text PRIMARY KEY, owner text, epoch int, tags set<text>)")
    c.add("ddl", "CREATE TABLE ledger (p int, c int, v text, total int static, PRIMARY KEY (p, c))")
    agg_cols = ", ".join(f"v_{t} {t}" for t in ORDERED_FOR_MINMAX if t != "text") + ", v_text text"
    c.add("ddl", f"CREATE TABLE agg (p int, c int, {agg_cols}, PRIMARY KEY (p, c))")
    c.add("ddl", "CREATE TABLE keyed (d date, t timestamp, u timeuuid, b blob, v int, PRIMARY KEY ((d, t), u, b))")


def scalars(c, rows):
    for k in range(rows):
        types = [t for t in TYPES if c.rng.random() < 0.8]
        names = ", ".join(SCALAR_COLUMNS[t] for t in types)
        values = ", ".join(c.value(t) for t in types)
        ttl = f" AND TTL {TTL}" if c.rng.random() < 0.2 else ""
        c.add("insert", f"INSERT INTO scalars (k, {names}) VALUES ({k}, {values}) USING TIMESTAMP {c.ts()}{ttl}")
    for _ in range(rows * 2):
        k = c.rng.randint(0, rows + 2)
        t = c.rng.choice(TYPES)
        c.add("select", f"SELECT k, {SCALAR_COLUMNS[t]} FROM scalars WHERE k = {k}")
        c.add("writetime", f"SELECT writetime({SCALAR_COLUMNS[t]}) FROM scalars WHERE k = {k}")
        c.add("ttl", f"SELECT ttl({SCALAR_COLUMNS[t]}) FROM scalars WHERE k = {k}",
              volatile=[f"ttl({SCALAR_COLUMNS[t]})"], tolerance=900)
    for _ in range(rows):
        k = c.rng.randint(0, rows)
        t = c.rng.choice(TYPES)
        c.add("update", f"UPDATE scalars USING TIMESTAMP {c.ts()} SET {SCALAR_COLUMNS[t]} = {c.value(t)} WHERE k = {k}")
        c.add("select", f"SELECT * FROM scalars WHERE k = {k}")
    c.add("select", "SELECT * FROM scalars")
    c.add("select", "SELECT k FROM scalars WHERE k IN (1, 3, 5, 1000)")
    for _ in range(rows // 2):
        k = c.rng.randint(0, rows)
        t = c.rng.choice(TYPES)
        c.add("delete", f"DELETE {SCALAR_COLUMNS[t]} FROM scalars USING TIMESTAMP {c.ts()} WHERE k = {k}")
        c.add("select", f"SELECT * FROM scalars WHERE k = {k}")
    c.add("delete", f"DELETE FROM scalars USING TIMESTAMP {c.ts()} WHERE k = 0")
    c.add("select", "SELECT * FROM scalars WHERE k = 0")
    # An older timestamp loses to a newer one.
    c.add("update", "UPDATE scalars USING TIMESTAMP 1 SET c_int = 123456 WHERE k = 1")
    c.add("select", "SELECT c_int, writetime(c_int) FROM scalars WHERE k = 1")


def functions(c, rows):
    for t in TYPES:
        col = SCALAR_COLUMNS[t]
        fn = "varchar" if t == "varchar" else t
        c.add("function", f"SELECT k, {fn}AsBlob({col}) FROM scalars WHERE k = {c.rng.randint(1, rows)}")
        c.add("function", f"SELECT k, blobAs{fn}({fn}AsBlob({col})) FROM scalars WHERE k = {c.rng.randint(1, rows)}")
        c.add("json", f"SELECT k, toJson({col}) FROM scalars WHERE k = {c.rng.randint(1, rows)}")
    c.add("function", "SELECT blobAsText(textAsBlob(c_text)), textAsBlob('abc'), intAsBlob(3) FROM scalars WHERE k = 2")
    c.add("function", "SELECT blobAsInt(0x0000000a) FROM scalars WHERE k = 2")
    c.add("function", "SELECT blobAsInt(0x0a) FROM scalars WHERE k = 2")
    c.add("function", "SELECT bigintAsBlob(c_bigint), blobAsBigint(bigintAsBlob(c_bigint)) FROM scalars WHERE k = 3")
    for k in range(1, min(rows, 8)):
        c.add("function", f"SELECT toDate(c_timeuuid), toTimestamp(c_timeuuid), toUnixTimestamp(c_timeuuid) FROM scalars WHERE k = {k}")
        c.add("function", f"SELECT toDate(c_timestamp), toUnixTimestamp(c_timestamp), toTimestamp(c_date), toUnixTimestamp(c_date) FROM scalars WHERE k = {k}")
        c.add("function", f"SELECT dateOf(c_timeuuid), unixTimestampOf(c_timeuuid) FROM scalars WHERE k = {k}")
    for literal in ["'2013-01-01 00:05+0000'", "0", "1600000000000", "'1970-01-01'"]:
        c.add("function", f"SELECT minTimeuuid({literal}), maxTimeuuid({literal}) FROM scalars WHERE k = 1")
    c.add("function", "SELECT toDate('2020-02-29 10:00:00+0000') FROM scalars WHERE k = 1")
    c.add("function", "SELECT toUnixTimestamp(1) FROM scalars WHERE k = 1")
    c.add("function", "SELECT token(k), k FROM scalars WHERE k = 4")
    c.add("function", "SELECT k FROM scalars WHERE k = blobAsInt(intAsBlob(5))")
    c.add("function", "INSERT INTO scalars (k, c_blob) VALUES (900, textAsBlob('hello'))")
    c.add("function", "SELECT c_blob, blobAsText(c_blob) FROM scalars WHERE k = 900")
    c.add("function", "INSERT INTO scalars (k, c_timeuuid) VALUES (901, minTimeuuid('2020-01-01 00:00:00+0000'))")
    c.add("function", "SELECT c_timeuuid, toTimestamp(c_timeuuid) FROM scalars WHERE k = 901")
    c.add("function", "SELECT k FROM scalars WHERE k = 901 AND c_timeuuid > maxTimeuuid('2019-01-01') ALLOW FILTERING")
    c.add("error", "SELECT blobAsInt(c_text) FROM scalars WHERE k = 1")
    c.add("error", "SELECT nosuchfunction(k) FROM scalars WHERE k = 1")
    c.add("error", "SELECT toJson(k, c_int) FROM scalars WHERE k = 1")
    c.add("error", "SELECT fromJson(c_text) FROM scalars WHERE k = 1")
    c.add("error", "INSERT INTO scalars (k, c_int) VALUES (902, toJson(1))")
    c.add("error", "SELECT intAsBlob(c_text) FROM scalars WHERE k = 1")
    c.add("error", "SELECT sum(c_text) FROM scalars")
    c.add("error", "SELECT avg(c_uuid) FROM scalars")


def clustering(c, partitions):
    keys = [(p, q) for p in range(partitions) for q in ("a", "b")]
    for p, q in keys:
        for _ in range(c.rng.randint(0, 9)):
            c1, c2 = c.rng.randint(0, 6), c.rng.choice(["x", "y", "z", "zz", ""])
            c.add("insert", f"INSERT INTO events (p, q, c1, c2, v, w) VALUES ({p}, '{q}', {c1}, '{c2}', {c.rng.randint(-50, 50)}, {c.text()}) USING TIMESTAMP {c.ts()}")
        if c.rng.random() < 0.6:
            c.add("static", f"UPDATE events USING TIMESTAMP {c.ts()} SET s = {c.rng.randint(0, 99)} WHERE p = {p} AND q = '{q}'")
    c.add("static", f"INSERT INTO events (p, q, s) VALUES (99, 'only-static', 5) USING TIMESTAMP {c.ts()}")
    for _ in range(partitions * 12):
        p, q = c.rng.choice(keys)
        where = f"p = {p} AND q = '{q}'"
        a, b = sorted(c.rng.sample(range(0, 7), 2))
        choice = c.rng.randint(0, 15)
        if choice == 0:
            c.add("select", f"SELECT * FROM events WHERE {where}")
        elif choice == 1:
            c.add("slice", f"SELECT c1, c2, v FROM events WHERE {where} AND c1 > {a} AND c1 <= {b}")
        elif choice == 2:
            c.add("slice", f"SELECT c1, c2 FROM events WHERE {where} AND c1 = {a} AND c2 >= 'y'")
        elif choice == 3:
            c.add("order_by", f"SELECT c1, c2, v FROM events WHERE {where} ORDER BY c1 ASC, c2 DESC")
        elif choice == 4:
            c.add("order_by", f"SELECT c1, c2 FROM events WHERE {where} ORDER BY c1 DESC LIMIT {c.rng.randint(1, 4)}")
        elif choice == 5:
            c.add("in", f"SELECT c1, c2, v FROM events WHERE {where} AND c1 IN ({a}, {b}, 9)")
        elif choice == 6:
            c.add("in", f"SELECT p, q, c1, c2 FROM events WHERE p IN ({p}, {(p + 1) % partitions}) AND q IN ('a', 'b') AND c1 = {a}")
        elif choice == 7:
            c.add("limit", f"SELECT * FROM events WHERE {where} LIMIT {c.rng.randint(1, 5)}")
        elif choice == 8:
            c.add("slice", f"SELECT c1, c2 FROM events WHERE {where} AND (c1, c2) > ({a}, 'x') AND (c1, c2) < ({b}, 'z')")
        elif choice == 9:
            c.add("static", f"SELECT p, q, s FROM events WHERE {where}")
        elif choice == 10:
            c.add("delete", f"DELETE FROM events USING TIMESTAMP {c.ts()} WHERE {where} AND c1 = {a} AND c2 = 'x'")
        elif choice == 11:
            c.add("delete", f"DELETE FROM events USING TIMESTAMP {c.ts()} WHERE {where} AND c1 >= {b}")
        elif choice == 12:
            c.add("update", f"UPDATE events USING TIMESTAMP {c.ts()} SET v = v, w = 'u' WHERE {where} AND c1 = {a} AND c2 = 'y'"
                  if False else f"UPDATE events USING TIMESTAMP {c.ts()} SET w = 'u' WHERE {where} AND c1 = {a} AND c2 = 'y'")
        elif choice == 13:
            c.add("filtering", f"SELECT c1, c2, v FROM events WHERE {where} AND v > 0 ALLOW FILTERING")
        elif choice == 14:
            c.add("count", f"SELECT count(*) FROM events WHERE {where}")
        else:
            c.add("in", f"SELECT c1, c2 FROM events WHERE {where} AND c1 = {a} AND c2 IN ('x', 'zz', '')")
    c.add("scan", "SELECT p, q, c1, c2, v, s FROM events")
    c.add("scan", "SELECT token(p, q), p, q FROM events")
    c.add("distinct", "SELECT DISTINCT p, q FROM events")
    c.add("distinct", "SELECT DISTINCT p, q, s FROM events")
    c.add("per_partition_limit", "SELECT p, q, c1, c2 FROM events PER PARTITION LIMIT 1")
    c.add("per_partition_limit", "SELECT p, q, c1, c2 FROM events PER PARTITION LIMIT 2 LIMIT 5")
    c.add("filtering", "SELECT p, q, c1 FROM events WHERE c1 = 3 ALLOW FILTERING")
    c.add("filtering", "SELECT p, q, c1, v FROM events WHERE v < 0 AND c1 > 2 ALLOW FILTERING")
    c.add("count", "SELECT count(*) FROM events")
    c.add("count", "SELECT count(v), count(s), count(1) FROM events")
    for size in (1, 2, 3, 5, 7, 100):
        c.add("paging", "SELECT p, q, c1, c2, v FROM events", page_size=size)
    c.add("paging", "SELECT p, q, c1, c2 FROM events WHERE p = 1 AND q = 'a'", page_size=2)
    c.add("paging", "SELECT DISTINCT p, q FROM events", page_size=3)
    c.add("paging", "SELECT p, q, c1 FROM events PER PARTITION LIMIT 2", page_size=3)
    c.add("paging", "SELECT p, q, c1 FROM events WHERE c1 > 2 ALLOW FILTERING", page_size=4)
    c.add("paging", "SELECT p, q, c1 FROM events LIMIT 7", page_size=3)
    # token ranges: the tokens come from the corpus itself (token() above), so use fixed bounds.
    for bound in (-9223372036854775808, -4611686018427387904, 0, 3074457345618258602, 9223372036854775807):
        c.add("token", f"SELECT token(p, q), p, q FROM events WHERE token(p, q) > {bound}")
        c.add("token", f"SELECT p, q FROM events WHERE token(p, q) <= {bound}")
    c.add("token", "SELECT p, q FROM events WHERE token(p, q) > -4611686018427387904 AND token(p, q) < 4611686018427387904")
    c.add("token", "SELECT p, q, c1 FROM events WHERE token(p, q) >= token(1, 'a') LIMIT 4")
    c.add("group_by", "SELECT p, q, count(*), max(c1) FROM events GROUP BY p, q")
    c.add("group_by", "SELECT p, q, c1, count(*) FROM events WHERE p = 1 AND q = 'a' GROUP BY p, q, c1")
    c.add("group_by", "SELECT p, q, sum(v) FROM events GROUP BY p, q", page_size=2)
    c.add("error", "SELECT * FROM events GROUP BY c1")
    c.add("error", "SELECT * FROM events WHERE p = 1 AND q = 'a' GROUP BY p, q, c2")


def series(c):
    for p in range(6):
        for cl in range(c.rng.randint(5, 40)):
            c.add("insert", f"INSERT INTO series (p, c, v) VALUES ({p}, {cl}, {c.rng.randint(-10**9, 10**9)}) USING TIMESTAMP {c.ts()}")
    for size in (1, 4, 10, 33):
        c.add("paging", "SELECT * FROM series", page_size=size)
        c.add("paging", f"SELECT * FROM series WHERE p = {c.rng.randint(0, 5)}", page_size=size)
        c.add("paging", f"SELECT * FROM series WHERE p = {c.rng.randint(0, 5)} ORDER BY c DESC", page_size=size)
        c.add("paging", "SELECT * FROM series WHERE p IN (1, 2, 3)", page_size=size)
    for _ in range(30):
        p = c.rng.randint(0, 5)
        a, b = sorted(c.rng.sample(range(0, 40), 2))
        c.add("slice", f"SELECT c, v FROM series WHERE p = {p} AND c >= {a} AND c < {b}")
        c.add("aggregate", f"SELECT count(*), min(v), max(v), sum(v), avg(v) FROM series WHERE p = {p}")
        c.add("slice", f"SELECT c FROM series WHERE p = {p} AND c > {a} ORDER BY c DESC LIMIT 3")
    c.add("delete", f"DELETE FROM series USING TIMESTAMP {c.ts()} WHERE p = 1 AND c > 3 AND c < 9")
    c.add("select", "SELECT c FROM series WHERE p = 1")
    c.add("aggregate", "SELECT count(*), sum(v) FROM series")


def collections(c, rows):
    for k in range(rows):
        l = "[" + ", ".join(str(c.rng.randint(-5, 5)) for _ in range(c.rng.randint(0, 4))) + "]"
        s = "{" + ", ".join(c.text(ascii_only=True) for _ in range(c.rng.randint(0, 4))) + "}"
        # Map literals never repeat a key: Cassandra keeps an arbitrary one of the duplicates (its literal map is
        # keyed by term identity), so no recording of a repeated key is reproducible.
        m_keys = sorted({c.text(ascii_only=True) for _ in range(c.rng.randint(0, 3))})
        m = "{" + ", ".join(f"{key}: {c.rng.randint(0, 9)}" for key in m_keys) + "}"
        fm_keys = sorted({c.rng.randint(0, 9) for _ in range(c.rng.randint(0, 3))})
        fm = "{" + ", ".join(f"{key}: {c.text()}" for key in fm_keys) + "}"
        tup = f"({c.rng.randint(0, 9)}, {c.text()}, {c.value('double')})"
        ad = f"{{street: {c.text()}, zip: {c.rng.randint(10000, 99999)}, tags: {{'a', 'b'}}}}"
        c.add("collection", f"INSERT INTO colls (k, l, s, m, fl, fs, fm, nested, tup, ad, fad, pts) VALUES ({k}, {l}, {s}, {m}, {l}, {{1, 2, 3}}, {fm}, "
                            f"{{1: ['x', 'y'], 2: []}}, {tup}, {ad}, {ad}, [{{x: 1.5, y: -2.0}}]) USING TIMESTAMP {c.ts()}")
    for _ in range(rows * 3):
        k = c.rng.randint(0, rows - 1)
        op = c.rng.randint(0, 13)
        t = c.ts()
        statements = [
            f"UPDATE colls USING TIMESTAMP {t} SET l = l + [{c.rng.randint(0, 9)}] WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET l = [{c.rng.randint(0, 9)}] + l WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET l = l - [1, 2] WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET l[0] = 42 WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET s = s + {{'new', {c.text(ascii_only=True)}}} WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET s = s - {{'new'}} WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET m['k{c.rng.randint(0, 3)}'] = {c.rng.randint(0, 99)} WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET m = m + {{'z': 26}} WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET m = m - {{'z', 'k1'}} WHERE k = {k}",
            f"DELETE m['k2'] FROM colls USING TIMESTAMP {t} WHERE k = {k}",
            f"DELETE l[1] FROM colls WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET ad.zip = {c.rng.randint(0, 99)} WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET nested[3] = ['n'] WHERE k = {k}",
            f"UPDATE colls USING TIMESTAMP {t} SET tup = (1, 'one', 1.0), fl = [] WHERE k = {k}",
        ]
        c.add("collection", statements[op])
        c.add("collection", f"SELECT * FROM colls WHERE k = {k}")
    for k in range(min(rows, 6)):
        c.add("collection", f"SELECT ad.zip, fad.street, tup, ad FROM colls WHERE k = {k}")
        c.add("collection", f"SELECT m['k1'], s['new'] FROM colls WHERE k = {k}")
        c.add("json", f"SELECT JSON * FROM colls WHERE k = {k}")
        c.add("json", f"SELECT JSON k, l, ad FROM colls WHERE k = {k}")
        c.add("json", f"SELECT k, toJson(m), toJson(fad), toJson(tup), toJson(nested), toJson(pts) FROM colls WHERE k = {k}")
        c.add("writetime", f"SELECT writetime(tup), writetime(fad), ttl(fad) FROM colls WHERE k = {k}")
        c.add("writetime", f"SELECT writetime(fl), writetime(fm) FROM colls WHERE k = {k}")
    c.add("filtering", "SELECT k FROM colls WHERE s CONTAINS 'new' ALLOW FILTERING", unordered=True)
    c.add("filtering", "SELECT k FROM colls WHERE m CONTAINS KEY 'z' ALLOW FILTERING", unordered=True)
    c.add("filtering", "SELECT k FROM colls WHERE m['z'] = 26 ALLOW FILTERING", unordered=True)
    c.add("error", "SELECT writetime(l) FROM colls WHERE k = 1")
    c.add("error", "UPDATE colls SET fl = fl + [1] WHERE k = 1")
    c.add("error", "UPDATE colls SET l[100] = 1 WHERE k = 1")
    c.add("error", "INSERT INTO colls (k, s) VALUES (1, {null})")
    c.add("error", "UPDATE colls SET tup = (1, 'a', 2.0, 4) WHERE k = 1")


def json_statements(c):
    docs = [
        '{"k": 500, "c_int": 5, "c_text": "five", "c_bigint": 123456789012, "c_boolean": true}',
        '{"k": 501, "c_decimal": 1.25, "c_double": 2.5, "c_float": "3.5", "c_varint": 12345678901234567890}',
        '{"k": 502, "c_timestamp": "2020-01-02 03:04:05.678Z", "c_date": "2020-01-02", "c_time": "01:02:03.000000004"}',
        '{"k": 503, "c_uuid": "5f0e4a3c-8a1b-4c7e-9e6e-0123456789ab", "c_inet": "10.0.0.1", "c_blob": "0x0102ff"}',
        '{"k": 504, "c_duration": "1h30m", "c_ascii": "ascii", "c_smallint": -3, "c_tinyint": 7}',
        '{"k": 505}',
        '{"k": "506", "c_int": "42"}',
    ]
    for doc in docs:
        c.add("json", "INSERT INTO scalars JSON '" + doc.replace("'", "''") + "'")
        key = json.loads(doc)["k"]
        c.add("json", f"SELECT JSON * FROM scalars WHERE k = {key}")
        c.add("select", f"SELECT * FROM scalars WHERE k = {key}")
    c.add("json", "INSERT INTO scalars JSON '{\"k\": 500, \"c_text\": \"kept\"}' DEFAULT UNSET")
    c.add("json", "SELECT c_int, c_text FROM scalars WHERE k = 500")
    c.add("json", "INSERT INTO scalars JSON '{\"k\": 500, \"c_text\": \"only\"}' DEFAULT NULL")
    c.add("json", "SELECT c_int, c_text FROM scalars WHERE k = 500")
    c.add("json", "INSERT INTO colls JSON '{\"k\": 700, \"l\": [1, 2], \"s\": [\"b\", \"a\"], \"m\": {\"x\": 1}, \"fm\": {\"3\": \"three\"}, \"tup\": [1, \"t\", 2.5], \"ad\": {\"street\": \"s\", \"zip\": 1}}'")
    c.add("json", "SELECT JSON * FROM colls WHERE k = 700")
    c.add("json", "SELECT * FROM colls WHERE k = 700")
    c.add("json", "SELECT JSON c1 AS \"Renamed\", c2 FROM events WHERE p = 1 AND q = 'a'")
    c.add("json", "SELECT JSON count(*) FROM events")
    c.add("json", "UPDATE scalars SET c_text = fromJson('\"from json\"') WHERE k = 505")
    c.add("json", "SELECT c_text FROM scalars WHERE k = 505")
    c.add("error", "INSERT INTO scalars JSON '{\"k\": 510, \"nosuch\": 1}'")
    c.add("error", "INSERT INTO scalars JSON '{\"k\": 511, \"c_int\": \"abc\"}'")
    c.add("error", "INSERT INTO scalars JSON 'not json'")
    c.add("error", "INSERT INTO scalars JSON '{\"c_int\": 1}'")


def counters(c):
    for _ in range(60):
        k = c.rng.randint(0, 5)
        delta = c.rng.randint(-20, 20)
        col = c.rng.choice(["hits", "misses"])
        sign = "+" if delta >= 0 else "-"
        c.add("counter", f"UPDATE counters SET {col} = {col} {sign} {abs(delta)} WHERE k = {k}")
    for k in range(6):
        c.add("counter", f"SELECT * FROM counters WHERE k = {k}")
    c.add("counter", "SELECT sum(hits), avg(hits), min(misses), max(misses), count(*) FROM counters")
    c.add("counter", "BEGIN COUNTER BATCH UPDATE counters SET hits = hits + 1 WHERE k = 1; UPDATE counters SET misses = misses + 2 WHERE k = 2; APPLY BATCH")
    c.add("counter", "SELECT k, hits, misses FROM counters WHERE k IN (1, 2)")
    c.add("error", "UPDATE counters SET hits = 5 WHERE k = 1")
    c.add("error", "INSERT INTO counters (k, hits) VALUES (1, 1)")
    c.add("error", "UPDATE counters USING TTL 10 SET hits = hits + 1 WHERE k = 1")
    c.add("error", "BEGIN BATCH UPDATE counters SET hits = hits + 1 WHERE k = 1; APPLY BATCH")


def lwt(c):
    names = [f"lock{i}" for i in range(8)]
    for _ in range(160):
        name = c.rng.choice(names)
        owner = c.rng.choice(["w1", "w2", "w3"])
        epoch = c.rng.randint(0, 4)
        op = c.rng.randint(0, 11)
        statements = [
            f"INSERT INTO locks (name, owner, epoch) VALUES ('{name}', '{owner}', {epoch}) IF NOT EXISTS",
            f"UPDATE locks SET owner = '{owner}', epoch = {epoch + 1} WHERE name = '{name}' IF epoch = {epoch}",
            f"UPDATE locks SET owner = '{owner}' WHERE name = '{name}' IF EXISTS",
            f"DELETE FROM locks WHERE name = '{name}' IF owner = '{owner}'",
            f"DELETE FROM locks WHERE name = '{name}' IF EXISTS",
            f"UPDATE locks SET epoch = {epoch} WHERE name = '{name}' IF owner IN ('w1', 'w2')",
            f"UPDATE locks SET epoch = {epoch} WHERE name = '{name}' IF epoch > {epoch} AND owner != 'w3'",
            f"UPDATE locks SET owner = null WHERE name = '{name}' IF owner = null",
            f"UPDATE locks SET tags = tags + {{'{owner}'}} WHERE name = '{name}' IF tags = null",
            f"UPDATE locks SET epoch = 0 WHERE name = '{name}' IF epoch <= {epoch} AND epoch >= 1",
            "UPDATE locks SET owner = 'w1' WHERE name = 'lock0' IF tags CONTAINS 'w1'",
            f"UPDATE locks SET owner = '{owner}' WHERE name = '{name}' IF NOT EXISTS",
        ]
        feature = "error" if op == 11 else "lwt"
        c.add(feature, statements[op])
        c.add("lwt", f"SELECT name, owner, epoch, tags FROM locks WHERE name = '{name}'")
    c.add("lwt", "SELECT * FROM locks", unordered=True)
    for p in range(4):
        c.add("batch", f"BEGIN BATCH INSERT INTO ledger (p, c, v) VALUES ({p}, 1, 'one') IF NOT EXISTS; "
                       f"INSERT INTO ledger (p, c, v) VALUES ({p}, 2, 'two'); APPLY BATCH")
        c.add("batch", f"BEGIN BATCH UPDATE ledger SET total = 3 WHERE p = {p} IF total = null; "
                       f"UPDATE ledger SET v = 'uno' WHERE p = {p} AND c = 1 IF v = 'one'; APPLY BATCH")
        c.add("batch", f"BEGIN BATCH UPDATE ledger SET v = 'x' WHERE p = {p} AND c = 1 IF v = 'nope'; "
                       f"DELETE FROM ledger WHERE p = {p} AND c = 2 IF EXISTS; APPLY BATCH")
        c.add("batch", f"SELECT * FROM ledger WHERE p = {p}")
    c.add("error", "BEGIN BATCH UPDATE ledger SET v = 'x' WHERE p = 1 AND c = 1 IF v = 'uno'; UPDATE ledger SET v = 'y' WHERE p = 2 AND c = 1 IF v = 'uno'; APPLY BATCH")
    c.add("batch", f"BEGIN BATCH USING TIMESTAMP {c.ts()} INSERT INTO series (p, c, v) VALUES (50, 1, 1); INSERT INTO series (p, c, v) VALUES (51, 1, 2); APPLY BATCH")
    c.add("batch", f"BEGIN UNLOGGED BATCH INSERT INTO series (p, c, v) VALUES (50, 2, 3) USING TIMESTAMP {c.ts()}; DELETE FROM series USING TIMESTAMP {c.ts()} WHERE p = 51 AND c = 1; APPLY BATCH")
    c.add("batch", "SELECT p, c, v, writetime(v) FROM series WHERE p IN (50, 51)")


def aggregates(c):
    for p in range(4):
        for cl in range(c.rng.randint(0, 12)):
            cols = [t for t in ORDERED_FOR_MINMAX if c.rng.random() < 0.85]
            names = ", ".join(f"v_{t}" for t in cols)
            values = ", ".join(c.value(t) if t not in ("int", "bigint", "double", "float") else str(c.rng.randint(-1000, 1000)) for t in cols)
            c.add("insert", f"INSERT INTO agg (p, c, {names}) VALUES ({p}, {cl}, {values}) USING TIMESTAMP {c.ts()}")
    for p in list(range(5)) + [None]:
        where = f" WHERE p = {p}" if p is not None else ""
        for t in NUMERIC:
            c.add("aggregate", f"SELECT sum(v_{t}), avg(v_{t}), min(v_{t}), max(v_{t}), count(v_{t}) FROM agg{where}")
        for t in ORDERED_FOR_MINMAX:
            if t not in NUMERIC:
                c.add("aggregate", f"SELECT min(v_{t}), max(v_{t}) FROM agg{where}")
        c.add("aggregate", f"SELECT count(*), count(1) FROM agg{where}")
        c.add("aggregate", f"SELECT p, c, max(v_int) FROM agg{where}")
    c.add("aggregate", "SELECT sum(v_int) FROM agg WHERE p = 1 AND c > 3")
    c.add("aggregate", "SELECT avg(v_decimal), sum(v_decimal) FROM agg WHERE p IN (0, 1)")
    c.add("aggregate", "SELECT max(v_int), min(v_text) FROM agg WHERE v_int > 0 ALLOW FILTERING")
    c.add("group_by", "SELECT p, count(*), sum(v_int), avg(v_double) FROM agg GROUP BY p")
    c.add("group_by", "SELECT p, c, min(v_bigint) FROM agg WHERE p = 1 GROUP BY p, c")
    c.add("json", "SELECT JSON p, sum(v_varint), avg(v_decimal) FROM agg WHERE p = 2")
    c.add("aggregate", "SELECT toJson(max(v_int)) FROM agg WHERE p = 1")
    # Exact cases with known answers.
    c.add("insert", "INSERT INTO agg (p, c, v_decimal, v_varint, v_int, v_tinyint, v_float) VALUES (10, 1, 1.5, 7, 2147483647, 127, 0.1)")
    c.add("insert", "INSERT INTO agg (p, c, v_decimal, v_varint, v_int, v_tinyint, v_float) VALUES (10, 2, 2.25, 8, 1, 1, 0.2)")
    c.add("insert", "INSERT INTO agg (p, c, v_decimal, v_varint, v_int, v_tinyint, v_float) VALUES (10, 3, 0.001, -100000000000000000000000, 2, 1, 0.3)")
    c.add("aggregate", "SELECT sum(v_decimal), avg(v_decimal), sum(v_varint), avg(v_varint) FROM agg WHERE p = 10")
    c.add("aggregate", "SELECT sum(v_int), avg(v_int), sum(v_tinyint), avg(v_tinyint), sum(v_float), avg(v_float) FROM agg WHERE p = 10")
    c.add("aggregate", "SELECT sum(v_decimal), avg(v_varint), avg(v_int) FROM agg WHERE p = 99")


def keyed(c):
    for _ in range(20):
        d, t, u, b = c.value("date"), c.value("timestamp"), c.timeuuid(), c.value("blob")
        c.add("insert", f"INSERT INTO keyed (d, t, u, b, v) VALUES ({d}, {t}, {u}, {b}, {c.rng.randint(0, 9)}) USING TIMESTAMP {c.ts()}")
    c.add("scan", "SELECT * FROM keyed")
    c.add("scan", "SELECT token(d, t), d, t FROM keyed")
    c.add("select", "SELECT d, t, u, toDate(u), toTimestamp(d) FROM keyed LIMIT 5")


def errors(c):
    statements = [
        ("SELECT * FROM nosuchtable", "error"),
        ("SELECT nosuchcolumn FROM scalars", "error"),
        ("SELECT * FROM scalars WHERE c_int = 1", "error"),
        ("SELECT * FROM events WHERE p = 1", "error"),
        ("SELECT * FROM events WHERE c1 = 1", "error"),
        ("SELECT * FROM events WHERE p = 1 AND q = 'a' AND c2 = 'x'", "error"),
        ("SELECT * FROM events ORDER BY c1", "error"),
        ("SELECT * FROM events WHERE p = 1 AND q = 'a' ORDER BY c2", "error"),
        ("SELECT * FROM events WHERE p = 1 AND q = 'a' ORDER BY c1 DESC, c2 DESC", "error"),
        ("SELECT * FROM scalars LIMIT 0", "error"),
        ("SELECT * FROM events PER PARTITION LIMIT -1", "error"),
        ("SELECT DISTINCT c1 FROM events", "error"),
        ("SELECT DISTINCT p FROM events", "error"),
        ("INSERT INTO scalars (k, c_int) VALUES (1, 'text')", "error"),
        ("INSERT INTO scalars (k, c_int) VALUES (1, 2147483648)", "error"),
        ("INSERT INTO scalars (k, c_tinyint) VALUES (1, 200)", "error"),
        ("INSERT INTO scalars (k, c_int) VALUES (1)", "error"),
        ("INSERT INTO scalars (c_int) VALUES (1)", "error"),
        ("INSERT INTO scalars (k, nosuch) VALUES (1, 1)", "error"),
        ("INSERT INTO scalars (k, c_uuid) VALUES (1, 'not-a-uuid')", "error"),
        ("INSERT INTO scalars (k, c_timeuuid) VALUES (1, 5f0e4a3c-8a1b-4c7e-9e6e-0123456789ab)", "error"),
        ("INSERT INTO scalars (k, c_date) VALUES (1, '2020-13-45')", "error"),
        ("INSERT INTO scalars (k, c_inet) VALUES (1, 'not an ip')", "error"),
        ("INSERT INTO scalars (k, c_blob) VALUES (1, 0x123)", "error"),
        ("INSERT INTO scalars (k, c_ascii) VALUES (1, 'é')", "error"),
        ("INSERT INTO scalars (k, c_int) VALUES (1, 1) USING TTL -1", "error"),
        ("INSERT INTO scalars (k, c_int) VALUES (1, 1) USING TTL 630720001", "error"),
        ("UPDATE scalars SET k = 2 WHERE k = 1", "error"),
        ("UPDATE scalars SET c_int = 1", "error"),
        ("UPDATE events SET v = 1 WHERE p = 1 AND q = 'a' AND c1 = 1", "error"),
        ("DELETE FROM events WHERE p = 1", "error"),
        ("DELETE c1 FROM events WHERE p = 1 AND q = 'a'", "error"),
        ("UPDATE scalars SET c_int = c_int + 1 WHERE k = 1", "error"),
        ("SELECT * FROM scalars WHERE k = 1 AND k = 2", "error"),
        ("SELECT * FROM scalars WHERE token(k) > 0 AND k = 1", "token"),
        ("SELECT writetime(k) FROM scalars", "error"),
        ("SELECT ttl(k) FROM scalars", "error"),
        ("SELECT count(*) FROM scalars WHERE k IN (1, 2) ORDER BY k", "error"),
        ("CREATE TABLE scalars (k int PRIMARY KEY)", "error"),
        ("CREATE KEYSPACE differential WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", "error"),
        ("CREATE TABLE bad (k int)", "error"),
        ("CREATE TABLE bad (k counter PRIMARY KEY)", "error"),
        ("CREATE TABLE bad (k int PRIMARY KEY, l list<int> static)", "error"),
        ("CREATE TABLE bad (k int, c int, s int static, PRIMARY KEY (k)) ", "error"),
        ("CREATE TABLE bad (k int PRIMARY KEY, v counter, w int)", "error"),
        ("DROP TABLE nosuchtable", "error"),
        ("USE nosuchkeyspace", "error"),
        ("ALTER TABLE scalars DROP k", "error"),
        ("SELECT * FROM scalars WHERE k = ?", "error"),
        ("BEGIN BATCH SELECT * FROM scalars; APPLY BATCH", "syntax"),
        ("SELEC * FROM scalars", "syntax"),
        ("SELECT * FROM", "syntax"),
        ("SELECT * FROM scalars WHERE", "syntax"),
        ("INSERT INTO scalars (k) VALUES (1", "syntax"),
        ("INSERT INTO scalars (k) VALUE (1)", "syntax"),
        ("UPDATE scalars SET WHERE k = 1", "syntax"),
        ("SELECT * FROM scalars WHERE k = 'unterminated", "syntax"),
        ("CREATE TABLE t (k int PRIMARY KEY", "syntax"),
        ("SELECT * FROM scalars LIMIT", "syntax"),
        ("DELETE FROM scalars WHERE k = 1 IF", "syntax"),
        ("SELECT k FROM scalars ORDER k", "syntax"),
        ("SELECT 'a' 'b' FROM scalars", "syntax"),
    ]
    for cql, kind in statements:
        c.add(kind, cql)


def refusals(c):
    """What the embedded node refuses on purpose (Fixtures/differential/refusals.txt gives the reasons)."""
    c.add("refusal", "CREATE INDEX events_v ON events (v)")
    c.add("refusal", "CREATE MATERIALIZED VIEW events_by_v AS SELECT p, q, c1, c2, v FROM events WHERE v IS NOT NULL AND p IS NOT NULL AND q IS NOT NULL AND c1 IS NOT NULL AND c2 IS NOT NULL PRIMARY KEY (v, p, q, c1, c2)")
    c.add("refusal", "CREATE FUNCTION twice (s int, x int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS 'return s + 2 * x;'")
    c.add("refusal", "CREATE AGGREGATE total (int) SFUNC twice STYPE int")
    c.add("refusal", "CREATE TRIGGER audit ON events USING 'org.example.Audit'")
    c.add("refusal", "CREATE ROLE analyst WITH PASSWORD = 'secret' AND LOGIN = true")
    c.add("refusal", "GRANT SELECT ON KEYSPACE differential TO analyst")
    c.add("refusal", "LIST ROLES")


def generate(seed, scale):
    c = Corpus(seed)
    schema(c)
    scalars(c, rows=12 * scale)
    functions(c, rows=12 * scale)
    clustering(c, partitions=4 * scale)
    series(c)
    collections(c, rows=8 * scale)
    json_statements(c)
    counters(c)
    lwt(c)
    aggregates(c)
    keyed(c)
    errors(c)
    refusals(c)
    c.add("ddl", "TRUNCATE series")
    c.add("select", "SELECT * FROM series")
    c.add("ddl", "ALTER TABLE series ADD extra text")
    c.add("select", "SELECT * FROM series WHERE p = 50")
    c.add("ddl", "DROP TABLE keyed")
    c.add("error", "SELECT * FROM keyed")
    c.add("ddl", f"DROP KEYSPACE {KEYSPACE}")
    return c.items


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seed", type=int)
    parser.add_argument("--scale", type=int, default=3, help="multiplies rows and partitions (default 3)")
    args = parser.parse_args()
    for item in generate(args.seed, args.scale):
        sys.stdout.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
