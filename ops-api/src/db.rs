//! The database behind the ops API: PostgreSQL or SQLite, chosen by the URL's scheme.
//!
//! Repository functions write their SQL once; [`on_backend!`](crate::on_backend) runs it on
//! whichever pool is configured. The SQL is kept to the dialect both engines share
//! (numbered `$n` parameters, `returning`, `on conflict`); UUIDs and timestamps go through
//! sqlx's codecs for each engine, and time comparisons are done in Rust, not in SQL.
//!
//! Every query filters by tenant. On PostgreSQL, row-level security is a second wall: work
//! done for a tenant runs inside [`scoped`], and every connection the pool hands out within it
//! is switched to the role `tenet_scoped` with the tenant named in the setting
//! `tenet.tenant_id`, so the database itself shows and accepts only that tenant's rows
//! (policies in the `row_level_security` migration). Outside [`scoped`] a connection keeps the
//! role it logged in with: migrations, the outbox relay and the other whole-platform jobs.
//! The wall covers queries made by the task that entered [`scoped`], not tasks it spawns.

use std::str::FromStr;
use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, SqlitePool};
use tenet_events::TenantId;

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");

tokio::task_local! {
    /// The tenant the current task works for, set by [`scoped`].
    static TENANT: TenantId;
}

/// Runs `work` for `tenant`: on PostgreSQL, every connection it takes from the pool sees and
/// writes only `tenant`'s rows, whatever its queries say.
pub async fn scoped<F: std::future::Future>(tenant: TenantId, work: F) -> F::Output {
    TENANT.scope(tenant, work).await
}

/// The tenant of the current task, if it runs inside [`scoped`].
pub fn scoped_tenant() -> Option<TenantId> {
    TENANT.try_with(|tenant| *tenant).ok()
}

/// Puts a PostgreSQL connection, as it is handed out, in the row-level security scope of the
/// current task: `tenet_scoped` and its tenant inside [`scoped`], its own role and no tenant
/// outside. One round trip, which also proves the connection alive.
fn bind_scope(connection: &mut PgConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    let (tenant, role) = match scoped_tenant() {
        Some(tenant) => (tenant.to_string(), "tenet_scoped"),
        None => (String::new(), "none"),
    };
    Box::pin(async move {
        sqlx::query(
            "select set_config('tenet.tenant_id', $1, false), set_config('role', $2, false)",
        )
        .bind(tenant)
        .bind(role)
        .execute(connection)
        .await?;
        Ok(())
    })
}

/// Runs the same expression against whichever pool a [`Database`] holds.
///
/// The body is compiled once per backend, so every bound value must encode for both.
#[macro_export]
macro_rules! on_backend {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Database::Postgres($pool) => $body,
            $crate::db::Database::Sqlite($pool) => $body,
        }
    };
}

/// Opens a transaction that writes, the same way on both engines.
///
/// SQLite starts a plain `BEGIN` as a reader and upgrades it at the first write; in WAL mode
/// that upgrade fails at once with `SQLITE_BUSY_SNAPSHOT` when another connection (the outbox
/// relay, a concurrent request) committed in between, and no busy timeout helps. `BEGIN
/// IMMEDIATE` takes the write lock up front, waiting up to the busy timeout for it, so a
/// read-then-write transaction sees the latest data and cannot fail that way. PostgreSQL
/// needs nothing special.
pub trait BeginWrite {
    /// The database of the pool.
    type Db: sqlx::Database;

    /// Begins a transaction that will write.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// `postgres://…` or `sqlite://…`; may carry a password, hence secret.
    pub url: SecretString,
    /// Upper bound on pooled connections.
    pub max_connections: u32,
    /// How long a query waits for a connection (and a new connection for the server) before
    /// failing.
    pub acquire_timeout: Duration,
}

/// The engine behind a [`Database`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: the distributed mode.
    Postgres,
    /// SQLite: the single-box mode.
    Sqlite,
}

/// A connection pool to the ops database.
#[derive(Debug, Clone)]
pub enum Database {
    /// A PostgreSQL pool.
    Postgres(PgPool),
    /// A SQLite pool.
    Sqlite(SqlitePool),
}

