//! `tenet up --demo`: a new installation with a real month of contact-center traffic.
//!
//! On a data directory without tenants, it creates the tenant "Anonymous Bank (demo)", issues
//! an admin API token (written to `demo-token.txt` in the data directory, readable only by the
//! owner) and imports February 1999 of the Anonymous Bank call center (33,344 calls, local
//! time UTC+2) into the event log, from which the lake writers land it. A data directory that
//! already has tenants is left as it is.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::FixedOffset;
use flate2::read::GzDecoder;
use secrecy::ExposeSecret;
use tenet_events::{Role, TenantId};
use tenet_ingest::EventLog;
use tenet_ingest::import::Imported;
use tenet_ops_api::Database;
use tenet_ops_api::admin_events::{self, Change};
use tenet_ops_api::tenants::{self, TenantName};
use tenet_ops_api::tokens;

/// The demo tenant's name.
pub const TENANT_NAME: &str = "Anonymous Bank (demo)";

/// The bank's calls of February 1999, gzipped (the per-call format of `tenet import calls`).
static CALLS: &[u8] = include_bytes!("demo/anonymous_bank_feb1999_calls.tsv.gz");

/// What the demo created.
#[derive(Debug)]
pub struct Seeded {
    /// The demo tenant.
    pub tenant: TenantId,
    /// Where its admin token was written.
    pub token_file: PathBuf,
    /// Events appended to the log.
    pub events: usize,
}

/// Seeds the demo tenant unless the installation already has tenants.
///
/// # Errors
/// When the database or the log fails, or the token file cannot be written.
pub async fn seed(
    database: &Database,
    log: &dyn EventLog,
    data_dir: &Path,
) -> anyhow::Result<Option<Seeded>> {
    if tenants::any(database).await? {
        return Ok(None);
    }
    let name = TenantName::parse(TENANT_NAME).expect("the demo name is valid");
    let tenant = tenants::create(database, &name).await?;
    let actor = admin_events::system(tenant.id);
    let token = tokens::issue(
        database,
        Change::now(&actor, None),
        Role::Admin,
        "demo",
        None,
    )
    .await?;
    let token_file = data_dir.join("demo-token.txt");
    write_private(&token_file, token.secret.expose_secret())?;

    let israel = FixedOffset::east_opt(2 * 3600).expect("UTC+2 is a valid offset");
    let mut events = Vec::new();
    for row in tenet_ingest::import::calls(GzDecoder::new(CALLS), tenant.id, israel) {
        if let Imported::Events(call) = row.context("the bundled demo calls are valid")? {
            events.extend(call);
        }
    }
    let appended = crate::import::append(log, &events).await?;
    Ok(Some(Seeded {
        tenant: tenant.id,
        token_file,
        events: appended,
    }))
}

fn write_private(path: &Path, secret: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}
