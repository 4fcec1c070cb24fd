//! Reading and writing Chinook's rows: paging, counting, and transactions that change exactly
//! the rows they target.

use ombud_connect::{Dialect, Select, TableName, Value};

use crate::on_every_backend;
use crate::support::{TestDb, int_key};

fn ints(rows: &[Vec<Value>], column: usize) -> Vec<i64> {
    rows.iter()
        .map(|r| match &r[column] {
            Value::Int(i) => *i,
            other => panic!("expected an integer, got {other:?}"),
        })
        .collect()
}

/// Reads every page of `q` (keyset paging on its key) and returns all rows.
async fn all_pages(t: &TestDb, mut q: Select) -> (Vec<Vec<Value>>, usize) {
    let key_positions: Vec<usize> = q
        .key
        .iter()
        .map(|k| q.columns.iter().position(|c| c == k).expect("key is read"))
        .collect();
    let mut rows = Vec::new();
    let mut pages = 0;
    loop {
        let page = t.db.select(&q).await.expect("a page");
        assert!(page.len() <= q.limit as usize);
        if page.is_empty() {
            break;
        }
        pages += 1;
        let last = page.last().unwrap();
        q.after = Some(key_positions.iter().map(|&i| last[i].clone()).collect());
        rows.extend(page);
    }
    (rows, pages)
}

