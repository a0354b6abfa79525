//! Tenant scoping by construction.
//!
//! A query never sees a lake table directly. Every table is registered in a tenant's session
//! as a [`ScopedTable`]: a table provider that wraps the Delta scan and applies the
//! [`Scope`]'s predicate (`tenant_id = '…'`, and for a user limited to some projects,
//! `project_id IN (…)`) to every scan it plans. The predicate is both handed to the Delta
//! scan, so files and row groups of other tenants are pruned by their statistics, and
//! enforced by a filter on top of the scan, so correctness never depends on what the scan
//! chose to do with it. Whatever SQL a report or an analyst writes, the rows it can reach are
//! the scope's rows.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, Result as DfResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType, col, lit};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExecBuilder;
use tenet_events::TenantId;

/// The column every event table carries the tenant in.
pub const TENANT_COLUMN: &str = "tenant_id";
/// The column the tables of project-bound events carry the project in.
pub const PROJECT_COLUMN: &str = "project_id";

/// Which rows of the lake a query may read: one tenant's, and optionally only some of its
/// projects'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    tenant: TenantId,
    projects: Option<BTreeSet<String>>,
}

impl Scope {
    /// Every row of `tenant`.
    pub fn tenant(tenant: TenantId) -> Self {
        Self {
            tenant,
            projects: None,
        }
    }

    /// The rows of `tenant` that belong to one of `projects`. Rows without a project, and
    /// tables whose rows have no project at all, are out of this scope.
    pub fn projects(tenant: TenantId, projects: impl IntoIterator<Item = String>) -> Self {
        Self {
            tenant,
            projects: Some(projects.into_iter().collect()),
        }
    }

    /// The tenant.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    /// The projects the scope is limited to, if it is.
    pub fn project_ids(&self) -> Option<&BTreeSet<String>> {
        self.projects.as_ref()
    }

    /// The predicate a row of a table with `schema` must satisfy to be in scope.
    pub fn predicate(&self, schema: &SchemaRef) -> Expr {
        let tenant = col(TENANT_COLUMN).eq(lit(self.tenant.to_string()));
        let Some(projects) = &self.projects else {
            return tenant;
        };
        if schema.field_with_name(PROJECT_COLUMN).is_err() || projects.is_empty() {
            return lit(false);
        }
        let allowed = projects
            .iter()
            .map(|project| lit(project.clone()))
            .collect();
        tenant.and(col(PROJECT_COLUMN).in_list(allowed, false))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tenant {}", self.tenant)?;
        if let Some(projects) = &self.projects {
            write!(f, ", {} project(s)", projects.len())?;
        }
        Ok(())
    }
}

/// A table provider that only ever returns the rows of its [`Scope`].
///
/// It is read-only: inserts, updates and deletes keep DataFusion's "not supported" answer.
#[derive(Debug)]
pub struct ScopedTable {
    inner: Arc<dyn TableProvider>,
    predicate: Expr,
}

impl ScopedTable {
    /// Wraps `inner` so that its scans only return rows in `scope`.
    ///
    /// # Panics
    ///
    /// When the table has no `tenant_id` column: such a table cannot be scoped and must not
    /// be registered in a tenant's session at all.
    pub fn new(inner: Arc<dyn TableProvider>, scope: &Scope) -> Self {
        let schema = inner.schema();
        assert!(
            schema.field_with_name(TENANT_COLUMN).is_ok(),
            "a scoped table needs a {TENANT_COLUMN} column"
        );
        let predicate = scope.predicate(&schema);
        Self { inner, predicate }
    }

    /// The predicate applied to every scan.
    pub fn predicate(&self) -> &Expr {
        &self.predicate
    }
}

