//! DataFusion sessions over the lake.
//!
//! [`LakeReader`] is the long-lived part: one DataFusion runtime (memory pool, object
//! stores) and a cache of the tables' Delta snapshots, refreshed when older than
//! [`ReaderConfig::refresh`], so a warm query plans without re-reading the Delta log.
//! [`LakeReader::session`] gives a [`ScopedSession`] for one [`Scope`]: a fresh DataFusion
//! context in which every lake table is registered only as a [`ScopedTable`]. Reports and
//! ad-hoc SQL run in such a session and nowhere else, so a report cannot be built without a
//! tenant.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::DeltaTable;
use tenet_events::EventFamily;
use tokio::sync::Mutex;

use crate::scope::{Scope, ScopedTable};
use crate::tables::{Lake, LakeTable, TableError};

/// How the lake is read.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// A table's snapshot older than this is brought up to date before a query plans.
    pub refresh: Duration,
    /// The memory all running queries may hold together; a query that needs more fails with
    /// a clear error instead of taking the process down.
    pub memory_limit_bytes: usize,
    /// The partitions a query is split into (at least 1).
    pub target_partitions: usize,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(2),
            memory_limit_bytes: 1 << 30,
            target_partitions: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// Why the lake could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A table could not be opened.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Delta Lake failed to bring a table up to date.
    #[error("table `{table}`: {source}")]
    Refresh {
        /// The table.
        table: &'static str,
        /// The cause.
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    /// DataFusion refused or failed a query.
    #[error(transparent)]
    Query(#[from] DataFusionError),
}

struct Cached {
    table: DeltaTable,
    refreshed: Instant,
}

/// The shared, long-lived reader of the lake.
pub struct LakeReader {
    lake: Lake,
    config: ReaderConfig,
    runtime: Arc<RuntimeEnv>,
    tables: Mutex<HashMap<LakeTable, Cached>>,
}

impl std::fmt::Debug for LakeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeReader")
            .field("lake", &self.lake)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LakeReader {
    /// A reader of `lake`.
    ///
    /// # Errors
    ///
    /// [`ReadError::Query`] when the DataFusion runtime cannot be built.
    pub fn new(lake: Lake, config: ReaderConfig) -> Result<Self, ReadError> {
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(config.memory_limit_bytes, 1.0)
            .build_arc()?;
        Ok(Self {
            lake,
            config,
            runtime,
            tables: Mutex::new(HashMap::new()),
        })
    }

    /// The lake read.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// A session in which every event table is visible only through `scope`.
    ///
    /// # Errors
    ///
    /// [`ReadError`] when a table cannot be opened or refreshed.
    pub async fn session(&self, scope: &Scope) -> Result<ScopedSession, ReadError> {
        let ctx = self.context();
        for family in EventFamily::ALL {
            let provider = self.provider(&ctx, LakeTable::Events(family)).await?;
            ctx.register_table(family.as_str(), Arc::new(ScopedTable::new(provider, scope)))?;
        }
        Ok(ScopedSession {
            ctx,
            scope: scope.clone(),
        })
    }

    /// A session over every tenant's rows, for the platform operator's own summaries and
    /// benchmarks. Never reachable from a tenant's request.
    ///
    /// # Errors
    ///
    /// [`ReadError`] when a table cannot be opened or refreshed.
    pub async fn platform_session(&self) -> Result<SessionContext, ReadError> {
        let ctx = self.context();
        for family in EventFamily::ALL {
            let provider = self.provider(&ctx, LakeTable::Events(family)).await?;
            ctx.register_table(family.as_str(), provider)?;
        }
        Ok(ctx)
    }

    fn context(&self) -> SessionContext {
        let mut config = SessionConfig::new()
            .with_target_partitions(self.config.target_partitions.max(1))
            .with_information_schema(false);
        let options = config.options_mut();
        options.execution.parquet.pushdown_filters = true;
        options.execution.parquet.reorder_filters = true;
        // The reports' per-call and per-ticket aggregations see a handful of events a group,
        // which a partial aggregation before the shuffle cannot reduce: skip it once the first
        // rows show fewer than five a group, not one and a quarter (DataFusion's 0.8). On the
        // benchmark's month of one tenant this cut the interval report by a third.
        options
            .execution
            .skip_partial_aggregation_probe_ratio_threshold = 0.2;
        let ctx = SessionContext::new_with_config_rt(config, self.runtime.clone());
        crate::functions::register(&ctx);
        ctx
    }

    async fn provider(
        &self,
        ctx: &SessionContext,
        table: LakeTable,
    ) -> Result<Arc<dyn TableProvider>, ReadError> {
        let mut tables = self.tables.lock().await;
        let cached = match tables.entry(table) {
            std::collections::hash_map::Entry::Occupied(entry) => {
                let cached = entry.into_mut();
                if cached.refreshed.elapsed() >= self.config.refresh {
                    cached
                        .table
                        .update_incremental(None)
                        .await
                        .map_err(|source| ReadError::Refresh {
                            table: table.name(),
                            source: Box::new(source),
                        })?;
                    cached.refreshed = Instant::now();
                }
                cached
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                let opened = self.lake.open_or_create(table).await?;
                entry.insert(Cached {
                    table: opened,
                    refreshed: Instant::now(),
                })
            }
        };
        let refresh = |source: deltalake::DeltaTableError| ReadError::Refresh {
            table: table.name(),
            source: Box::new(source),
        };
        cached
            .table
            .update_datafusion_session(&ctx.state())
            .map_err(refresh)?;
        let provider = cached.table.table_provider().await?;
        Ok(provider)
    }
}

/// A DataFusion session whose tables hold only one [`Scope`]'s rows.
pub struct ScopedSession {
    ctx: SessionContext,
    scope: Scope,
}

impl ScopedSession {
    /// The session's DataFusion context: every table in it is scoped.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The scope its tables are limited to.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}