/// What can go wrong when connecting to, migrating or querying the database.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The URL names neither PostgreSQL nor SQLite. The URL itself is not repeated: it may
    /// hold a password.
    #[error("database url must start with postgres://, postgresql:// or sqlite:, got scheme `{0}`")]
    UnsupportedScheme(String),
    /// The URL could not be parsed by the driver.
    #[error("database url is invalid: {0}")]
    InvalidUrl(#[source] sqlx::Error),
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to the {backend:?} database: {source}")]
    Connect {
        /// Which engine.
        backend: Backend,
        /// The driver's reason.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the migrations failed.
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

impl Database {
    /// Opens a pool for `options.url`. A SQLite file is created if missing, in WAL mode.
    ///
    /// # Errors
    /// [`DatabaseError::UnsupportedScheme`] or [`DatabaseError::InvalidUrl`] for a bad URL,
    /// [`DatabaseError::Connect`] when the first connection cannot be made.
    pub async fn connect(options: &DatabaseOptions) -> Result<Self, DatabaseError> {
        let url = options.url.expose_secret();
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => {
                let connect = PgConnectOptions::from_str(url).map_err(DatabaseError::InvalidUrl)?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    // Binding the scope checks the connection: no separate ping.
                    .test_before_acquire(false)
                    .after_connect(|connection, _| bind_scope(connection))
                    .before_acquire(|connection, _| {
                        let bound = bind_scope(connection);
                        Box::pin(async move { bound.await.map(|()| true) })
                    })
                    .connect_with(connect)
                    .await
                    .map_err(|source| DatabaseError::Connect {
                        backend: Backend::Postgres,
                        source,
                    })?;
                Ok(Database::Postgres(pool))
            }
            "sqlite" => {
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(DatabaseError::InvalidUrl)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(options.acquire_timeout);
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map_err(|source| DatabaseError::Connect {
                        backend: Backend::Sqlite,
                        source,
                    })?;
                Ok(Database::Sqlite(pool))
            }
            other => Err(DatabaseError::UnsupportedScheme(other.to_owned())),
        }
    }

    /// Which engine this pool talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Postgres(_) => Backend::Postgres,
            Database::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies every pending migration of this backend.
    ///
    /// On PostgreSQL the migrator holds an advisory lock while it runs, so replicas that start
    /// at once apply each migration exactly once; the others wait and then find nothing to do.
    ///
    /// # Errors
    /// [`DatabaseError::Migrate`] when a migration fails or an applied one was edited.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        match self {
            Database::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
            Database::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// The number of migrations this build knows for its backend.
    pub fn known_migrations(&self) -> usize {
        match self {
            Database::Postgres(_) => POSTGRES_MIGRATIONS.iter().count(),
            Database::Sqlite(_) => SQLITE_MIGRATIONS.iter().count(),
        }
    }

    /// Checks that the database answers a trivial query.
    ///
    /// # Errors
    /// [`DatabaseError::Query`] when no connection can be had or the query fails.
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        on_backend!(self, |pool| {
            sqlx::query("select 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Waits for checked-out connections to return and closes the pool.
    pub async fn close(&self) {
        on_backend!(self, |pool| pool.close().await)
    }
}

/// A `like … escape '\'` pattern matching any text that contains `text` lower-cased, with
/// its `%`, `_` and `\` taken literally; compare it with a column lower-cased by the
/// application, so that case folding is the same on both engines and for every script.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Now, to the microsecond, as PostgreSQL stores it, so that an answer built from it matches
/// later reads on both engines.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// How the acting principal is stored: its JSON (`{"kind": "user", "id": …}`).
pub fn principal_json(actor: &tenet_events::Actor) -> String {
    serde_json::to_string(&actor.principal).unwrap_or_default()
}

/// A stored wire name (`"sick_leave"`, `"open"`) read back as the enum it names.
///
/// # Errors
/// [`sqlx::Error::ColumnDecode`] naming `column` when the text names no variant.
pub fn stored<T: serde::de::DeserializeOwned>(
    column: &'static str,
    text: &str,
) -> Result<T, sqlx::Error> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|error| {
        sqlx::Error::ColumnDecode {
            index: column.into(),
            source: Box::new(error),
        }
    })
}
