//! Ticket attachments on PostgreSQL and SQLite: files streamed into the object store and back,
//! refused past the size limit without leaving anything behind.

use futures::StreamExt as _;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tenet_events::Role;

use crate::tickets::{World, on_both};

/// `n` bytes of a recording-like pattern.
fn file(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 7)) as u8)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file under `dir`.
fn stored_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn files_stream_up_and_down_and_oversized_ones_leave_nothing() {
    on_both(async |world: World| {
        let ticket = world.ticket("Noisy line on the recording", "voice").await;
        let url = |rest: &str| {
            format!(
                "{}/api/v1/tickets/{ticket}/attachments{rest}",
                world.app.base
            )
        };
        let send =
            async |token: &str, query: &str, content_type: Option<&str>, body: reqwest::Body| {
                let mut request = world.client.post(url(query)).bearer_auth(token).body(body);
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap())
            };

        // Larger than the API's 2 MiB body limit, within the attachments' 8 MiB.
        let recording = file(3 * 1024 * 1024 + 17);
        let (status, stored) = send(
            &world.admin,
            "?filename=Запись%20звонка.wav",
            Some("audio/WAV"),
            recording.clone().into(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");
        assert_eq!(stored["filename"], "Запись звонка.wav");
        assert_eq!(stored["content_type"], "audio/wav");
        assert_eq!(stored["size_bytes"], recording.len());
        assert_eq!(stored["sha256"], hex(&recording));
        assert_eq!(stored["public"], false);
        let id = stored["id"].as_str().unwrap().to_owned();

        // Sent in chunks without a length, a public document.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = file(300_000)
            .chunks(64 * 1024)
            .map(|c| Ok(c.to_vec()))
            .collect();
        let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
        let (status, document) = send(
            &world.admin,
            "?filename=act.pdf&public=true",
            Some("application/pdf"),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{document}");
        assert_eq!(
            (
                document["size_bytes"].as_u64(),
                document["public"].as_bool()
            ),
            (Some(300_000), Some(true))
        );

        let response = world
            .client
            .get(url(&format!("/{id}")))
            .bearer_auth(&world.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "audio/wav");
        assert_eq!(
            headers["content-length"],
            recording.len().to_string().as_str()
        );
        assert_eq!(headers["etag"], format!("\"{}\"", hex(&recording)).as_str());
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("filename*=UTF-8''%D0%97"),
            "{headers:?}"
        );
        let mut downloaded = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            downloaded.extend_from_slice(&chunk.unwrap());
        }
        assert!(
            downloaded == recording,
            "the download is the upload byte for byte"
        );

        let (status, listed) = world
            .call(
                Method::GET,
                &format!("/tickets/{ticket}/attachments"),
                &world.admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["filename"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Запись звонка.wav", "act.pdf"]);
        let files_before = stored_files(&world.app.data_dir.join("attachments"));
        assert_eq!(files_before.len(), 2, "{files_before:?}");

        // Past the limit: refused when declared, and mid-stream when not; nothing stays.
        let (status, refused) = send(
            &world.admin,
            "?filename=big.wav",
            Some("audio/wav"),
            file(9 * 1024 * 1024).into(),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            (0..10).map(|_| Ok(file(1024 * 1024))).collect();
        let (status, refused) = send(
            &world.admin,
            "?filename=big.wav",
            Some("audio/wav"),
            reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
        assert_eq!(
            stored_files(&world.app.data_dir.join("attachments")),
            files_before
        );

        for (query, content_type, body, field) in [
            ("", Some("application/pdf"), b"%PDF".to_vec(), "filename"),
            (
                "?filename=..",
                Some("application/pdf"),
                b"%PDF".to_vec(),
                "filename",
            ),
            ("?filename=a.pdf", None, b"%PDF".to_vec(), "content-type"),
            (
                "?filename=a.pdf",
                Some("pdf"),
                b"%PDF".to_vec(),
                "content-type",
            ),
            (
                "?filename=a.pdf&public=maybe",
                Some("application/pdf"),
                b"%PDF".to_vec(),
                "public",
            ),
            (
                "?filename=a.pdf&folder=x",
                Some("application/pdf"),
                b"%PDF".to_vec(),
                "folder",
            ),
            (
                "?filename=a.pdf",
                Some("application/pdf"),
                Vec::new(),
                "body",
            ),
        ] {
            let (status, refused) = send(&world.admin, query, content_type, body.into()).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{query} {content_type:?}: {refused}"
            );
            assert_eq!(refused["error"]["details"]["field"], field, "{refused}");
        }

        // Another tenant sees none of it and cannot add to it.
        let intruder = world.intruder(Role::Admin).await;
        let (status, _) = world
            .call(
                Method::GET,
                &format!("/tickets/{ticket}/attachments"),
                &intruder,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let response = world
            .client
            .get(url(&format!("/{id}")))
            .bearer_auth(&intruder)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let (status, _) = send(
            &intruder,
            "?filename=x.txt",
            Some("text/plain"),
            b"x".to_vec().into(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = world
            .call(
                Method::GET,
                &format!("/tickets/{ticket}/attachments/{}", uuid_like()),
                &world.admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The history and the events record both files.
        let (_, history) = world
            .call(
                Method::GET,
                &format!("/tickets/{ticket}/history"),
                &world.admin,
                None,
            )
            .await;
        let attached: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["field"] == "attachment")
            .map(|e| e["new_value"].as_str().unwrap())
            .collect();
        assert_eq!(attached, ["Запись звонка.wav", "act.pdf"]);
        let events: Vec<Value> = world
            .outbox_events()
            .await
            .iter()
            .map(|event| serde_json::to_value(event).unwrap())
            .filter(|event| event["type"] == "ticket.attachment_added")
            .collect();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0]["data"]["attachment_id"], id.as_str());
        assert_eq!(events[0]["data"]["size_bytes"], recording.len());
        assert_eq!(events[0]["data"]["content_type"], "audio/wav");
        assert_eq!(events[1]["data"]["public"], true);

        let ready: Value = reqwest::get(format!("{}/health/ready", world.app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let store = ready["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "object_store")
            .cloned();
        assert_eq!(
            store.map(|d| d["status"].clone()),
            Some("up".into()),
            "{ready}"
        );
    })
    .await;
}

fn uuid_like() -> &'static str {
    "0196f0c2-0d1e-7000-8000-00000000a77a"
}
