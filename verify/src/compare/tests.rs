//! Unit tests of the comparison: the merge join against loading, the heartbeat rules.

use super::*;
use thrum_schemas::catalogue::{table, SESSIONS};

fn t(s: &str) -> Val {
    Val::text(s)
}

#[test]
fn reports_missing_extra_and_cells() {
    let tbl = table("message_scopes").unwrap();
    let db = vec![vec![t("m1"), t("g"), t("a")], vec![t("m2"), t("g"), t("b")]];
    let rep = vec![vec![t("m1"), t("g"), t("a")], vec![t("m3"), t("g"), t("c")]];
    let mut f = Findings::new(0);
    let st = compare_rows(tbl, &db, &rep, &SessionSpan::default(), &mut f);
    assert_eq!(
        (st.rows_db, st.rows_expected, st.missing, st.extra, st.differing),
        (2, Some(2), 1, 1, 0)
    );
    assert_eq!(f.list()[0].kind, Kind::RowExtra);
    assert_eq!(f.list()[0].key.as_deref(), Some("message_id=m2, scope_type=g, scope_value=b"));
    assert_eq!(f.list()[1].kind, Kind::RowMissing);

    let tbl = table("group_members").unwrap();
    let db = vec![vec![Val::Int(1), t("g"), t("agent"), t("x"), t("T"), Val::Null]];
    let rep = vec![vec![Val::Int(1), t("g"), t("agent"), t("x"), t("T"), t("a")]];
    let mut f = Findings::new(0);
    let st = compare_rows(tbl, &db, &rep, &SessionSpan::default(), &mut f);
    assert_eq!(st.differing, 1);
    let c = &f.list()[0];
    assert_eq!((c.kind, c.column.as_deref()), (Kind::CellDiffers, Some("added_by")));
    assert_eq!(c.key.as_deref(), Some("id=1 (group_id=g, member_type=agent, member_value=x)"));
    assert_eq!((c.expected.as_deref(), c.actual.as_deref()), (Some("\"a\""), Some("NULL")));
}

fn table_db(rows: &[(&'static str, Vec<Val>)]) -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(thrum_schemas::sql::V13).unwrap();
    for (table, row) in rows {
        let t = table_of(table);
        let ph = (1..=row.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let vals: Vec<rusqlite::types::Value> = row
            .iter()
            .map(|v| match v {
                Val::Null => rusqlite::types::Value::Null,
                Val::Int(i) => rusqlite::types::Value::Integer(*i),
                Val::Real(f) => rusqlite::types::Value::Real(*f),
                Val::Text(s) => rusqlite::types::Value::Text(s.clone()),
                Val::BadText(b) | Val::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
            })
            .collect();
        let _ = c.execute(
            &format!(
                "INSERT OR IGNORE INTO {} ({}) VALUES ({ph})",
                t.name,
                col_names(t).join(", ")
            ),
            rusqlite::params_from_iter(vals),
        );
    }
    c
}

fn table_of(name: &str) -> &'static Table {
    table(name).unwrap()
}

fn cell() -> impl proptest::strategy::Strategy<Value = Val> {
    use proptest::prelude::*;
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "c", "2026-03-02T09:00:00Z", "2026-03-02T10:0\
            0:00Z"]).prop_map(Val::text),
        1 => (1i64..4).prop_map(Val::Int),
        1 => Just(Val::Real(1.5)),
        1 => Just(Val::Null),
        1 => Just(Val::Blob(vec![b'a'])),
    ]
}

