"""Drives a cqlnode with the DataStax Python driver at its DEFAULT settings and checks what it sees.

Usage: driver_interop.py HOST PORT [USER:PASS]
Exits 0 when every check passes; otherwise prints the failed check and exits 1.
Each check prints one line `ok <name>` so the Swift test can report progress.
"""
import sys
import time
import uuid

from cassandra import InvalidRequest, AlreadyExists, Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster
from cassandra.query import BatchStatement, SimpleStatement


def check(name, condition, detail=""):
    if not condition:
        print(f"FAILED {name}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    kwargs = {}
    if len(sys.argv) > 3:
        user, password = sys.argv[3].split(":", 1)
        kwargs["auth_provider"] = PlainTextAuthProvider(username=user, password=password)
    # Default settings for everything the protocol depends on (version negotiation from 66 down,
    # compression, load balancing, metadata); only the timeouts are raised: the defaults (5 s to
    # connect, 2 s for the control connection's metadata queries) can pass on a shared 2-core CI
    # machine while the other suites run in the node's process.
    cluster = Cluster([host], port=port, connect_timeout=30, control_connection_timeout=30, **kwargs)
    session = cluster.connect()
    check("negotiated protocol v4", cluster.protocol_version == 4, cluster.protocol_version)

    local = session.execute("SELECT * FROM system.local WHERE key='local'").one()
    check("system.local release_version 4.1", local.release_version.startswith("4.1"), local.release_version)
    check("system.local partitioner", local.partitioner == "org.apache.cassandra.dht.Murmur3Partitioner", local.partitioner)
    check("system.local data_center", local.data_center == "datacenter1", local.data_center)
    check("system.local tokens", len(local.tokens) >= 1, local.tokens)
    check("system.peers_v2 empty", list(session.execute("SELECT * FROM system.peers_v2")) == [])
    check("one host in metadata", len(cluster.metadata.all_hosts()) == 1, cluster.metadata.all_hosts())
    check("system keyspaces in metadata",
          {"system", "system_schema", "system_auth"} <= set(cluster.metadata.keyspaces), sorted(cluster.metadata.keyspaces))
    check("virtual keyspace flagged", cluster.metadata.keyspaces["system_virtual_schema"].virtual)
    check("token map built", cluster.metadata.token_map is not None and len(cluster.metadata.token_map.ring) >= 1)

    ks = "interop_" + uuid.uuid4().hex[:8]
    session.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    try:
        session.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
        check("duplicate keyspace refused", False)
    except AlreadyExists as error:
        check("duplicate keyspace refused as AlreadyExists", error.keyspace == ks, error)
    try:
        session.execute("CREATE KEYSPACE bad WITH replication = {'class': 'SimpleStrategy'}")
        check("missing replication_factor refused", False)
    except Exception as error:  # ConfigurationException
        check("missing replication_factor refused", "replication_factor" in str(error), error)
    try:
        session.execute("DROP KEYSPACE system_schema")
        check("system keyspace protected", False)
    except Unauthorized as error:
        check("system keyspace protected", "not user-modifiable" in str(error), error)

    session.set_keyspace(ks)
    session.execute("CREATE TYPE address (street text, zip int)")
    session.execute("""CREATE TABLE users (id uuid PRIMARY KEY, name text, home frozen<address>,
                       tags set<text>, scores list<int>, attrs map<text, int>)""")
    session.execute("CREATE TABLE events (p int, c int, v text, s text static, PRIMARY KEY (p, c)) WITH CLUSTERING ORDER BY (c DESC)")
    session.execute("CREATE TABLE hits (page text PRIMARY KEY, n counter)")
    session.execute("CREATE TABLE locks (name text PRIMARY KEY, owner text, epoch int)")

    meta = cluster.metadata.keyspaces[ks]
    check("metadata sees the keyspace", meta.replication_strategy.replication_factor == 1, meta.replication_strategy)
    check("metadata sees the UDT", list(meta.user_types["address"].field_names) == ["street", "zip"], meta.user_types)
    users = meta.tables["users"]
    check("metadata partition key", [c.name for c in users.partition_key] == ["id"], users.partition_key)
    check("metadata column types", users.columns["home"].cql_type == "frozen<address>"
          and users.columns["tags"].cql_type == "set<text>", {c: users.columns[c].cql_type for c in users.columns})
    events = meta.tables["events"]
    check("metadata clustering order", events.clustering_key[0].is_reversed and events.columns["s"].is_static,
          events.export_as_string())
    check("metadata export parses back", "CREATE TABLE %s.events" % ks in events.export_as_string())

    session.execute("ALTER TABLE users ADD email text")
    check("ALTER TABLE ADD reaches metadata", "email" in cluster.metadata.keyspaces[ks].tables["users"].columns)
    session.execute("ALTER TABLE users DROP email")
    check("ALTER TABLE DROP reaches metadata", "email" not in cluster.metadata.keyspaces[ks].tables["users"].columns)
    session.execute("ALTER TABLE users WITH comment = 'people' AND default_time_to_live = 0")
    check("ALTER TABLE WITH reaches metadata",
          cluster.metadata.keyspaces[ks].tables["users"].options.get("comment") == "people",
          cluster.metadata.keyspaces[ks].tables["users"].options)

    # Prepared statements, UDTs and collections.
    insert = session.prepare("INSERT INTO users (id, name, home, tags, scores, attrs) VALUES (?, ?, ?, ?, ?, ?)")
    uid = uuid.uuid4()
    session.execute(insert, (uid, "ada", ("Main", 12345), {"a", "b"}, [3, 1, 2], {"x": 1}))
    row = session.execute("SELECT * FROM users WHERE id = %s", (uid,)).one()
    check("UDT round trip", row.home.street == "Main" and row.home.zip == 12345, row)
    check("collections round trip", row.tags == {"a", "b"} and row.scores == [3, 1, 2] and row.attrs == {"x": 1}, row)
    session.execute("UPDATE users SET tags = tags + {'c'}, scores = scores + [4], attrs['y'] = 2 WHERE id = %s", (uid,))
    row = session.execute("SELECT tags, scores, attrs FROM users WHERE id = %s", (uid,)).one()
    check("collection updates", row.tags == {"a", "b", "c"} and row.scores == [3, 1, 2, 4] and row.attrs == {"x": 1, "y": 2}, row)

    # Paging with fetch_size.
    put = session.prepare("INSERT INTO events (p, c, v) VALUES (?, ?, ?)")
    for c in range(25):
        session.execute(put, (1, c, "v%d" % c))
    statement = SimpleStatement("SELECT c FROM events WHERE p = 1", fetch_size=7)
    result = session.execute(statement)
    check("first page is one fetch", len(result.current_rows) == 7 and result.has_more_pages, len(result.current_rows))
    values = [r.c for r in result]
    check("paging reads every row in clustering order", values == list(range(24, -1, -1)), values)
    prepared_select = session.prepare("SELECT c FROM events WHERE p = ?")
    prepared_select.fetch_size = 10
    check("prepared paging", [r.c for r in session.execute(prepared_select, (1,))] == list(range(24, -1, -1)))

    # Lightweight transactions.
    applied = session.execute("INSERT INTO locks (name, owner, epoch) VALUES ('l', 'a', 1) IF NOT EXISTS")
    check("LWT insert applied", applied.was_applied, applied.one())
    refused = session.execute("INSERT INTO locks (name, owner, epoch) VALUES ('l', 'b', 1) IF NOT EXISTS")
    check("LWT insert not applied returns the row", not refused.was_applied and refused.one().owner == "a", refused.one())
    cas = session.prepare("UPDATE locks SET owner = ?, epoch = ? WHERE name = ? IF epoch = ?")
    check("LWT conditional update applied", session.execute(cas, ("b", 2, "l", 1)).was_applied)
    stale = session.execute(cas, ("c", 3, "l", 1))
    check("LWT conditional update refused with current value", not stale.was_applied and stale.one().epoch == 2, stale.one())

    # Batches.
    batch = BatchStatement()
    batch.add(put, (2, 1, "a"))
    batch.add(SimpleStatement("INSERT INTO events (p, c, v) VALUES (2, 2, 'b')"))
    session.execute(batch)
    check("logged batch", [r.c for r in session.execute("SELECT c FROM events WHERE p = 2")] == [2, 1])
    conditional = BatchStatement()
    conditional.add(SimpleStatement("UPDATE locks SET owner = 'd' WHERE name = 'l' IF epoch = 2"))
    conditional.add(SimpleStatement("UPDATE locks SET epoch = 3 WHERE name = 'l'"))
    check("conditional batch applied", session.execute(conditional).was_applied)

    # Counters.
    for _ in range(3):
        session.execute("UPDATE hits SET n = n + 1 WHERE page = 'home'")
    check("counter increments", session.execute("SELECT n FROM hits WHERE page = 'home'").one().n == 3)

    # TTL expiry.
    session.execute("INSERT INTO locks (name, owner) VALUES ('ttl', 'x') USING TTL 2")
    check("TTL row visible before expiry", session.execute("SELECT owner FROM locks WHERE name = 'ttl'").one() is not None)
    time.sleep(2.2)
    check("TTL row gone after expiry", session.execute("SELECT owner FROM locks WHERE name = 'ttl'").one() is None)

    # Errors as Cassandra words them.
    try:
        session.execute("SELECT * FROM nosuchtable")
        check("unknown table refused", False)
    except InvalidRequest as error:
        check("unknown table refused", "table nosuchtable does not exist" in str(error), error)

    # Server-side DESCRIBE, as cqlsh 6 uses it.
    described = session.execute("DESCRIBE TABLE events").one()
    check("DESCRIBE TABLE", described.create_statement.startswith("CREATE TABLE %s.events (" % ks), described)

    session.execute("TRUNCATE events")
    check("TRUNCATE", session.execute("SELECT * FROM events").one() is None)
    session.execute("DROP TABLE events")
    check("DROP TABLE reaches metadata", "events" not in cluster.metadata.keyspaces[ks].tables)
    session.execute("DROP KEYSPACE %s" % ks)
    check("DROP KEYSPACE reaches metadata", ks not in cluster.metadata.keyspaces)
    cluster.shutdown()
    print("ALL OK", flush=True)


if __name__ == "__main__":
    main()
