//! Tests of the report: targets, tables, JSON, BENCHMARKS.md.

use super::callgrind::callgrind_total;
use super::report::*;
use super::*;
use crate::json::{self, Value};

fn row(id: &str, values: [Option<f64>; 4]) -> Row {
    Row {
        id: id.into(),
        title: "t".into(),
        unit: "ns/call".into(),
        values,
    }
}

#[test]
fn options() {
    let o = parse(&["--quick".into(), "--json".into(), "/tmp/x.json".into()]).unwrap();
    assert!(o.quick && !o.write_md && !o.callgrind);
    assert_eq!(o.json, Some(PathBuf::from("/tmp/x.json")));
    assert!(parse(&[]).unwrap().write_md);
    assert!(!parse(&["--only".into(), "w1".into()]).unwrap().write_md);
    assert!(
        parse(&["--quick".into(), "--write".into()])
            .unwrap()
            .write_md
    );
    assert!(parse(&["--json".into()]).is_err());
    assert!(parse(&["--fast".into()]).is_err());
}

#[test]
fn targets_are_checked() {
    let w1 = row("w1", [Some(100.0), None, Some(104.0), Some(110.0)]);
    let c = check(&w1);
    assert_eq!(c.len(), 2);
    assert!(c.iter().all(|c| c.met));
    let w1 = row("w1", [Some(100.0), None, Some(106.0), Some(105.0)]);
    let c = check(&w1);
    assert_eq!(
        c,
        vec![
            Check {
                what: "pyhost/raw <= 1.05".into(),
                measured: "1.060".into(),
                met: false
            },
            Check {
                what: "pyhost/pyo3 <= 1.00".into(),
                measured: "1.010".into(),
                met: false
            },
        ]
    );
    let w5 = row("w5", [Some(260.0), Some(46.0), Some(50.0), Some(52.0)]);
    let c = check(&w5);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].what, "pyhost/limit <= 1.20");
    assert_eq!(c[0].measured, "1.087");
    assert_eq!(c[1].what, "pyhost/pyo3 <= 1.00");
    assert!(c.iter().all(|c| c.met));
    assert_eq!(
        verdict(&check(&row(
            "w4",
            [Some(20.0), None, Some(30.0), Some(27.0)]
        ))),
        "MISSED pyhost/raw <= 1.10 (is 1.500); MISSED pyhost/pyo3 <= 1.00 (is 1.111)"
    );
}

#[test]
fn json_round_trip_and_tables() {
    let rows = vec![
        row("w1", [Some(18.25), None, Some(18.5), Some(18.0)]),
        row("w8", [None, None, Some(2.0), Some(61.5)]),
    ];
    let text = json_list(&rows);
    assert_eq!(
        text.lines().nth(1).unwrap(),
        r#"  {"workload": "w1", "unit": "ns/call", "raw": 18.25, "limit": null, "pyhost": 18.5, "pyo3": 18},"#
    );
    let parsed = json::parse(&text).unwrap();
    assert_eq!(parsed.items().len(), 2);
    assert_eq!(parsed.items()[1].get("pyo3"), &Value::Number("61.5".into()));

    let report = r#"{"meta": {"python": "3.11.2"}, "results": [
        {"workload": "w1", "title": "t", "unit": "ns/call", "raw": 18.25, "limit": null, "pyhost": 18.5, "pyo3": 18}]}"#;
    let (meta, back) = parse_report(report).unwrap();
    assert_eq!(meta, vec![("python".to_owned(), "3.11.2".to_owned())]);
    assert_eq!(back, rows[..1]);

    let t = table_rows(&rows);
    assert_eq!(
        t[1][3..10],
        ["18.25", "-", "18.50", "18.00", "1.01x", "-", "1.03x"]
    );
    assert_eq!(t[1][10], "MISSED pyhost/pyo3 <= 1.00 (is 1.028)");
    let md = markdown_table(&t[..2]);
    assert!(md.starts_with("| id | workload |"));
    assert_eq!(
        md.lines().nth(1).unwrap(),
        "|---|---|---|---|---|---|---|---|---|---|---|"
    );
}

#[test]
fn callgrind_totals_and_lock_versions() {
    assert_eq!(
        callgrind_total("events: Ir\nfn=x\n1 2\ntotals: 123456\n"),
        Some(123_456)
    );
    assert_eq!(callgrind_total("summary: 42\n"), Some(42));
    assert_eq!(callgrind_total("events: Ir\n"), None);
    let lock = "[[package]]\nname = \"pyo3\"\nversion = \"0.30.1\"\n\n[[package]]\nname = \"pyo3-ffi\"\nversion = \"0.30.1\"\n";
    assert_eq!(locked_version(lock, "pyo3").as_deref(), Some("0.30.1"));
    assert_eq!(locked_version(lock, "tokio"), None);
    assert_eq!(fmt_value(Some(17139.02)), "17139");
    assert_eq!(fmt_value(Some(0.0827)), "0.0827");
}

#[test]
fn the_cold_build_is_compared_with_pyo3_default_features() {
    let builds = vec![
        (build_times::DEFAULT_PYHOST.to_owned(), 12.0),
        (build_times::DEFAULT_PYO3.to_owned(), 10.0),
        ("PyO3, no default features".to_owned(), 6.0),
    ];
    let c = build_check(&builds).unwrap();
    assert!(c.met, "{c:?}");
    assert_eq!(c.measured, "1.20");
    let slow = vec![
        (build_times::DEFAULT_PYHOST.to_owned(), 17.7),
        (build_times::DEFAULT_PYO3.to_owned(), 10.8),
    ];
    assert!(!build_check(&slow).unwrap().met);
    assert_eq!(build_check(&builds[1..]), None);
}

#[test]
fn perf_stat_counts_are_read_by_event_name() {
    let text = "# started on Fri Dec  4 21:00:00 2026\n\n\
                1234,,syscalls:sys_enter_futex,125658978,100.00,,\n\
                96,,context-switches,125658978,100.00,,\n";
    assert_eq!(super::syscalls::parse(text), Some(vec![1234, 96]));
    // An event perf could not count is a missing count, not a zero.
    let text =
        "<not counted>,,syscalls:sys_enter_futex,0,0.00,,\n96,,context-switches,1,100.00,,\n";
    assert_eq!(super::syscalls::parse(text), None);
    assert!(parse(&["--syscalls".into()]).unwrap().syscalls);
    // Their rows carry no targets: the targets are on the times they explain.
    let mut counts = row("w8", [None, Some(1.0), Some(2.0), Some(1.0)]);
    counts.unit = "futex calls/task".into();
    assert!(check(&counts).is_empty());
}

#[test]
fn the_own_gil_pool_is_compared_with_one_gil() {
    let own = row("w9a", [Some(5.2), None, Some(5.3), None]);
    let one = row("w9b", [Some(10.1), None, Some(10.2), Some(10.3)]);
    let c = cross_checks(&[own.clone(), one]);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, "w9a");
    assert!(c[0].1.met, "{:?}", c[0].1);
    assert_eq!(c[0].1.measured, "1.92");
    let slow_one = row("w9b", [None, None, Some(8.0), None]);
    let c = cross_checks(&[own.clone(), slow_one]);
    assert!(!c[0].1.met, "1.51x is below the target");
    // Without both rows (CPython < 3.12 has no w9a pyhost value) there is nothing to check.
    assert!(cross_checks(&[own]).is_empty());
    let no_pool = row("w9a", [None, None, None, None]);
    assert!(cross_checks(&[no_pool, row("w9b", [None, None, Some(8.0), None])]).is_empty());
}
