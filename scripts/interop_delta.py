"""The Delta Lake readers of scripts/interop_check.py.

Each dataset directory is also a Delta table (`<table>/_delta_log/`). These
readers open it as a table, not as files:

* `deltalake` (the Python package of delta-rs): `DeltaTable(dir)
  .to_pyarrow_table()`; and, independently of the writer, its view of the
  log checked against the files read by DuckDB: version 0, the partition
  columns, one `add` per Parquet file of the table and none other,
  `numRecords` and every `nullCount` equal to DuckDB's counts, the
  minimum and maximum of every integer column and of every string column
  whose value has at most 32 characters equal to DuckDB's (absent beyond),
  timestamp bounds within the millisecond that encloses DuckDB's, no bound
  for booleans, and `partition.date` the path's day;
* `polars-delta`: Polars `read_delta`. Its native reader refuses a file
  column with the `arrow.json` extension where Delta says `string` (the
  JSON columns: payloads, structured bodies); those tables are read with
  `use_pyarrow=True`, which is said on a note line.

* `duckdb-delta`: DuckDB's `delta_scan`, where the pip package
  `duckdb-extension-delta` is installed for the running DuckDB version
  (its extension file is loaded by path, offline; the package pins its
  DuckDB: `duckdb==1.5.5 duckdb-extension-delta==1.5.5` at the time of
  writing, so it runs in an environment of its own, not beside the DuckDB
  of scripts/requirements.txt).

Rows are compared with SQLite in primary-key order (a table's rows are
sorted here: a Delta reader need not keep file order).
"""

import datetime
import os

EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
TIMESTAMPS = {"rfc3339", "sql_datetime", "unix_seconds"}
MAX_STRING_CHARS = 32


def _us(d):
    return (d - EPOCH_UTC) // datetime.timedelta(microseconds=1)


def _sorted(rows, columns, pk):
    idx = [[c["name"] for c in columns].index(k) for k in pk]
    return sorted(rows, key=lambda r: tuple(r[i] for i in idx))


def _files_by_path(root, files):
    return {os.path.relpath(f, root).replace(os.sep, "/"): f for f in files}


def _file_stats(con, path, columns):
    """DuckDB's count, and per column its null count, minimum and maximum."""
    exprs = ["count(*)"]
    for c in columns:
        q = '"%s"' % c["name"].replace('"', '""')
        if c["semantic"] in TIMESTAMPS:
            exprs += ["count(*) - count(%s)" % q, "epoch_us(min(%s))" % q, "epoch_us(max(%s))" % q]
        elif c["semantic"] == "flag":
            exprs += ["count(*) - count(%s)" % q, "NULL", "NULL"]
        else:
            cast = "::VARCHAR" if c["semantic"] == "json" else ""
            exprs += ["count(*) - count(%s)" % q, "min(%s%s)" % (q, cast), "max(%s%s)" % (q, cast)]
    row = con.execute("SELECT %s FROM read_parquet('%s')" % (", ".join(exprs), path.replace("'", "''"))).fetchone()
    return row[0], {c["name"]: row[1 + 3 * i : 4 + 3 * i] for i, c in enumerate(columns)}


def _bound_problem(c, which, logged, actual):
    """What is wrong with a logged minimum or maximum, or None."""
    if actual is None or c["semantic"] == "flag":
        return None if logged is None else "%s is %r where no bound is written" % (which, logged)
    if c["semantic"] in TIMESTAMPS:
        if logged is None:
            return "%s is absent" % which
        us = _us(logged)
        ok = us <= actual < us + 1000 if which == "min" else us - 1000 < actual <= us
        return None if ok else "%s %s does not enclose %d us within its millisecond" % (which, logged, actual)
    if isinstance(actual, str) and len(actual) > MAX_STRING_CHARS:
        return None if logged is None else "%s is %r, but strings over %d characters get no bound" % (which, logged, MAX_STRING_CHARS)
    return None if logged == actual else "%s is %r, DuckDB reads %r" % (which, logged, actual)


def check_log(con, dt, pa, root, table, files, columns, part):
    """The problems of a table's log (as deltalake reads it) against its files."""
    problems = []
    say = lambda m: problems.append("deltalake: %s: %s" % (table, m))  # noqa: E731
    if dt.version() != 0:
        say("version %d, expected 0" % dt.version())
    want_parts = [part["column"]] if part else []
    if dt.metadata().partition_columns != want_parts and files:
        say("partition columns %s, expected %s" % (dt.metadata().partition_columns, want_parts))
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    by_path = {a["path"]: a for a in adds}
    on_disk = _files_by_path(root, files)
    if sorted(by_path) != sorted(on_disk):
        say("the log adds %s, the table holds %s" % (sorted(by_path), sorted(on_disk)))
        return problems
    for rel, path in sorted(on_disk.items()):
        a = by_path[rel]
        rows, stats = _file_stats(con, path, columns)
        if a["num_records"] != rows:
            say("%s: numRecords %s, DuckDB counts %d" % (rel, a["num_records"], rows))
        if "partition.date" in a:
            day = rel.split("/")[0][len("date=") :] if rel.startswith("date=") else None
            if (str(a["partition.date"]) if a["partition.date"] is not None else None) != day:
                say("%s: partition.date %s, the path says %s" % (rel, a["partition.date"], day))
        for c in columns:
            nulls, lo, hi = stats[c["name"]]
            if a.get("null_count." + c["name"]) != nulls:
                say("%s: nullCount.%s %s, DuckDB counts %d" % (rel, c["name"], a.get("null_count." + c["name"]), nulls))
            for which, actual in (("min", lo), ("max", hi)):
                p = _bound_problem(c, which, a.get("%s.%s" % (which, c["name"])), actual)
                if p:
                    say("%s: %s.%s" % (rel, c["name"], p))
    return problems