fn rows() -> impl proptest::strategy::Strategy<Value = Vec<(&'static str, Vec<Val>)>> {
    use proptest::prelude::*;
    let names: Vec<&'static str> = catalogue::projected().map(|t| t.name).collect();
    prop::collection::vec((prop::sample::select(names), prop::collection::vec(cell(), 14)), 0..40)
        .prop_map(|v| {
            v.into_iter()
                .map(|(t, mut r)| {
                    (t, {
                        r.truncate(table_of(t).columns.len());
                        r
                    })
                })
                .collect()
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..Default::default()
    })]
    /// The merge of two key-ordered cursors reports what loading and
    /// sorting both sides reports (or declines, and the caller loads).
    #[test]
    fn merge_join_equals_loading(a in rows(), b in rows()) {
        let (db, rep) = (table_db(&a), table_db(&b));
        let spans = SessionSpan::load(&db).unwrap();
        for t in catalogue::projected() {
            let mut f = Findings::new(0);
            let loaded = compare_table_loaded(t, &db, &rep, &spans, &mut f).unwrap();
            if let Some((st, found)) = merge_table(t, &db, Some(&rep), &spans) {
                proptest::prop_assert_eq!(&st, &loaded);
                proptest::prop_assert_eq!(found.list(), f.list());
            }
        }
        let mut f1 = Findings::new(0);
        let mut f2 = Findings::new(0);
        let merged = compare_projected(&db, &rep, &mut f1).unwrap();
        let loaded: Vec<TableStats> = catalogue::projected()
            .map(|t| compare_table_loaded(t, &db, &rep, &spans, &mut f2).unwrap())
            .collect();
        proptest::prop_assert_eq!(merged, loaded);
        proptest::prop_assert_eq!(f1.list(), f2.list());
    }
}

fn message(id: Val, body: &str) -> (&'static str, Vec<Val>) {
    let n = Val::Null;
    (
        "messages",
        vec![
            id,
            n.clone(),
            t("a"),
            t("s"),
            t("T"),
            n.clone(),
            t("f"),
            t(body),
            n.clone(),
            Val::Int(0),
            n.clone(),
            n.clone(),
            n,
            Val::Int(0),
        ],
    )
}

#[test]
fn merge_join_declines_duplicate_and_null_keys() {
    let db = table_db(&[message(Val::Null, "a"), message(Val::Null, "b")]);
    assert_eq!(
        db.query_row("SELECT count(*) FROM messages", [], |r| r.get::<_, i64>(0)).unwrap(),
        2
    );
    let rep = table_db(&[]);
    let spans = SessionSpan::default();
    assert!(merge_table(table_of("messages"), &db, Some(&rep), &spans).is_none());
    let clean = table_db(&[message(t("m1"), "a")]);
    let (st, found) = merge_table(table_of("messages"), &clean, Some(&rep), &spans).unwrap();
    assert_eq!((st.rows_db, st.extra, found.total()), (1, 1, 1));
}

#[test]
fn last_seen_is_checked_for_plausibility_not_equality() {
    let start = "2026-01-01T00:00:00.000001Z";
    let end = "2026-01-01T01:00:00.000001Z";
    let rep = vec![vec![t("s1"), t("a"), t(start), t(end), Val::Null, t(start)]];
    let mut f = Findings::new(0);
    let ok =
        vec![vec![t("s1"), t("a"), t(start), t(end), Val::Null, t("2026-01-01T00:30:00.000001Z")]];
    assert!(compare_rows(&SESSIONS, &ok, &rep, &SessionSpan::default(), &mut f).clean());
    assert_eq!(f.total(), 0);
    let late =
        vec![vec![t("s1"), t("a"), t(start), t(end), Val::Null, t("2026-01-01T02:00:00.000001Z")]];
    let st = compare_rows(&SESSIONS, &late, &rep, &SessionSpan::default(), &mut f);
    assert_eq!((st.differing, st.other), (0, 1));
    assert_eq!(f.list()[0].kind, Kind::LastSeenImplausible);

    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(thrum_schemas::sql::V13).unwrap();
    conn.execute("INSERT INTO sessions VALUES ('s1','a',?1,NULL,NULL,?2)", [start, end]).unwrap();
    let spans = SessionSpan::load(&conn).unwrap();
    let agents = table("agents").unwrap();
    let rep = vec![vec![t("a"), t("agent"), t("r"), t("m"), t(""), t(""), t(start), t("")]];
    let mut f = Findings::new(0);
    for (seen, ok) in [
        ("", true),
        ("2026-01-01T00:10:00Z", true),
        (end, true),
        ("2026-01-01T01:00:01Z", false),
        ("2025-12-31T00:00:00Z", false),
        ("junk", false),
    ] {
        let db = vec![vec![t("a"), t("agent"), t("r"), t("m"), t(""), t(""), t(start), t(seen)]];
        assert_eq!(compare_rows(agents, &db, &rep, &spans, &mut f).clean(), ok, "{seen}");
    }
}
