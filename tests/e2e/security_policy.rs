//! The per-tenant security policy on PostgreSQL and SQLite: admins set it, and it governs
//! new passwords, session lifetime, sign-in lockout and the addresses allowed in.

use std::net::IpAddr;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::tickets::{PASSWORD, World, on_both};

fn strict_policy(version: i64, allowlist: Value) -> Value {
    json!({
        "version": version,
        "password": {"min_length": 14, "require_digit": true, "require_symbol": true, "require_mixed_case": true},
        "session_lifetime_minutes": 30,
        "max_failed_logins": 2,
        "lockout_minutes": 5,
        "ip_allowlist": allowlist,
    })
}

#[tokio::test]
async fn admins_set_the_policy_and_it_governs_passwords_sessions_and_lockout() {
    on_both(async |world: World| {
        let (status, defaults) = world.call(Method::GET, "/security-policy", &world.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{defaults}");
        assert_eq!(defaults["version"], 0);
        assert_eq!(defaults["updated_at"], Value::Null);
        assert_eq!(defaults["ip_allowlist"], json!([]));
        assert_eq!(defaults["password"]["min_length"], 10);

        let (status, stored) = world
            .call(Method::PUT, "/security-policy", &world.admin, Some(strict_policy(0, json!(["127.0.0.0/8", "2001:db8::/32"]))))
            .await;
        assert_eq!(status, StatusCode::OK, "{stored}");
        assert_eq!(stored["version"], 1);
        assert_eq!(stored["session_lifetime_minutes"], 30);
        assert_eq!(stored["ip_allowlist"], json!(["127.0.0.0/8", "2001:db8::/32"]));
        assert!(stored["updated_at"].is_string());
        let (_, read) = world.call(Method::GET, "/security-policy", &world.admin, None).await;
        assert_eq!(read, stored);

        let (status, stale) = world
            .call(Method::PUT, "/security-policy", &world.admin, Some(strict_policy(0, json!([]))))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");

        for (change, field) in [
            (json!({"session_lifetime_minutes": 1}), "session_lifetime_minutes"),
            (json!({"max_failed_logins": 0}), "max_failed_logins"),
            (json!({"lockout_minutes": 100000}), "lockout_minutes"),
            (json!({"password": {"min_length": 4, "require_digit": false, "require_symbol": false, "require_mixed_case": false}}), "password.min_length"),
            (json!({"ip_allowlist": ["127.0.0.0/8", "10.0.0.1/8"]}), "ip_allowlist[1]"),
            (json!({"ip_allowlist": ["10.0.0.0/8"]}), "ip_allowlist"),
            (json!({"max_failed_logins": -1}), "max_failed_logins"),
        ] {
            let mut body = strict_policy(1, json!([]));
            for (key, value) in change.as_object().unwrap() {
                body[key] = value.clone();
            }
            let (status, refused) = world.call(Method::PUT, "/security-policy", &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{change}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{change}: {refused}");
        }

        let create = |email: &str, password: &str| {
            json!({"email": email, "display_name": "Boris", "role": "operator", "password": password})
        };
        for weak in [PASSWORD, "Operator pass!", "Operatorpassword12", "Op pass 12!"] {
            let (status, refused) = world.call(Method::POST, "/users", &world.admin, Some(create("boris@acme.test", weak))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], "password");
            assert!(refused["error"]["message"].as_str().unwrap().contains("this tenant"), "{refused}");
        }
        let strong = "Operator pass 12!";
        let (status, created) = world.call(Method::POST, "/users", &world.admin, Some(create("boris@acme.test", strong))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");

        let response = world.login("boris@acme.test", strong).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("Max-Age=1800"), "{cookie}");
        let session: Value = response.json().await.unwrap();
        let expires = chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap();
        let lifetime = expires.signed_duration_since(chrono::Utc::now());
        assert!((29..=30).contains(&lifetime.num_minutes()), "{lifetime}");

        for _ in 0..2 {
            assert_eq!(world.login("boris@acme.test", "Wrong pass 12!!").await.status(), StatusCode::UNAUTHORIZED);
        }
        let locked = world.login("boris@acme.test", strong).await;
        assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);
        let locked: Value = locked.json().await.unwrap();
        assert!(locked["error"]["message"].as_str().unwrap().contains("too many failed sign-ins"), "{locked}");
        world.app.stop().await;
    })
    .await;
}

fn client_from(address: &str) -> Client {
    Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_ip_allow_list_refuses_other_addresses_for_tokens_and_sign_in() {
    on_both(async |world: World| {
        let me = |client: Client, token: String| {
            let url = format!("{}/api/v1/me", world.app.base);
            async move { client.get(url).bearer_auth(token).send().await.unwrap().status() }
        };
        assert_eq!(me(client_from("127.0.0.2"), world.admin.clone()).await, StatusCode::OK);

        let (status, refused) = world
            .call(Method::PUT, "/security-policy", &world.admin, Some(strict_policy(0, json!(["127.0.0.2"]))))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an admin cannot lock themselves out: {refused}");
        assert_eq!(refused["error"]["details"]["field"], "ip_allowlist");

        let mut policy = strict_policy(0, json!(["127.0.0.1"]));
        policy["password"] = json!({"min_length": 10, "require_digit": false, "require_symbol": false, "require_mixed_case": false});
        policy["max_failed_logins"] = json!(5);
        let (status, stored) = world.call(Method::PUT, "/security-policy", &world.admin, Some(policy)).await;
        assert_eq!(status, StatusCode::OK, "{stored}");

        assert_eq!(me(Client::new(), world.admin.clone()).await, StatusCode::OK);
        assert_eq!(me(client_from("127.0.0.2"), world.admin.clone()).await, StatusCode::FORBIDDEN);
        let login = |client: Client| {
            let url = format!("{}/api/v1/auth/login", world.app.base);
            let body = json!({"tenant_id": world.tenant, "email": "anna@acme.test", "password": PASSWORD});
            async move { client.post(url).json(&body).send().await.unwrap() }
        };
        let refused = login(client_from("127.0.0.2")).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["error"]["code"], "forbidden");
        assert_eq!(login(Client::new()).await.status(), StatusCode::OK);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn sign_in_is_throttled_per_address() {
    on_both(async |world: World| {
        let url = format!("{}/api/v1/auth/login", world.app.base);
        let attempt = |client: &Client, email: &str| {
            client
                .post(&url)
                .json(&json!({"tenant_id": world.tenant, "email": email, "password": PASSWORD}))
                .send()
        };
        let noisy = client_from("127.0.0.3");
        for _ in 0..tenet_ops_api::throttle::SIGN_INS_PER_WINDOW {
            let status = attempt(&noisy, "not an address").await.unwrap().status();
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let throttled = attempt(&noisy, "anna@acme.test").await.unwrap();
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = throttled.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let body: Value = throttled.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_many_requests");

        let quiet = attempt(&Client::new(), "anna@acme.test").await.unwrap();
        assert_eq!(quiet.status(), StatusCode::OK, "another address signs in");
        world.app.stop().await;
    })
    .await;
}