async fn pages_through_a_customers_invoices(t: TestDb) {
    let q = |s: &str| t.q(&t.n(s));

    // The customer, found by e-mail.
    let found =
        t.db.select(&Select {
            table: t.table("Customer"),
            columns: vec![t.n("CustomerId"), t.n("FirstName"), t.n("Email")],
            filter_column: t.n("Email"),
            values: vec![Value::Text("luisg@embraer.com.br".into())],
            key: vec![t.n("CustomerId")],
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        found,
        [vec![
            Value::Int(1),
            Value::Text("Luís".into()),
            Value::Text("luisg@embraer.com.br".into())
        ]]
    );

    // Their invoices, three at a time.
    let select = Select {
        table: t.table("Invoice"),
        columns: vec![
            t.n("InvoiceId"),
            t.n("CustomerId"),
            t.n("InvoiceDate"),
            t.n("Total"),
            t.n("BillingState"),
        ],
        filter_column: t.n("CustomerId"),
        values: vec![Value::Int(1)],
        key: vec![t.n("InvoiceId")],
        after: None,
        limit: 3,
    };
    let (rows, pages) = all_pages(&t, select.clone()).await;
    let oracle = t
        .ints(&format!(
            "SELECT {} FROM {} WHERE {} = 1 ORDER BY {}",
            q("InvoiceId"),
            q("Invoice"),
            q("CustomerId"),
            q("InvoiceId")
        ))
        .await;
    assert_eq!(oracle.len(), 7, "Chinook gives each customer 7 invoices");
    assert_eq!(ints(&rows, 0), oracle);
    assert_eq!(pages, 3);
    assert!(ints(&rows, 1).iter().all(|c| *c == 1));
    let counted =
        t.db.count(&t.table("Invoice"), &t.n("CustomerId"), &[Value::Int(1)])
            .await
            .unwrap();
    assert_eq!(counted, 7);

    // Dates and decimals come back in the database's own notation.
    let first = oracle[0];
    let (date_sql, total_sql) = match t.dialect {
        Dialect::Postgres => ("invoice_date::text", "total::text"),
        Dialect::Mysql => ("CAST(InvoiceDate AS CHAR)", "CAST(Total AS CHAR)"),
        Dialect::Sqlite => ("InvoiceDate", "CAST(Total AS TEXT)"),
    };
    let date = t
        .texts(&format!(
            "SELECT {date_sql} FROM {} WHERE {} = {first}",
            q("Invoice"),
            q("InvoiceId")
        ))
        .await;
    let total = t
        .texts(&format!(
            "SELECT {total_sql} FROM {} WHERE {} = {first}",
            q("Invoice"),
            q("InvoiceId")
        ))
        .await;
    assert_eq!(rows[0][2], Value::Text(date[0].clone().unwrap()));
    let expected_total = total[0].clone().unwrap();
    match t.dialect {
        // SQLite keeps NUMERIC values as REAL.
        Dialect::Sqlite => assert_eq!(rows[0][3], Value::Float(expected_total.parse().unwrap())),
        _ => assert_eq!(rows[0][3], Value::Text(expected_total)),
    }
    let state = t
        .texts(&format!(
            "SELECT {} FROM {} WHERE {} = {first}",
            q("BillingState"),
            q("Invoice"),
            q("InvoiceId")
        ))
        .await;
    assert_eq!(rows[0][4], Value::Text(state[0].clone().unwrap()));

    // Several customers at once, one given as text (converted, or cast on PostgreSQL), and a
    // NULL that matches nothing.
    let mut several = select.clone();
    several.values = vec![Value::Int(1), Value::Text("2".into()), Value::Null];
    several.limit = 4;
    let (rows, _) = all_pages(&t, several).await;
    let oracle = t
        .ints(&format!(
            "SELECT {} FROM {} WHERE {} IN (1, 2) ORDER BY {}",
            q("InvoiceId"),
            q("Invoice"),
            q("CustomerId"),
            q("InvoiceId")
        ))
        .await;
    assert_eq!(ints(&rows, 0), oracle);

    // A composite key pages by row value: (PlaylistId, TrackId) > (?, ?).
    let (rows, pages) = all_pages(
        &t,
        Select {
            table: t.table("PlaylistTrack"),
            columns: vec![t.n("PlaylistId"), t.n("TrackId")],
            filter_column: t.n("PlaylistId"),
            values: vec![Value::Int(8), Value::Int(3), Value::Int(1)],
            key: vec![t.n("PlaylistId"), t.n("TrackId")],
            after: None,
            limit: 500,
        },
    )
    .await;
    let oracle = t
        .ints(&format!(
            "SELECT {} * 100000 + {} FROM {} WHERE {} IN (1, 3, 8) ORDER BY {}, {}",
            q("PlaylistId"),
            q("TrackId"),
            q("PlaylistTrack"),
            q("PlaylistId"),
            q("PlaylistId"),
            q("TrackId")
        ))
        .await;
    let got: Vec<i64> = rows
        .iter()
        .map(|r| {
            ints(std::slice::from_ref(r), 0)[0] * 100_000 + ints(std::slice::from_ref(r), 1)[0]
        })
        .collect();
    assert_eq!(got, oracle);
    assert!(pages > 2, "{pages} pages of 500 for {} rows", oracle.len());

    // No values: nothing to match, no statement.
    let mut none = select;
    none.values = vec![];
    assert!(t.db.select(&none).await.unwrap().is_empty());
}
on_every_backend!(keyset_paging, pages_through_a_customers_invoices);

struct Targets {
    invoices: Vec<i64>,
    lines: Vec<i64>,
    playlist_tracks: Vec<i64>,
}

async fn targets(t: &TestDb) -> Targets {
    let q = |s: &str| t.q(&t.n(s));
    let invoices = t
        .ints(&format!(
            "SELECT {} FROM {} WHERE {} = 1 ORDER BY 1",
            q("InvoiceId"),
            q("Invoice"),
            q("CustomerId")
        ))
        .await;
    let lines = t
        .ints(&format!(
            "SELECT {} FROM {} WHERE {} = {} ORDER BY 1",
            q("InvoiceLineId"),
            q("InvoiceLine"),
            q("InvoiceId"),
            invoices[0]
        ))
        .await;
    let playlist_tracks = t
        .ints(&format!(
            "SELECT {} FROM {} WHERE {} = 1 ORDER BY 1 LIMIT 3",
            q("TrackId"),
            q("PlaylistTrack"),
            q("PlaylistId")
        ))
        .await;
    assert!(!lines.is_empty() && playlist_tracks.len() == 3);
    Targets {
        invoices,
        lines,
        playlist_tracks,
    }
}

/// The writes of one erasure-like step; returns the counts each reported.
async fn write(t: &TestDb, targets: &Targets, commit: bool) -> [u64; 4] {
    let keys =
        |ids: &[i64]| -> Vec<Vec<Value>> { ids.iter().map(|i| vec![Value::Int(*i)]).collect() };
    let mut tx = t.db.begin().await.unwrap();
    let masked = tx
        .update_same(
            &t.table("Invoice"),
            &[
                (t.n("BillingCity"), Value::Text("Erased".into())),
                (t.n("BillingAddress"), Value::Null),
            ],
            &[t.n("InvoiceId")],
            &keys(&targets.invoices),
        )
        .await
        .unwrap();
    let renamed = tx
        .update_each(
            &t.table("Customer"),
            &[t.n("FirstName"), t.n("Email")],
            &[t.n("CustomerId")],
            &[
                (
                    vec![Value::Int(1)],
                    vec![
                        Value::Text("Ana".into()),
                        Value::Text("a@example.com".into()),
                    ],
                ),
                (
                    // A key given as text.
                    vec![Value::Text("2".into())],
                    vec![
                        Value::Text("Bo".into()),
                        Value::Text("b@example.com".into()),
                    ],
                ),
            ],
        )
        .await
        .unwrap();
    let deleted = tx
        .delete(
            &t.table("InvoiceLine"),
            &[t.n("InvoiceLineId")],
            &keys(&targets.lines),
        )
        .await
        .unwrap();
    let unlisted = tx
        .delete(
            &t.table("PlaylistTrack"),
            &[t.n("PlaylistId"), t.n("TrackId")],
            &targets
                .playlist_tracks
                .iter()
                .map(|tr| vec![Value::Int(1), Value::Int(*tr)])
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
    [masked, renamed, deleted, unlisted]
}

async fn writes_change_exactly_their_rows(t: TestDb) {
    let q = |s: &str| t.q(&t.n(s));
    let targets = targets(&t).await;
    let before = t.snapshot().await;

    // Rolled back: nothing changes.
    let counts = write(&t, &targets, false).await;
    assert_eq!(
        counts,
        [
            targets.invoices.len() as u64,
            2,
            targets.lines.len() as u64,
            3
        ]
    );
    assert_eq!(
        t.snapshot().await,
        before,
        "a rollback leaves every row as it was"
    );

    // Dropped without commit: rolled back as well.
    {
        let mut tx = t.db.begin().await.unwrap();
        tx.delete(
            &t.table("InvoiceLine"),
            &[t.n("InvoiceLineId")],
            &[vec![Value::Int(1)]],
        )
        .await
        .unwrap();
    }
    assert_eq!(
        t.snapshot().await,
        before,
        "a dropped transaction is rolled back"
    );

    // Committed: exactly the targeted rows change.
    let counts = write(&t, &targets, true).await;
    assert_eq!(
        counts,
        [
            targets.invoices.len() as u64,
            2,
            targets.lines.len() as u64,
            3
        ]
    );
    let after = t.snapshot().await;
    let mut changed = before.tables_changed(&after);
    changed.sort();
    let mut want = vec![
        t.n("Customer"),
        t.n("Invoice"),
        t.n("InvoiceLine"),
        t.n("PlaylistTrack"),
    ];
    want.sort();
    assert_eq!(changed, want);

    let rendered =
        |ids: &[i64]| -> Vec<String> { ids.iter().map(|i| int_key(t.dialect, *i)).collect() };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        before.changed_keys(&after, &t.n("Invoice")),
        sorted(rendered(&targets.invoices))
    );
    assert_eq!(
        before.changed_keys(&after, &t.n("Customer")),
        sorted(rendered(&[1, 2]))
    );
    assert_eq!(
        before.changed_keys(&after, &t.n("InvoiceLine")),
        sorted(rendered(&targets.lines))
    );
    assert_eq!(before.changed_keys(&after, &t.n("PlaylistTrack")).len(), 3);

    // Every other row is byte for byte what it was.
    let mut except: Vec<(String, String)> = Vec::new();
    for (table, ids) in [
        ("Invoice", targets.invoices.clone()),
        ("Customer", vec![1, 2]),
        ("InvoiceLine", targets.lines.clone()),
    ] {
        except.extend(rendered(&ids).into_iter().map(|k| (t.n(table), k)));
    }
    except.extend(
        before
            .changed_keys(&after, &t.n("PlaylistTrack"))
            .into_iter()
            .map(|k| (t.n("PlaylistTrack"), k)),
    );
    assert_eq!(before.checksum(&except), after.checksum(&except));

    // And the targeted rows hold what was written.
    let cities = t
        .texts(&format!(
            "SELECT {} FROM {} WHERE {} = 1",
            q("BillingCity"),
            q("Invoice"),
            q("CustomerId")
        ))
        .await;
    assert!(cities.iter().all(|c| c.as_deref() == Some("Erased")));
    let addresses = t
        .texts(&format!(
            "SELECT {} FROM {} WHERE {} = 1",
            q("BillingAddress"),
            q("Invoice"),
            q("CustomerId")
        ))
        .await;
    assert!(addresses.iter().all(Option::is_none));
    let names = t
        .texts(&format!(
            "SELECT {} FROM {} WHERE {} IN (1, 2) ORDER BY {}",
            q("Email"),
            q("Customer"),
            q("CustomerId"),
            q("CustomerId")
        ))
        .await;
    assert_eq!(
        names,
        [
            Some("a@example.com".to_owned()),
            Some("b@example.com".to_owned())
        ]
    );
    let left =
        t.db.count(
            &t.table("InvoiceLine"),
            &t.n("InvoiceId"),
            &[Value::Int(targets.invoices[0])],
        )
        .await
        .unwrap();
    assert_eq!(left, 0);
}
on_every_backend!(writes, writes_change_exactly_their_rows);

async fn batches_many_keys(t: TestDb) {
    // More keys than one statement takes: every track of the store, 500 per statement.
    let q = |s: &str| t.q(&t.n(s));
    let tracks = t
        .ints(&format!(
            "SELECT {} FROM {} ORDER BY 1",
            q("TrackId"),
            q("Track")
        ))
        .await;
    assert!(tracks.len() > 1000);
    let table = t.table("Track");
    let keys: Vec<Vec<Value>> = tracks.iter().map(|i| vec![Value::Int(*i)]).collect();
    let rows: Vec<(Vec<Value>, Vec<Value>)> = tracks
        .iter()
        .map(|i| {
            (
                vec![Value::Int(*i)],
                vec![Value::Text(format!("composer {i}"))],
            )
        })
        .collect();
    let mut tx = t.db.begin().await.unwrap();
    let n = tx
        .update_same(
            &table,
            &[(t.n("Composer"), Value::Text("same".into()))],
            &[t.n("TrackId")],
            &keys,
        )
        .await
        .unwrap();
    assert_eq!(n, tracks.len() as u64);
    let n = tx
        .update_each(&table, &[t.n("Composer")], &[t.n("TrackId")], &rows)
        .await
        .unwrap();
    assert_eq!(n, tracks.len() as u64);
    tx.commit().await.unwrap();
    let composers = t
        .texts(&format!(
            "SELECT {} FROM {} ORDER BY {}",
            q("Composer"),
            q("Track"),
            q("TrackId")
        ))
        .await;
    let want: Vec<Option<String>> = tracks
        .iter()
        .map(|i| Some(format!("composer {i}")))
        .collect();
    assert_eq!(composers, want);
    let _ = TableName::new("unused");
}
on_every_backend!(batches, batches_many_keys);
