//! Reports in the application: who may read which rows of the lake, and the offline export.
//!
//! The lakehouse serves reports to whatever [`Scope`] it is given; this module decides that
//! scope from the authenticated [`Actor`] and the permission table: roles that read reports
//! across the tenant get the tenant, roles bound to projects (project managers, operators,
//! customers) get exactly the projects they are members of, and everyone else is refused.
//! `tenet export` runs the same reports on a data directory without a server.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt as _;
use tenet_events::identity::Principal;
use tenet_events::{Actor, Role, TenantId};
use tenet_lakehouse::export::{Format, encode};
use tenet_lakehouse::reports::{self, Params};
use tenet_lakehouse::{Lake, LakeReader, ReaderConfig, Scope};
use tenet_ops_api::rbac::{self, Action};
use tenet_ops_api::{ApiError, Database};

use crate::config::ReportSettings;

/// What the scope middleware needs.
#[derive(Clone)]
pub struct ScopeState {
    /// Where project memberships are.
    pub database: Database,
    /// The action the routes behind it perform.
    pub action: Action,
}

/// Middleware that authorizes `action` for the request's [`Actor`] and hands the lakehouse
/// the [`Scope`] the actor may read. Runs after `require_actor`.
pub async fn require_scope(
    State(state): State<ScopeState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let actor = request
        .extensions()
        .get::<Actor>()
        .cloned()
        .ok_or_else(|| ApiError::Unauthenticated("no credential".into()))?;
    let scope = scope_of(&state.database, &actor, state.action).await?;
    request.extensions_mut().insert(scope);
    Ok(next.run(request).await)
}

/// The part of the lake `actor` may read when performing `action`: the tenant, or the
/// projects they are members of.
///
/// # Errors
/// [`ApiError::Forbidden`] when the role may not perform `action` over a tenant or projects.
pub async fn scope_of(
    database: &Database,
    actor: &Actor,
    action: Action,
) -> Result<Scope, ApiError> {
    match rbac::authorize(actor, action)? {
        rbac::Scope::Tenant => Ok(Scope::tenant(actor.tenant_id)),
        rbac::Scope::Projects => {
            // A token is a member of no project: it reads nothing of a project-bound role.
            let Principal::User(user) = actor.principal else {
                return Ok(Scope::projects(actor.tenant_id, []));
            };
            let projects = tenet_ops_api::projects::list(
                database,
                actor.tenant_id,
                rbac::Scope::Projects,
                Some(user),
            )
            .await
            .map_err(|error| ApiError::internal(format!("project memberships: {error}")))?;
            // A client company reads the statistics of the projects that show them.
            let mut shown = Vec::with_capacity(projects.len());
            for project in projects {
                let statistics = actor.role != Role::Customer
                    || tenet_ops_api::client_view::get(database, actor.tenant_id, project.id)
                        .await
                        .map_err(|error| ApiError::internal(format!("client view: {error}")))?
                        .statistics;
                if statistics {
                    shown.push(project.id.to_string());
                }
            }
            Ok(Scope::projects(actor.tenant_id, shown))
        }
        rbac::Scope::Assigned | rbac::Scope::Denied => Err(ApiError::Forbidden(format!(
            "role {} may not read statistics",
            actor.role
        ))),
    }
}

/// The reader of the lake the application serves reports from.
///
/// # Errors
///
/// When the DataFusion runtime cannot be built.
pub fn reader(lake: Lake, settings: &ReportSettings) -> anyhow::Result<Arc<LakeReader>> {
    Ok(Arc::new(LakeReader::new(lake, settings.reader_config())?))
}

/// `tenet export`: one report of one tenant from a data directory's lake.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The report's name.
    pub report: String,
    /// The tenant.
    pub tenant: TenantId,
    /// Report parameters as `name=value`.
    pub params: Vec<(String, String)>,
    /// The output format.
    pub format: Format,
    /// Where to write; standard output when absent.
    pub out: Option<PathBuf>,
    /// How the lake is read, with the memory the export may use.
    pub reader: ReaderConfig,
}

/// Runs an export, streaming the rows to the output as they are computed. Returns the
/// number of bytes written.
///
/// # Errors
///
/// An unknown report, a parameter error (naming the parameter), a lake or query failure, or
/// an output that cannot be written.
pub async fn export(lake: Lake, request: ExportRequest) -> anyhow::Result<u64> {
    let report = reports::find(&request.report).with_context(|| {
        let names: Vec<&str> = reports::catalog()
            .iter()
            .map(|report| report.definition().name)
            .collect();
        format!(
            "no report named `{}` (reports: {})",
            request.report,
            names.join(", ")
        )
    })?;
    let planned = report.plan(Params::from_pairs(request.params))?;
    let reader = LakeReader::new(lake, request.reader)?;
    let session = reader
        .session_for(
            &Scope::tenant(request.tenant),
            report.definition().workload(),
        )
        .await?;
    let rows = reports::run(&session, planned).await?;
    let mut chunks = encode(rows, request.format).boxed();
    let mut out: Box<dyn std::io::Write + Send> = match &request.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut written = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        out.write_all(&chunk).context("cannot write the export")?;
        written += chunk.len() as u64;
    }
    out.flush().context("cannot write the export")?;
    Ok(written)
}

/// The rows of `sql`, a query the application wrote itself (never request text), over the lake
/// tables of `tenant` alone. A failing read is a 503 saying `what` cannot be read.
///
/// # Errors
/// [`ApiError::Unavailable`] when the lake cannot be read or the query fails.
pub async fn tenant_rows(
    reader: &LakeReader,
    tenant: TenantId,
    sql: &str,
    what: &str,
) -> Result<Vec<tenet_lakehouse::deltalake::arrow::array::RecordBatch>, ApiError> {
    let unavailable = |error: &dyn std::fmt::Display| {
        ApiError::Unavailable(format!("{what} cannot be read: {error}"))
    };
    let session = reader
        .session(&Scope::tenant(tenant))
        .await
        .map_err(|error| unavailable(&error))?;
    session
        .context()
        .sql(sql)
        .await
        .map_err(|error| unavailable(&error))?
        .collect()
        .await
        .map_err(|error| unavailable(&error))
}
