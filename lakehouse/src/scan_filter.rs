//! One copy of each condition in a Parquet scan's filter.
//!
//! A scoped scan hands its tenant condition to the Delta scan, for pruning by statistics, and
//! enforces it again in a filter above the scan; the caller's own conditions likewise reach
//! the scan and stay in a filter above it, because the Delta scan does not promise to apply
//! them exactly. DataFusion then pushes those filters down into the Parquet scan, which adds
//! their conditions to the ones it has: on the benchmark's tenant month the scan's filter
//! held the tenant condition and the report's event types twice each, and the Parquet reader
//! evaluated every copy on the rows the copies before it had kept.

use std::sync::Arc;

use datafusion::common::Result as DfResult;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult as _, TreeNode as _};
use datafusion::datasource::physical_plan::{
    FileScanConfigBuilder, FileSource as _, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_expr::utils::{conjunction, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};

/// Drops the repeated conditions of every Parquet scan's filter, keeping their first order.
#[derive(Debug, Default)]
pub(crate) struct DistinctScanFilter;

impl PhysicalOptimizerRule for DistinctScanFilter {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(exec) = node.downcast_ref::<DataSourceExec>() else {
                return Ok(Transformed::no(node));
            };
            let Some((config, parquet)) = exec.downcast_to_file_source::<ParquetSource>() else {
                return Ok(Transformed::no(node));
            };
            let Some(filter) = parquet.filter() else {
                return Ok(Transformed::no(node));
            };
            let conditions = split_conjunction(&filter);
            let mut distinct: Vec<Arc<dyn PhysicalExpr>> = Vec::with_capacity(conditions.len());
            for condition in &conditions {
                if !distinct.iter().any(|kept| kept == *condition) {
                    distinct.push(Arc::clone(condition));
                }
            }
            if distinct.len() == conditions.len() {
                return Ok(Transformed::no(node));
            }
            let source = parquet.with_predicate(conjunction(distinct));
            let config = FileScanConfigBuilder::from(config.clone())
                .with_source(Arc::new(source))
                .build();
            Ok(Transformed::yes(
                DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>
            ))
        })
        .data()
    }

    fn name(&self) -> &str {
        "distinct_scan_filter"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
