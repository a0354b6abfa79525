//! DataFusion sessions over the lake.
//!
//! [`LakeReader`] is the long-lived part: DataFusion runtimes (memory pools, spill files,
//! object stores) and a cache of the tables' Delta snapshots, refreshed when older than
//! [`ReaderConfig::refresh`], with the table provider made from each, so a warm query plans
//! without re-reading the Delta log or listing the table's files again.
//! [`LakeReader::session`] gives a [`ScopedSession`] for one [`Scope`]: a fresh DataFusion
//! context in which every lake table is registered only as a [`ScopedTable`]. Reports and
//! ad-hoc SQL run in such a session and nowhere else, so a report cannot be built without a
//! tenant.
//!
//! Queries share memory by [`Workload`]. Aggregated reports take memory first come, first
//! served, so one large aggregation uses the whole limit without writing to disk. Listings
//! (one row per contact) run in a [`ListingPool`] of their own, in which every
//! operator that can spill gets an equal share and spills past it: a sorted listing of ten
//! million calls has a sort and an aggregation growing at once, and under first come, first
//! served the sort would take the memory the aggregation needs to spill.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{MemoryPool, PeakRecordingPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use deltalake::DeltaTable;
use deltalake::kernel::Version;
use tenet_events::EventFamily;
use tokio::sync::Mutex;

use crate::memory::ListingPool;
use crate::scan_filter::DistinctScanFilter;
use crate::scope::{Scope, ScopedTable};
use crate::snapshot_table::SnapshotTable;
use crate::tables::{Lake, LakeTable, TableError};

/// How the lake is read.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// A table's snapshot older than this is brought up to date before a query plans.
    pub refresh: Duration,
    /// The memory all running [`Workload::Aggregate`] queries may hold together; a query
    /// that needs more fails with a clear error instead of taking the process down.
    pub memory_limit_bytes: usize,
    /// The memory all running [`Workload::Listing`] queries may hold together. Their sorts
    /// and aggregations spill to temporary files past their share of it.
    pub listing_memory_limit_bytes: usize,
    /// The partitions a query is split into (at least 1).
    pub target_partitions: usize,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(2),
            memory_limit_bytes: 1 << 30,
            listing_memory_limit_bytes: 512 << 20,
            target_partitions: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

impl ReaderConfig {
    /// The part of the listing memory only operators that cannot spill may use (a quarter):
    /// the buffers sorts merge their spill files through, hash-join build sides.
    pub fn listing_reserve_bytes(&self) -> usize {
        self.listing_memory_limit_bytes / 4
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

/// The most spill files a listing's sort merges at once.
const LISTING_MERGE_FAN_IN: usize = 4;

/// What a session runs, which decides how its queries share memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Aggregated reports, short lookups and ad-hoc SQL. Memory goes first come, first
    /// served, so one aggregation may use the whole limit.
    Aggregate,
    /// Listings: detail reports and their exports, a row per contact. Every operator that
    /// can spill gets an equal share of the memory and spills past it, so a listing of any
    /// length runs in bounded memory.
    Listing,
}

struct Cached {
    table: DeltaTable,
    refreshed: Instant,
    /// The table's provider at the version it was made for.
    provider: Option<(Version, Arc<dyn TableProvider>)>,
}

/// The shared, long-lived reader of the lake.
pub struct LakeReader {
    lake: Lake,
    config: ReaderConfig,
    aggregate_runtime: Arc<RuntimeEnv>,
    listing_runtime: Arc<RuntimeEnv>,
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
        let aggregate_runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(config.memory_limit_bytes, 1.0)
            .build_arc()?;
        // Part of the listing memory is kept for what cannot spill: the buffers sorts merge
        // their spill files through, hash-join build sides. Tracked like
        // `with_memory_limit`'s pool, so "resources exhausted" names the largest consumers;
        // its high-water mark is recorded for [`LakeReader::listing_peak_bytes`].
        let listing_pool: Arc<dyn MemoryPool> = Arc::new(TrackConsumersPool::new(
            ListingPool::new(
                config.listing_memory_limit_bytes,
                config.listing_reserve_bytes(),
            ),
            NonZeroUsize::new(5).expect("not zero"),
        ));
        // A sort merges its spill files through buffers for as many files at once as memory
        // allows, none of which can spill; four at a time leaves room for the other
        // partitions' merges.
        let listing_runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(PeakRecordingPool::new(listing_pool)))
            .with_max_spill_merge_fan_in(LISTING_MERGE_FAN_IN)
            .build_arc()?;
        Ok(Self {
            lake,
            config,
            aggregate_runtime,
            listing_runtime,
            tables: Mutex::new(HashMap::new()),
        })
    }

    /// The lake read.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The most memory the listings run by this reader have held at once, in bytes, as the
    /// pool accounts for it (sorts, aggregations, joins; not the batches in flight).
    pub fn listing_peak_bytes(&self) -> usize {
        PeakRecordingPool::from_pool(self.listing_runtime.memory_pool.as_ref())
            .map_or(0, PeakRecordingPool::max_reserved)
    }

    /// A session for [`Workload::Aggregate`] in which every event table is visible only
    /// through `scope`.
    ///
    /// # Errors
    ///
    /// [`ReadError`] when a table cannot be opened or refreshed.
    pub async fn session(&self, scope: &Scope) -> Result<ScopedSession, ReadError> {
        self.session_for(scope, Workload::Aggregate).await
    }

    /// A session for `workload` in which every event table is visible only through `scope`.
    ///
    /// # Errors
    ///
    /// [`ReadError`] when a table cannot be opened or refreshed.
    pub async fn session_for(
        &self,
        scope: &Scope,
        workload: Workload,
    ) -> Result<ScopedSession, ReadError> {
        let ctx = self.context(workload);
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
        let ctx = self.context(Workload::Aggregate);
        for family in EventFamily::ALL {
            let provider = self.provider(&ctx, LakeTable::Events(family)).await?;
            ctx.register_table(family.as_str(), provider)?;
        }
        Ok(ctx)
    }

    fn context(&self, workload: Workload) -> SessionContext {
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
        let runtime = match workload {
            Workload::Aggregate => &self.aggregate_runtime,
            Workload::Listing => {
                // Each partition's sort keeps this much for merging its spill files, out of
                // the reserve; half the reserve for all of them at most.
                let merge = (self.config.listing_reserve_bytes()
                    / (2 * self.config.target_partitions.max(1)))
                .min(options.execution.sort_spill_reservation_bytes);
                options.execution.sort_spill_reservation_bytes = merge;
                &self.listing_runtime
            }
        };
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.clone())
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(DistinctScanFilter))
            .build();
        let ctx = SessionContext::new_with_state(state);
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
                    provider: None,
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
        let version = cached.table.version();
        if let Some((made_at, provider)) = &cached.provider
            && Some(*made_at) == version
        {
            return Ok(Arc::clone(provider));
        }
        // The lake's own tables are read as Parquet files; a table that needs more of the
        // Delta protocol goes through Delta Lake's scan.
        let provider: Arc<dyn TableProvider> = match SnapshotTable::try_new(&cached.table)? {
            Some(table) => Arc::new(table),
            None => cached.table.table_provider().await?,
        };
        if let Some(version) = version {
            cached.provider = Some((version, Arc::clone(&provider)));
        }
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