class DeltaLakeReader:
    name = "deltalake"
    json_parsed = False
    table_level = True

    def __init__(self):
        import deltalake
        import duckdb
        import pyarrow

        self.dl, self.duckdb, self.pa = deltalake, duckdb, pyarrow
        self.version = deltalake.__version__

    def table_rows(self, root, columns, pk):
        t = self.dl.DeltaTable(root).to_pyarrow_table(columns=[c["name"] for c in columns])
        cols = []
        for c in columns:
            a = t.column(c["name"])
            if self.pa.types.is_timestamp(a.type):
                a = a.cast(self.pa.int64())
            cols.append(a.to_pylist())
        return iter(_sorted(zip(*cols), columns, pk))

    def settings(self, parquet_dir, table, files, columns, part):
        root = os.path.join(parquet_dir, table)
        con = self.duckdb.connect()
        try:
            return check_log(con, self.dl.DeltaTable(root), self.pa, root, table, files, columns, part)
        finally:
            con.close()


class PolarsDeltaReader:
    name = "polars-delta"
    json_parsed = False
    table_level = True

    def __init__(self):
        import polars

        self.pl = polars
        self.version = polars.__version__

    def _read(self, root, table):
        try:
            return self.pl.read_delta(root)
        except Exception as e:  # the native reader and arrow.json: see the module docs
            if "arrow.json" not in str(e):
                raise
            print("    note: polars-delta: %s: native read_delta refuses the arrow.json columns; read with use_pyarrow=True" % table)
            return self.pl.read_delta(root, use_pyarrow=True)

    def table_rows(self, root, columns, pk):
        pl = self.pl
        df = self._read(root, os.path.basename(root))
        exprs = []
        for c in columns:
            e = pl.col(c["name"])
            if c["semantic"] == "json" and isinstance(df.schema[c["name"]], pl.Extension):
                e = e.ext.storage()
            elif c["semantic"] in TIMESTAMPS:
                e = e.dt.epoch("us")
            exprs.append(e)
        return iter(_sorted(df.select(exprs).rows(), columns, pk))

    def settings(self, parquet_dir, table, files, columns, part):
        if not part:
            return []
        df = self.pl.read_delta(os.path.join(parquet_dir, table), columns=[part["column"]])
        t = df.schema[part["column"]]
        return [] if t == self.pl.Date else ["polars-delta: %s: partition %s reads as %s (Delta: date)" % (table, part["column"], t)]


class DuckDBDeltaReader:
    name = "duckdb-delta"
    json_parsed = False
    table_level = True

    def __init__(self):
        import duckdb
        import duckdb_extension_delta

        ext = os.path.join(os.path.dirname(duckdb_extension_delta.__file__), "extensions", "v" + duckdb.__version__, "delta.duckdb_extension")
        if not os.path.isfile(ext):
            raise ImportError("duckdb-extension-delta has no extension for duckdb %s" % duckdb.__version__)
        self.con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
        self.con.execute("LOAD '%s'" % ext.replace("'", "''"))
        from importlib.metadata import version

        self.version = "%s (duckdb %s)" % (version("duckdb-extension-delta"), duckdb.__version__)

    def table_rows(self, root, columns, pk):
        exprs = []
        for c in columns:
            q = '"%s"' % c["name"].replace('"', '""')
            exprs.append("epoch_us(%s)" % q if c["semantic"] in TIMESTAMPS else q)
        rows = self.con.execute("SELECT %s FROM delta_scan('%s')" % (", ".join(exprs), root.replace("'", "''"))).fetchall()
        return iter(_sorted(rows, columns, pk))

    def settings(self, parquet_dir, table, files, columns, part):
        if not part:
            return []
        root = os.path.join(parquet_dir, table).replace("'", "''")
        t = dict((r[0], r[1]) for r in self.con.execute("DESCRIBE SELECT * FROM delta_scan('%s')" % root).fetchall()).get(part["column"])
        return [] if t == "DATE" else ["duckdb-delta: %s: partition %s reads as %s (Delta: date)" % (table, part["column"], t)]
