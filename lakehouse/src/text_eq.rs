//! Equality of a text column with a text constant, one 128-bit comparison a row.
//!
//! The lake's text columns are read as views (`Utf8View`): each value is 16 bytes holding its
//! length and, when it has at most 12 bytes, the value itself, zero-padded; a longer value
//! holds its length, its first 4 bytes and where the rest lies. Arrow's `=` of such a column
//! and a constant takes one branch after another for each row, whichever the layout. Here:
//!
//! - a constant of at most 12 bytes equals a value exactly when their 16 bytes are equal, so
//!   each row is one comparison with no branch;
//! - a longer constant is compared first by length and first 4 bytes, in the view, and only
//!   the rows that match those are compared byte by byte.
//!
//! The call reports test every event they read for its type and outcome
//! (`event_type = 'call.ended'`, `outcome = 'answered'`), in `filter` clauses of their
//! aggregations and in the projections that share those tests among them.
//!
//! [`TextEquality`] is the optimizer rule that rewrites `column = 'constant'` over a view
//! column in projections and aggregations (arguments and `filter` clauses) into
//! [`text_eq`]`(column, 'constant')`, under the expression's own name. `where` clauses are
//! left as they are: the Parquet reader evaluates those as it decodes, and the pruning by
//! statistics reads them.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, StringViewArray};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, utils::take_function_args};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::physical_expr_common::datum::apply_cmp;

/// `text_eq(column, constant)`: `column = constant` for text read as views.
pub fn text_eq() -> ScalarUDF {
    ScalarUDF::from(TextEq {
        signature: Signature::exact(
            vec![DataType::Utf8View, DataType::Utf8View],
            Volatility::Immutable,
        ),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TextEq {
    signature: Signature,
}

impl ScalarUDFImpl for TextEq {
    fn name(&self) -> &'static str {
        "text_eq"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [column, constant] = take_function_args(self.name(), args.args)?;
        if let (
            ColumnarValue::Array(array),
            ColumnarValue::Scalar(ScalarValue::Utf8View(Some(text))),
        ) = (&column, &constant)
            && let Some(views) = array.as_string_view_opt()
        {
            return Ok(ColumnarValue::Array(Arc::new(equal_to(views, text))));
        }
        // Two constants (folded while planning), or a null constant: arrow's own `=`.
        apply_cmp(Operator::Eq, &column, &constant)
    }
}

/// `views = text` for each row; null where the row is null.
fn equal_to(views: &StringViewArray, text: &str) -> BooleanArray {
    let target = datafusion::arrow::array::builder::make_view(text.as_bytes(), 0, 0);
    let rows = views.views();
    let values = if text.len() <= 12 {
        BooleanBuffer::collect_bool(rows.len(), |row| rows[row] == target)
    } else {
        // Length and first 4 bytes are the view's low 64 bits.
        let head = target as u64;
        BooleanBuffer::collect_bool(rows.len(), |row| {
            rows[row] as u64 == head && views.value(row) == text
        })
    };
    BooleanArray::new(values, views.nulls().cloned())
}

/// Rewrites `column = 'constant'` over a view column into [`text_eq`] in projections and
/// aggregations; see the module's documentation.
#[derive(Debug, Default)]
pub struct TextEquality;

impl OptimizerRule for TextEquality {
    fn name(&self) -> &'static str {
        "text_equality"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let input = match &plan {
            LogicalPlan::Projection(projection) => projection.input.schema().clone(),
            LogicalPlan::Aggregate(aggregate) => aggregate.input.schema().clone(),
            _ => return Ok(Transformed::no(plan)),
        };
        let udf = Arc::new(text_eq());
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|expr| {
            let name = names.save(&expr);
            let rewritten = expr.transform_up(|expr| rewrite(expr, &input, &udf))?;
            Ok(if rewritten.transformed {
                Transformed::yes(name.restore(rewritten.data))
            } else {
                rewritten
            })
        })
    }
}

fn rewrite(expr: Expr, input: &DFSchema, udf: &Arc<ScalarUDF>) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::Eq,
        right,
    }) = &expr
    else {
        return Ok(Transformed::no(expr));
    };
    let (column, text) = match (left.as_ref(), right.as_ref()) {
        (column @ Expr::Column(_), Expr::Literal(value, _))
        | (Expr::Literal(value, _), column @ Expr::Column(_)) => match value {
            ScalarValue::Utf8View(Some(text)) | ScalarValue::Utf8(Some(text)) => (column, text),
            _ => return Ok(Transformed::no(expr)),
        },
        _ => return Ok(Transformed::no(expr)),
    };
    // A column this node cannot resolve is left to DataFusion's own `=`.
    if !matches!(column.get_type(input), Ok(DataType::Utf8View)) {
        return Ok(Transformed::no(expr));
    }
    let call = udf.call(vec![
        column.clone(),
        Expr::Literal(ScalarValue::Utf8View(Some(text.clone())), None),
    ]);
    Ok(Transformed::yes(call))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringViewBuilder;

    #[test]
    fn equal_to_matches_arrow_for_short_and_long_constants_and_nulls() {
        let mut builder = StringViewBuilder::new();
        for value in [
            Some("answered"),
            None,
            Some("abandoned"),
            Some(""),
            Some("short_abandon"),
            Some("short_abandoned"),
            Some("short_abandox"),
            Some("answered "),
            Some("call.offered"),
            Some("call.offered!"),
        ] {
            builder.append_option(value);
        }
        let all = builder.finish();
        for views in [all.clone(), all.slice(3, 6)] {
            for text in [
                "answered",
                "",
                "short_abandon",
                "call.offered",
                "call.offered!",
                "shor",
            ] {
                let ours = equal_to(&views, text);
                let arrow = datafusion::arrow::compute::kernels::cmp::eq(
                    &views,
                    &StringViewArray::new_scalar(text),
                )
                .expect("comparable");
                assert_eq!(ours, arrow, "{text:?} over {views:?}");
            }
        }
    }

    #[tokio::test]
    async fn the_rule_rewrites_projections_and_aggregations_and_keeps_answers_and_names() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.sql(
            "create table events as select arrow_cast(event_type, 'Utf8View') as event_type, n
             from (values ('call.offered', 1), ('call.ended', 2), ('call.ended', 3),
                          (null, 4), ('call.transferred.to.another.queue', 5)) as t(event_type, n)",
        )
        .await
        .expect("create")
        .collect()
        .await
        .expect("created");
        let sql = "select event_type = 'call.ended' as ended,
                          count(*) filter (where event_type = 'call.ended'),
                          sum(n) filter (where 'call.transferred.to.another.queue' = event_type)
                   from events group by event_type = 'call.ended' order by ended";
        let plain = ctx
            .sql(sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        ctx.add_optimizer_rule(Arc::new(TextEquality));
        let frame = ctx.sql(sql).await.expect("plan");
        let optimized = frame.clone().into_optimized_plan().expect("optimize");
        let shown = optimized.display_indent().to_string();
        assert!(shown.contains("text_eq(events.event_type"), "{shown}");
        let rewritten = frame.collect().await.expect("run");
        assert_eq!(
            datafusion::arrow::util::pretty::pretty_format_batches(&plain)
                .expect("format")
                .to_string(),
            datafusion::arrow::util::pretty::pretty_format_batches(&rewritten)
                .expect("format")
                .to_string()
        );
        assert_eq!(plain[0].schema(), rewritten[0].schema());
    }
}