#[async_trait]
impl TableProvider for ScopedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // The caller's own filters go to the Delta scan for pruning, but DataFusion keeps
        // evaluating them above it unless the scan promises exactness.
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let schema = self.inner.schema();
        // Read the columns the caller asked for plus those the scope predicate needs, then
        // filter, then project back to exactly what the caller asked for.
        let mut columns: Vec<usize> = match projection {
            Some(projection) => projection.clone(),
            None => (0..schema.fields().len()).collect(),
        };
        let requested = columns.len();
        for name in self.predicate.column_refs() {
            let index = schema.index_of(name.name())?;
            if !columns.contains(&index) {
                columns.push(index);
            }
        }
        let mut pushed = filters.to_vec();
        pushed.push(self.predicate.clone());
        // A limit below the scope filter could be filled with other tenants' rows.
        let scan = self
            .inner
            .scan(state, Some(&columns), &pushed, None)
            .await?;

        crate::page_index::cache_page_indexes(state, &scan).await?;

        let scanned = DFSchema::try_from(scan.schema())?;
        let predicate = state.create_physical_expr(self.predicate.clone(), &scanned)?;
        let keep = (0..requested).collect::<Vec<_>>();
        // The limit applies per output partition, after the scope filter; DataFusion keeps
        // its own limit above the scan for the total.
        let filtered = FilterExecBuilder::new(predicate, scan)
            .apply_projection(Some(keep))?
            .with_fetch(limit)
            .build()?;
        Ok(Arc::new(filtered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array as _, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;
    use uuid::Uuid;

    fn tenant(n: u128) -> TenantId {
        TenantId::from_uuid(Uuid::from_u128(n))
    }

    fn table(with_project: bool) -> Arc<dyn TableProvider> {
        let mut fields = vec![
            Field::new(TENANT_COLUMN, DataType::Utf8, false),
            Field::new("amount", DataType::Int64, false),
        ];
        let mut columns: Vec<Arc<dyn datafusion::arrow::array::Array>> = vec![
            Arc::new(StringArray::from(vec![
                tenant(1).to_string(),
                tenant(2).to_string(),
                tenant(1).to_string(),
                tenant(1).to_string(),
            ])),
            Arc::new(Int64Array::from(vec![1, 10, 100, 1000])),
        ];
        if with_project {
            fields.push(Field::new(PROJECT_COLUMN, DataType::Utf8, true));
            columns.push(Arc::new(StringArray::from(vec![
                Some("a"),
                Some("a"),
                Some("b"),
                None,
            ])));
        }
        let schema = Arc::new(Schema::new(fields));
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())
    }

    async fn sum(scope: &Scope, with_project: bool, sql: &str) -> Option<i64> {
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(ScopedTable::new(table(with_project), scope)))
            .unwrap();
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let column = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        (!column.is_null(0)).then(|| column.value(0))
    }

    #[tokio::test]
    async fn a_tenant_scope_sees_only_its_rows_whatever_the_query_says() {
        let scope = Scope::tenant(tenant(1));
        let other = tenant(2).to_string();
        assert_eq!(
            sum(&scope, true, "select sum(amount) from t").await,
            Some(1101)
        );
        let asks_for_other = format!("select sum(amount) from t where tenant_id = '{other}'");
        assert_eq!(sum(&scope, true, &asks_for_other).await, None);
        let or_other = format!(
            "select sum(amount) from t where tenant_id = '{other}' or tenant_id <> '{other}'"
        );
        assert_eq!(sum(&scope, true, &or_other).await, Some(1101));
    }

    #[tokio::test]
    async fn a_project_scope_drops_other_projects_and_rows_without_one() {
        let scope = Scope::projects(tenant(1), ["b".to_owned()]);
        assert_eq!(
            sum(&scope, true, "select sum(amount) from t").await,
            Some(100)
        );
    }

    #[tokio::test]
    async fn a_project_scope_sees_nothing_of_a_table_without_projects() {
        let scope = Scope::projects(tenant(1), ["a".to_owned()]);
        assert_eq!(sum(&scope, false, "select sum(amount) from t").await, None);
    }

    #[tokio::test]
    async fn a_limit_applies_after_the_scope() {
        let scope = Scope::tenant(tenant(2));
        let ctx = SessionContext::new();
        ctx.register_table("t", Arc::new(ScopedTable::new(table(true), &scope)))
            .unwrap();
        let batches = ctx
            .sql("select amount from t limit 1")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 1);
        let value = batches
            .iter()
            .find(|batch| batch.num_rows() > 0)
            .unwrap()
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(value, 10);
    }
}
