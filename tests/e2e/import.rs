//! `tenet import calls`: history into the event log, checked first, idempotent downstream.

use std::collections::BTreeSet;

use tenet_ingest::{
    EmbeddedLog, EmbeddedLogConfig, EventLog, ReadLimits, TopicName, TopicPartition,
};

use crate::harness::tenet;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/anonymous_bank_300_calls.tsv"
);

async fn event_ids(data_dir: &std::path::Path) -> (usize, BTreeSet<String>) {
    let log = EmbeddedLog::open(data_dir.join("log"), EmbeddedLogConfig::default()).unwrap();
    let topic = TopicName::parse("tenet.calls.v1").unwrap();
    let mut records = 0;
    let mut ids = BTreeSet::new();
    for partition in 0..log.partition_count(&topic).await.unwrap() {
        let partition = TopicPartition::new(topic.clone(), partition);
        let range = log.offset_range(&partition).await.unwrap();
        let mut from = range.start;
        while from < range.end {
            let batch = log
                .read(&partition, from, ReadLimits::default())
                .await
                .unwrap();
            for record in &batch {
                records += 1;
                let event: serde_json::Value = serde_json::from_slice(&record.value).unwrap();
                ids.insert(event["event_id"].as_str().unwrap().to_owned());
            }
            from = batch.last().unwrap().offset.next();
        }
    }
    (records, ids)
}

async fn create_tenant(data_dir: &str) -> String {
    crate::harness::tenet_ok(["admin", "tenant", "create", "Bank", "--data-dir", data_dir]).await
}

#[tokio::test]
async fn importing_a_call_history_twice_repeats_the_same_event_ids() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let tenant = create_tenant(dir).await;
    let import = || async {
        tenet()
            .args([
                "import",
                "calls",
                FIXTURE,
                "--tenant",
                &tenant,
                "--utc-offset",
                "+02:00",
                "--data-dir",
                dir,
            ])
            .output()
            .await
            .unwrap()
    };
    let expected_calls = std::fs::read_to_string(FIXTURE).unwrap().lines().count() - 1;

    let first = import().await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let said = String::from_utf8(first.stdout).unwrap();
    assert!(
        said.contains(&format!("imported {expected_calls} calls as ")),
        "{said}"
    );
    let (records, ids) = event_ids(data.path()).await;
    assert_eq!(
        records,
        ids.len(),
        "one record per event after the first import"
    );
    assert!(said.contains(&format!(" as {records} events")), "{said}");

    let second = import().await;
    assert!(second.status.success());
    let (records_again, ids_again) = event_ids(data.path()).await;
    assert_eq!(records_again, 2 * records, "the log is at-least-once");
    assert_eq!(
        ids_again, ids,
        "but the events are the same, so the lake keeps them once"
    );
}

#[tokio::test]
async fn a_file_with_bad_records_imports_nothing_and_names_each_line() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let tenant = create_tenant(dir).await;
    let mut text = std::fs::read_to_string(FIXTURE).unwrap();
    text = text.replacen("\tAGENT\t", "\tBUSY\t", 1);
    text.push_str("AA0101\t99\t0\t0\tPS\t990231\t8:00:00\t8:00:10\t10\t0:00:00\t0:00:00\t0\tAGENT\t8:00:10\t8:01:00\t50\tDORIT\n");
    let file = data.path().join("bad.tsv");
    std::fs::write(&file, text).unwrap();

    let output = tenet()
        .args([
            "import",
            "calls",
            file.to_str().unwrap(),
            "--tenant",
            &tenant,
            "--data-dir",
            dir,
        ])
        .output()
        .await
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("2 record(s) refused, nothing imported"),
        "{stderr}"
    );
    assert!(stderr.contains("outcome `BUSY`"), "{stderr}");
    assert!(stderr.contains("date `990231`"), "{stderr}");
    assert!(
        !data.path().join("log").exists(),
        "the log was not even opened"
    );
}

#[tokio::test]
async fn imported_calls_land_in_the_lake_and_an_outside_reader_sees_them() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let tenant = create_tenant(dir).await;

    let output = tenet()
        .args([
            "import",
            "calls",
            FIXTURE,
            "--tenant",
            &tenant,
            "--wait",
            "--data-dir",
            dir,
        ])
        .output()
        .await
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("they have landed in the lake"));
    let (records, ids) = event_ids(data.path()).await;
    let script = format!(
        "import deltalake, json, os, sys\n\
         t = deltalake.DeltaTable({:?}).to_pyarrow_table()\n\
         ids = t.column('event_id').to_pylist()\n\
         tenants = set(t.column('tenant_id').to_pylist())\n\
         print(json.dumps({{'rows': len(ids), 'ids': sorted(set(ids)), 'tenants': sorted(tenants)}}))\n\
         sys.stdout.flush()\n\
         os._exit(0)",
        data.path().join("lake").join("calls").display().to_string()
    );
    // The package's threads can abort the interpreter while it shuts down, after the answer
    // is printed: the script leaves with os._exit once its output is flushed.
    let python = tokio::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .await
        .expect("python3 runs");
    assert!(
        python.status.success(),
        "reading the lake with the Python deltalake package (pip install deltalake) failed: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&python.stdout).unwrap();
    assert_eq!(seen["rows"], records, "every event landed once");
    let seen_ids: BTreeSet<String> = seen["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen_ids, ids);
    assert_eq!(seen["tenants"], serde_json::json!([tenant]));
}
