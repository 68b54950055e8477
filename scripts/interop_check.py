#!/usr/bin/env python3
"""Reads a fixture's Parquet snapshots with independent readers (DuckDB, and
pyarrow, pandas, Polars and fastparquet where installed) and proves them
equal to the fixture's SQLite database, value for value.

    python3 scripts/interop_check.py FIXTURES_DIR [--db PATH] [--readme README.md] [--readers a,b]

FIXTURES_DIR holds `parquet/` (one dataset per table) and
`thrum-fixture.tar.zst` (whose `.thrum/var/messages.db` is the reference;
`--db` points at a database file instead). For every table it

* checks that the datasets and the SQLite tables are the same set, and that
  each dataset's columns match the SQLite table (names, order, and DuckDB
  types consistent with the documented mapping);
* reads every file with DuckDB (`read_parquet`, `hive_partitioning` for the
  `date=` partitioned tables), checks each row's `date` partition against its
  timestamp, inverts the documented mapping (timestamps back to their exact
  SQLite text, booleans to 0/1, null to '' where `thrum.empty_as_null`), and
* compares every value, row by row in primary-key order, with the SQLite
  rows, and a SHA-256 over a canonical rendering of all rows (JSON arrays);
  on a mismatch it names the reader, the table, the first differing keys
  and the column;
* does the same with every other reader installed (`--readers` picks a
  subset): pyarrow (`ParquetFile.iter_batches`, JSON columns through the
  `arrow.json` extension's `.storage`), pandas (`read_parquet`,
  `dtype_backend="numpy_nullable"`), Polars (`read_parquet`, JSON through
  `.ext.storage()`), fastparquet (`ParquetFile.iter_row_groups`; it
  parses JSON columns, so those are compared parsed, JSON `null` as None)
  and Spark (PySpark in local mode, `spark.sql.session.timeZone=UTC`,
  timestamps through `unix_micros`; needs `pyspark` and a Java runtime,
  which scripts/requirements.txt does not install),
  and checks the reader settings documented in parquet-sink/README.md:
  timestamp types, the `arrow.json` extension, and the `date` partition
  (a string to pyarrow unless the partitioning schema says `date32`, then
  checked against the UTC day; categorical of strings to pandas; `Date` to
  Polars, checked against the UTC day).

Every dataset is also a Delta table: the `deltalake` and `polars-delta`
readers (scripts/interop_delta.py) open it as one, compare every value the
same way, and check its log against the files as DuckDB reads them.
FIXTURES_DIR may also be a committed lake (`testgen --lake DIR` slices,
then `testgen commit DIR`), with `--db`.

`--readme` additionally runs every ```sql block of that Markdown file (with
FIXTURES_DIR as the working directory) and fails if one errors or returns no
row.

Exit status: 0 all equal, 1 a mismatch (a table counts once, however many
readers disagree), 2 unusable input. Needs `duckdb`; the other readers are
optional (`pip install -r scripts/requirements.txt` pins all but Spark:
`pip install pyspark==3.5.3` beside a Java 17 runtime adds it), and
either the `zstd` command or the `zstandard` package to read the archive.
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile

from interop_delta import DeltaLakeReader, DuckDBDeltaReader, PolarsDeltaReader

try:
    import duckdb
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("interop_check: the duckdb module is missing: pip install duckdb\n")
    sys.exit(2)

DB_MEMBER = ".thrum/var/messages.db"
ARCHIVE = "thrum-fixture.tar.zst"
FETCH = 10_000
US_PER_DAY = 86_400_000_000

# DuckDB type names a semantic may be read as.
DUCK_TYPES = {
    "text": {"VARCHAR"},
    "json": {"JSON", "VARCHAR"},
    "int": {"BIGINT"},
    "flag": {"BOOLEAN"},
    "rfc3339": {"TIMESTAMP WITH TIME ZONE"},
    "sql_datetime": {"TIMESTAMP WITH TIME ZONE"},
    "unix_seconds": {"TIMESTAMP WITH TIME ZONE"},
}
TIMESTAMPS = {"rfc3339", "sql_datetime", "unix_seconds"}
EPOCH = datetime.datetime(1970, 1, 1)


class Unusable(Exception):
    """Input that cannot be checked at all (exit 2)."""


def qi(name):
    """Quotes an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def ql(s):
    """Quotes an SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def rfc3339_nano(us):
    """Go's time.RFC3339Nano of a UTC instant (trailing zeros trimmed)."""
    secs, frac = divmod(us, 1_000_000)
    s = (EPOCH + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += "." + ("%06d" % frac).rstrip("0")
    return s + "Z"


def sql_datetime(us):
    return (EPOCH + datetime.timedelta(microseconds=us)).strftime("%Y-%m-%d %H:%M:%S")


def invert(col, v):
    """The SQLite value a DuckDB value (timestamps as epoch µs) stands for."""
    sem = col["semantic"]
    if v is None:
        return "" if col["empty_as_null"] else None
    if sem == "flag":
        return 1 if v else 0
    if sem == "rfc3339":
        return rfc3339_nano(v)
    if sem == "sql_datetime":
        return sql_datetime(v)
    if sem == "unix_seconds":
        return v // 1_000_000 if v % 1_000_000 == 0 else "<%d us: not whole seconds>" % v
    return v


def canonical(row):
    return (json.dumps(list(row), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def extract_db(archive, dest_dir):
    """Streams the archive and writes its database member to dest_dir."""
    dest = os.path.join(dest_dir, "messages.db")
    proc = None
    if shutil.which("zstd"):
        proc = subprocess.Popen(["zstd", "-dc", "--", archive], stdout=subprocess.PIPE)
        stream = proc.stdout
    else:
        try:
            import zstandard
        except ImportError:
            raise Unusable("need the zstd command or the zstandard package to read " + archive)
        stream = zstandard.ZstdDecompressor().stream_reader(open(archive, "rb"))
    found = False
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for m in tar:
                name = m.name
                while name.startswith("./"):
                    name = name[2:]
                if name == DB_MEMBER:
                    if not m.isfile():
                        raise Unusable("%s in %s is not a regular file" % (m.name, archive))
                    src = tar.extractfile(m)
                    with open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                    found = True
                    break
    except tarfile.TarError as e:
        raise Unusable("cannot read %s: %s" % (archive, e))
    finally:
        if proc is not None:
            proc.stdout.close()
            proc.wait()
    if not found:
        raise Unusable("%s holds no %s" % (archive, DB_MEMBER))
    return dest


def kv_metadata(con, path):
    rows = con.execute("SELECT decode(key), decode(value) FROM parquet_kv_metadata(%s)" % ql(path)).fetchall()
    return {k: v for k, v in rows}


def dataset_files(parquet_dir, table):
    files = []
    for root, dirs, names in os.walk(os.path.join(parquet_dir, table)):
        # `_delta_log/` (and any `_`-prefixed path): skipped, as Parquet readers do
        dirs[:] = sorted(d for d in dirs if not d.startswith("_"))
        for n in sorted(names):
            if n.endswith(".parquet"):
                files.append(os.path.join(root, n))
            else:
                raise Unusable("unexpected file %s" % os.path.join(root, n))
    return files


class TableResult:
    def __init__(self, name):
        self.name = name
        self.parquet_rows = 0
        self.sqlite_rows = 0
        self.parquet_digest = hashlib.sha256()
        self.sqlite_digest = hashlib.sha256()
        self.problems = []

    @property
    def ok(self):
        return not self.problems and self.parquet_rows == self.sqlite_rows and self.parquet_digest.digest() == self.sqlite_digest.digest()


def check_table(con, lite, parquet_dir, table):
    res = TableResult(table)
    files = dataset_files(parquet_dir, table)
    if not files:
        res.problems.append("no Parquet file")
        return res
    md = kv_metadata(con, files[0])
    if md.get("thrum.table") != table:
        res.problems.append("%s: thrum.table metadata is %r" % (files[0], md.get("thrum.table")))
        return res
    columns = json.loads(md["thrum.columns"])
    pk = json.loads(md["thrum.primary_key"])
    info = lite.execute("PRAGMA table_info(%s)" % qi(table)).fetchall()
    sqlite_cols = [(r[1], r[2].upper(), bool(r[3])) for r in info]
    meta_cols = [(c["name"], c["sqlite_type"], c["sqlite_not_null"]) for c in columns]
    if [c[:2] for c in sqlite_cols] != [c[:2] for c in meta_cols]:
        res.problems.append("columns differ: sqlite %s, parquet %s" % (sqlite_cols, meta_cols))
        return res
    partitioned = any(os.sep + "date=" in f for f in files)
    src = "read_parquet([%s], hive_partitioning = %s)" % (", ".join(ql(f) for f in files), "true" if partitioned else "false")
    described = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM " + src).fetchall()}
    names = [c["name"] for c in columns]
    extra_cols = sorted(set(described) - set(names) - ({"date"} if partitioned else set()))
    if extra_cols:
        res.problems.append("unexpected columns in Parquet: %s" % extra_cols)
    for c in columns:
        t = described.get(c["name"])
        if t not in DUCK_TYPES.get(c["semantic"], set()):
            res.problems.append("column %s: DuckDB reads %s, semantic %s" % (c["name"], t, c["semantic"]))
    if res.problems:
        return res
    if partitioned:
        part = json.loads(md["thrum.partitioning"])
        if described.get(part["column"]) != "DATE":
            res.problems.append("partition column %s reads as %s" % (part["column"], described.get(part["column"])))
            return res
        bad = con.execute(
            "SELECT count(*), min(%s)::VARCHAR FROM %s WHERE (%s - DATE '1970-01-01') <> epoch_us(%s) // %d"
            % (qi(part["source"]), src, qi(part["column"]), qi(part["source"]), US_PER_DAY)
        ).fetchone()
        if bad[0]:
            res.problems.append("%d rows under a %s= partition that is not the UTC day of %s (first %s)" % (bad[0], part["column"], part["source"], bad[1]))
    exprs = []
    for c in columns:
        if c["semantic"] in TIMESTAMPS:
            exprs.append("epoch_us(%s)" % qi(c["name"]))
        elif c["semantic"] == "json":
            exprs.append("%s::VARCHAR" % qi(c["name"]))
        else:
            exprs.append(qi(c["name"]))
    names = [c["name"] for c in columns]
    order = ", ".join(qi(k) for k in pk)
    # No ORDER BY on the Parquet side: DuckDB keeps file order (files are
    # listed in path order, i.e. day order), so this also proves that the
    # files are sorted by primary key.
    pq = con.execute("SELECT %s FROM %s" % (", ".join(exprs), src))
    lq = lite.execute("SELECT %s FROM %s ORDER BY %s" % (", ".join(qi(n) for n in names), qi(table), order))
    compare(res, "duckdb", columns, pk, stream(pq), stream(lq), json_parsed=False)
    return res


def stream(cur):
    while True:
        batch = cur.fetchmany(FETCH)
        if not batch:
            return
        yield from batch


def canon_json(v):
    """One rendering of a parsed JSON value (for readers that parse JSON)."""
    return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def compare(res, reader, columns, pk, p_rows, s_rows, json_parsed):
    """Merges the reader's rows (raw: timestamps as epoch µs) with SQLite's
    rows in key order and compares every value after inverting the mapping;
    counts and digests go into res, differences into res.problems, each
    naming the reader, the table, the key and the column."""
    names = [c["name"] for c in columns]
    key_idx = [names.index(k) for k in pk]
    json_idx = [j for j, c in enumerate(columns) if c["semantic"] == "json"] if json_parsed else []

    def key(row):
        # SQLite's order: NULL < numbers < TEXT (by bytes) < BLOB.
        out = []
        for k in key_idx:
            v = row[k]
            if v is None:
                out.append((0, 0))
            elif isinstance(v, (int, float)):
                out.append((1, v))
            elif isinstance(v, str):
                out.append((2, v.encode("utf-8")))
            else:
                out.append((3, bytes(v)))
        return tuple(out)

    def show(row):
        return ", ".join("%s=%r" % (pk[j], row[k]) for j, k in enumerate(key_idx))

    def parquet_row(r):
        row = [invert(c, v) for c, v in zip(columns, r)]
        for j in json_idx:
            if row[j] is not None:
                row[j] = canon_json(row[j])
        return tuple(row)

    def sqlite_row(r):
        if not json_idx:
            return tuple(r)
        row = list(r)
        for j in json_idx:
            if row[j] is not None:
                try:
                    parsed = json.loads(row[j])
                except ValueError:
                    continue
                # A parsing reader returns JSON `null` as None, like SQL NULL.
                row[j] = None if parsed is None else canon_json(parsed)
        return tuple(row)

    p_it = (parquet_row(r) for r in p_rows)
    s_it = (sqlite_row(r) for r in s_rows)
    p, s = next(p_it, None), next(s_it, None)
    prev = None
    missing = extra = differing = 0
    first = []
    where = "%s: %s" % (reader, res.name)
    while p is not None or s is not None:
        kp = key(p) if p is not None else None
        ks = key(s) if s is not None else None
        if kp is not None and kp != prev:
            if prev is not None and kp < prev:
                res.problems.append("%s: Parquet rows not sorted by primary key: [%s] after a greater key" % (where, show(p)))
            prev = kp
        if s is None or (p is not None and kp < ks):
            extra += 1
            first.append("%s: only in parquet: [%s]" % (where, show(p)))
            res.parquet_rows += 1
            res.parquet_digest.update(canonical(p))
            p = next(p_it, None)
        elif p is None or ks < kp:
            missing += 1
            first.append("%s: only in sqlite: [%s]" % (where, show(s)))
            res.sqlite_rows += 1
            res.sqlite_digest.update(canonical(s))
            s = next(s_it, None)
        else:
            if p != s:
                differing += 1
                for j in range(len(names)):
                    if p[j] != s[j]:
                        first.append("%s [%s] column %s: parquet %r, sqlite %r" % (where, show(s), names[j], p[j], s[j]))
            res.parquet_rows += 1
            res.parquet_digest.update(canonical(p))
            res.sqlite_rows += 1
            res.sqlite_digest.update(canonical(s))
            p, s = next(p_it, None), next(s_it, None)
    if missing or extra or differing:
        res.problems.append(
            "%s: %d rows only in sqlite, %d only in parquet, %d differing; first: %s" % (where, missing, extra, differing, "; ".join(first[:3]))
        )


# ---------------------------------------------------------------------------
# Further independent readers. Each yields the rows of a dataset's files, in
# file order, as raw values (timestamps as epoch microseconds, flags as bool,
# text and JSON as str) and checks the reader settings that matter for it.
# A reader whose module is not installed is skipped (and said so).


def _pandas_values(series, sem):
    """Python values of one pandas column (fastparquet and pandas readers)."""
    import pandas as pd

    if sem in TIMESTAMPS:
        mask = series.isna().to_numpy()
        if getattr(series.dtype, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        us = series.dt.as_unit("us").to_numpy(dtype="datetime64[us]").astype("int64").tolist()
        return [None if m else v for m, v in zip(mask, us)]
    out = []
    for v in series.tolist():
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
            out.append(None)
        else:
            out.append(v)
    return out


class PyArrowReader:
    name = "pyarrow"
    json_parsed = False

    def __init__(self):
        import pyarrow
        import pyarrow.parquet

        self.pa, self.pq = pyarrow, pyarrow.parquet
        self.version = pyarrow.__version__

    def rows(self, files, columns):
        pa = self.pa
        for f in files:
            for batch in self.pq.ParquetFile(f).iter_batches(batch_size=FETCH):
                cols = []
                for c in columns:
                    a = batch.column(c["name"])
                    if isinstance(a.type, pa.BaseExtensionType):
                        # arrow.json: string functions need the storage array.
                        a = a.storage
                    if pa.types.is_timestamp(a.type):
                        a = a.cast(pa.int64())
                    cols.append(a.to_pylist())
                yield from zip(*cols)

    def settings(self, parquet_dir, table, files, columns, part):
        pa = self.pa
        import pyarrow.dataset as ds

        problems = []
        schema = self.pq.ParquetFile(files[0]).schema_arrow
        for c in columns:
            t = schema.field(c["name"]).type
            if c["semantic"] == "json" and not (isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.json" and t.storage_type == pa.string()):
                problems.append("pyarrow: %s.%s reads as %s, not extension<arrow.json> over string" % (table, c["name"], t))
            if c["semantic"] in TIMESTAMPS and t != pa.timestamp("us", tz="UTC"):
                problems.append("pyarrow: %s.%s reads as %s" % (table, c["name"], t))
        if part:
            root = os.path.join(parquet_dir, table)
            plain = ds.dataset(root, format="parquet", partitioning="hive").schema.field(part["column"]).type
            if plain != pa.string():
                problems.append("pyarrow: hive partition %s reads as %s without a schema (documented: string)" % (part["column"], plain))
            typed = ds.partitioning(pa.schema([(part["column"], pa.date32())]), flavor="hive")
            t = ds.dataset(root, format="parquet", partitioning=typed).to_table(columns=[part["column"], part["source"]])
            days = t.column(part["column"]).cast(pa.int32()).to_pylist()
            us = t.column(part["source"]).cast(pa.int64()).to_pylist()
            bad = sum(1 for d, u in zip(days, us) if d != u // US_PER_DAY)
            if bad:
                problems.append("pyarrow: %d rows under a %s= partition that is not the UTC day of %s" % (bad, part["column"], part["source"]))
        return problems


class PandasReader:
    name = "pandas"
    json_parsed = False

    def __init__(self):
        import pandas

        self.pd = pandas
        self.version = pandas.__version__

    def rows(self, files, columns):
        for f in files:
            # numpy_nullable: integers with nulls stay Int64 (the default
            # turns them into float64, exact only up to 2**53).
            df = self.pd.read_parquet(f, dtype_backend="numpy_nullable")
            yield from zip(*[_pandas_values(df[c["name"]], c["semantic"]) for c in columns])

    def settings(self, parquet_dir, table, files, columns, part):
        problems = []
        df = self.pd.read_parquet(files[0], dtype_backend="numpy_nullable")
        for c in columns:
            t = df[c["name"]].dtype
            if c["semantic"] in TIMESTAMPS and str(t) != "datetime64[us, UTC]":
                problems.append("pandas: %s.%s reads as %s" % (table, c["name"], t))
        if part:
            col = self.pd.read_parquet(os.path.join(parquet_dir, table), columns=[part["column"]])[part["column"]]
            cats = col.cat.categories if isinstance(col.dtype, self.pd.CategoricalDtype) else None
            if cats is None or not all(isinstance(v, str) for v in cats):
                problems.append("pandas: partition %s reads as %s (documented: categorical of str)" % (part["column"], col.dtype))
        return problems


class PolarsReader:
    name = "polars"
    json_parsed = False

    def __init__(self):
        import polars

        self.pl = polars
        self.version = polars.__version__

    def _expr(self, c, dtype):
        pl = self.pl
        e = pl.col(c["name"])
        if c["semantic"] == "json":
            # arrow.json is an extension type: .str needs .ext.storage().
            return e.ext.storage() if isinstance(dtype, pl.Extension) else e
        if c["semantic"] in TIMESTAMPS:
            return e.dt.epoch("us")
        return e

    def rows(self, files, columns):
        for f in files:
            df = self.pl.read_parquet(f)
            yield from df.select([self._expr(c, df.schema[c["name"]]) for c in columns]).rows()

    def settings(self, parquet_dir, table, files, columns, part):
        pl = self.pl
        problems = []
        schema = pl.read_parquet_schema(files[0])
        for c in columns:
            t = schema[c["name"]]
            if c["semantic"] == "json" and not isinstance(t, pl.Extension):
                problems.append("polars: %s.%s reads as %s, not Extension(arrow.json)" % (table, c["name"], t))
            if c["semantic"] in TIMESTAMPS and t != pl.Datetime("us", "UTC"):
                problems.append("polars: %s.%s reads as %s" % (table, c["name"], t))
        if part:
            glob = os.path.join(parquet_dir, table, "**", "*.parquet")
            df = pl.read_parquet(glob, hive_partitioning=True, columns=[part["column"], part["source"]])
            if df.schema[part["column"]] != pl.Date:
                problems.append("polars: partition %s reads as %s (documented: Date)" % (part["column"], df.schema[part["column"]]))
            else:
                bad = df.filter(pl.col(part["column"]).cast(pl.Int64) != pl.col(part["source"]).dt.epoch("us") // US_PER_DAY).height
                if bad:
                    problems.append("polars: %d rows under a %s= partition that is not the UTC day of %s" % (bad, part["column"], part["source"]))
        return problems


class FastparquetReader:
    name = "fastparquet"
    # fastparquet decodes JSON columns into Python objects: they are
    # compared parsed (the other readers compare their exact text), and a
    # JSON `null` reads as None, as SQL NULL does.
    json_parsed = True

    def __init__(self):
        import fastparquet

        self.fp = fastparquet
        self.version = fastparquet.__version__

    def rows(self, files, columns):
        for f in files:
            pf = self.fp.ParquetFile(f)
            for df in pf.iter_row_groups():
                yield from zip(*[_pandas_values(df[c["name"]], c["semantic"]) for c in columns])

    def settings(self, parquet_dir, table, files, columns, part):
        return []


class SparkReader:
    """Spark through PySpark, in local mode. Not in scripts/requirements.txt
    (a JVM and a 300 MB package): it runs where `pyspark` and `java` are
    installed, e.g. `pip install pyspark==3.5.3` beside a Java 17 runtime."""

    name = "spark"
    json_parsed = False

    def __init__(self):
        if shutil.which("java") is None:
            raise ImportError("no java")
        import pyspark
        from pyspark.sql import SparkSession, functions

        # Local mode on loopback: no lookup of the machine's own name.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        self.F = functions
        self.spark = (
            SparkSession.builder.master("local[1]")
            .appName("interop_check")
            # The setting that matters: without it Spark shows and converts
            # timestamps in the JVM's local time zone.
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")
        self.version = pyspark.__version__

    def _select(self, df, columns):
        F = self.F
        cols = []
        for c in columns:
            col = F.col("`%s`" % c["name"])
            if c["semantic"] in TIMESTAMPS:
                col = F.unix_micros(col)
            cols.append(col.alias(c["name"]))
        return df.select(*cols)

    def rows(self, files, columns):
        # One file at a time: a file is one partition, read back in order.
        for f in files:
            for r in self._select(self.spark.read.parquet(f), columns).toLocalIterator():
                yield tuple(r)

    def settings(self, parquet_dir, table, files, columns, part):
        from pyspark.sql import types as T

        F = self.F
        problems = []
        if not files:
            return problems
        df = self.spark.read.parquet(files[0])
        types = {f.name: f.dataType for f in df.schema.fields}
        for c in columns:
            t = types.get(c["name"])
            if c["semantic"] in TIMESTAMPS and not isinstance(t, T.TimestampType):
                problems.append("spark: %s.%s reads as %s" % (table, c["name"], t))
            if c["semantic"] == "json" and not isinstance(t, T.StringType):
                problems.append("spark: %s.%s reads as %s, not StringType" % (table, c["name"], t))
        ts = [c["name"] for c in columns if c["semantic"] in TIMESTAMPS and c["name"] in types]
        if ts:
            # With spark.sql.session.timeZone=UTC the wall time Spark shows is
            # the UTC one; under another zone it is not (the documented pitfall).
            def sample():
                # Built anew for each zone: Spark binds the zone when it analyses a query.
                shown = F.date_format(F.col("`%s`" % ts[0]), "yyyy-MM-dd'T'HH:mm:ss")
                us = F.unix_micros(F.col("`%s`" % ts[0]))
                return self.spark.read.parquet(files[0]).select(us.alias("us"), shown.alias("s")).where(F.col("us").isNotNull()).limit(50).collect()

            rows = sample()
            for r in rows:
                if rfc3339_nano(r["us"])[:19] != r["s"]:
                    problems.append("spark: %s.%s shown as %s under UTC, not %s" % (table, ts[0], r["s"], rfc3339_nano(r["us"])))
                    break
            if rows:
                self.spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
                try:
                    local = sample()
                finally:
                    self.spark.conf.set("spark.sql.session.timeZone", "UTC")
                if all(rfc3339_nano(r["us"])[:19] == r["s"] for r in local):
                    problems.append("spark: %s.%s shows the same wall time in another session time zone" % (table, ts[0]))
        if part:
            whole = self.spark.read.parquet(os.path.join(parquet_dir, table))
            t = {f.name: f.dataType for f in whole.schema.fields}.get(part["column"])
            if not isinstance(t, T.DateType):
                problems.append("spark: partition %s reads as %s (documented: DateType)" % (part["column"], t))
            else:
                bad = whole.where(F.col(part["column"]) != F.to_date(F.col(part["source"]))).count()
                if bad:
                    problems.append("spark: %d rows under a %s= partition that is not the UTC day of %s" % (bad, part["column"], part["source"]))
        return problems


READERS = [PyArrowReader, PandasReader, PolarsReader, FastparquetReader, SparkReader, DeltaLakeReader, PolarsDeltaReader, DuckDBDeltaReader]


def load_readers(wanted):
    """Instances of the wanted readers that are installed, and the names of
    those that are not."""
    loaded, missing = [], []
    for cls in READERS:
        if wanted is not None and cls.name not in wanted:
            continue
        try:
            loaded.append(cls())
        except ImportError:
            missing.append(cls.name)
    return loaded, missing


def check_with(reader, lite, parquet_dir, table):
    """Compares one dataset, read by `reader`, with the SQLite table."""
    res = TableResult(table)
    files = dataset_files(parquet_dir, table)
    try:
        md = reader_metadata(files[0]) if files else {}
        if "thrum.columns" not in md or "thrum.primary_key" not in md:
            res.problems.append("%s: %s: no thrum.columns / thrum.primary_key metadata" % (reader.name, table))
            return res
        columns = json.loads(md["thrum.columns"])
        pk = json.loads(md["thrum.primary_key"])
        part = json.loads(md["thrum.partitioning"]) if "thrum.partitioning" in md and any(os.sep + "date=" in f for f in files) else None
        res.problems.extend(reader.settings(parquet_dir, table, files, columns, part))
        names = [c["name"] for c in columns]
        lq = lite.execute("SELECT %s FROM %s ORDER BY %s" % (", ".join(qi(n) for n in names), qi(table), ", ".join(qi(k) for k in pk)))
        if getattr(reader, "table_level", False):
            rows = reader.table_rows(os.path.join(parquet_dir, table), columns, pk)
        else:
            rows = reader.rows(files, columns)
        compare(res, reader.name, columns, pk, rows, stream(lq), reader.json_parsed)
    except Exception as e:  # a reader that fails on our files is a finding
        res.problems.append("%s: %s: reading failed: %s: %s" % (reader.name, table, type(e).__name__, e))
    return res


def reader_metadata(path):
    con = duckdb.connect()
    try:
        return kv_metadata(con, path)
    finally:
        con.close()


def run_readme(con, readme, fixtures):
    text = open(readme, encoding="utf-8").read()
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    if not blocks:
        raise Unusable("no ```sql block in " + readme)
    failures = 0
    cwd = os.getcwd()
    os.chdir(fixtures)
    try:
        for i, q in enumerate(blocks, 1):
            try:
                rows = con.execute(q).fetchall()
            except duckdb.Error as e:
                print("README query %d FAILED: %s" % (i, e))
                failures += 1
                continue
            status = "ok" if rows else "FAILED (no row)"
            failures += 0 if rows else 1
            print("README query %d %s: %d rows, first %s" % (i, status, len(rows), rows[0] if rows else None))
    finally:
        os.chdir(cwd)
    return failures


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fixtures", help="directory holding parquet/ and %s" % ARCHIVE)
    ap.add_argument("--db", help="SQLite database to compare with instead of the archive's")
    ap.add_argument("--readme", help="also run every ```sql block of this Markdown file")
    ap.add_argument(
        "--readers",
        type=lambda v: [x for x in v.split(",") if x],
        help="comma-separated subset of %s (default: every one installed; DuckDB always runs)" % ",".join(c.name for c in READERS),
    )
    args = ap.parse_args(argv)
    if args.readers is not None:
        unknown = sorted(set(args.readers) - {c.name for c in READERS})
        if unknown:
            raise Unusable("unknown reader(s) %s" % ", ".join(unknown))
    parquet_dir = os.path.join(args.fixtures, "parquet")
    if not os.path.isdir(parquet_dir) and os.path.isdir(os.path.join(args.fixtures, "_slices")):
        # a lake of slices (testgen --lake DIR, then testgen commit DIR)
        if args.db is None:
            raise Unusable("%s is a lake: pass --db" % args.fixtures)
        parquet_dir = args.fixtures
    if not os.path.isdir(parquet_dir):
        raise Unusable("no directory " + parquet_dir)
    with tempfile.TemporaryDirectory(prefix="interop-") as tmp:
        db = args.db
        if db is None:
            archive = os.path.join(args.fixtures, ARCHIVE)
            if not os.path.isfile(archive):
                raise Unusable("no " + archive + " (or pass --db)")
            db = extract_db(archive, tmp)
        if not os.path.isfile(db):
            raise Unusable("no database " + db)
        lite = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
        con = duckdb.connect()
        sqlite_tables = sorted(r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        datasets = sorted(d for d in os.listdir(parquet_dir) if not d.startswith("_") and os.path.isdir(os.path.join(parquet_dir, d)))
        failures = 0
        if sqlite_tables != datasets:
            print("MISMATCH: tables only in sqlite %s, datasets only in parquet %s" % (sorted(set(sqlite_tables) - set(datasets)), sorted(set(datasets) - set(sqlite_tables))))
            failures += 1
        readers, missing = load_readers(args.readers)
        for m in missing:
            print("reader %s: not installed, skipped" % m)
        print("%-20s %-12s %10s %10s  %-16s %s" % ("table", "reader", "parquet", "sqlite", "sha256", "verdict"))
        for t in sorted(set(sqlite_tables) & set(datasets)):
            results = [("duckdb", check_table(con, lite, parquet_dir, t))]
            results += [(r.name, check_with(r, lite, parquet_dir, t)) for r in readers]
            bad = 0
            for name, r in results:
                print("%-20s %-12s %10d %10d  %-16s %s" % (t, name, r.parquet_rows, r.sqlite_rows, r.parquet_digest.hexdigest()[:16], "ok" if r.ok else "MISMATCH"))
                for p in r.problems:
                    print("    " + p)
                if not r.ok and not r.problems:
                    print("    %s: digests differ: parquet %s sqlite %s" % (name, r.parquet_digest.hexdigest(), r.sqlite_digest.hexdigest()))
                bad += 0 if r.ok else 1
            # A table counts once, however many readers disagree.
            failures += 1 if bad else 0
        if args.readme:
            failures += run_readme(con, args.readme, args.fixtures)
    if failures:
        print("interop_check: %d mismatch(es)" % failures)
        return 1
    versions = ", ".join(["duckdb %s" % duckdb.__version__] + ["%s %s" % (r.name, r.version) for r in readers])
    print("interop_check: all %d tables equal (%s)" % (len(datasets), versions))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Unusable as e:
        sys.stderr.write("interop_check: %s\n" % e)
        sys.exit(2)
