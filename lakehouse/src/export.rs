//! Encoding report rows as JSON, CSV, XLSX or Parquet, batch by batch.
//!
//! [`encode`] turns a report's row stream into a stream of byte chunks: each record batch is
//! encoded and handed on as soon as it is computed, through a bounded channel, so an export
//! of ten million rows holds a few batches in memory, not the export. XLSX is the exception
//! that proves the rule: its rows go to a temporary file as they come (the writer's constant
//! memory mode) and the zip container is written at the end; a sheet holds at most
//! 1,048,575 rows, and a longer export is refused with a clear error instead of a file
//! Excel would truncate.

use std::str::FromStr;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray as _, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::{csv, json};
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::errors::ParquetError;
use futures::{Stream, StreamExt as _};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::reports::ReportRows;

/// The most data rows an XLSX sheet holds (the header takes the first row).
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `{"columns": […], "rows": [{…}, …]}`.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// An Excel workbook with one sheet.
    Xlsx,
    /// An Apache Parquet file.
    Parquet,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Xlsx, Format::Parquet];

    /// The format's name, also the file extension.
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Parquet => "parquet",
        }
    }

    /// The HTTP content type.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not one of json, csv, xlsx, parquet"))
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Computing the rows failed (a query error, a time or memory limit).
    #[error("computing the rows failed: {0}")]
    Query(#[from] DataFusionError),
    /// Encoding failed.
    #[error("encoding the rows failed: {0}")]
    Encode(String),
    /// More rows than the format can hold.
    #[error(
        "the export has more than {limit} rows, the most a {format} file holds; narrow it or choose csv or parquet"
    )]
    TooManyRows {
        /// The format.
        format: &'static str,
        /// Its limit.
        limit: u64,
    },
}

impl From<ArrowError> for ExportError {
    fn from(error: ArrowError) -> Self {
        Self::Encode(error.to_string())
    }
}

impl From<ParquetError> for ExportError {
    fn from(error: ParquetError) -> Self {
        Self::Encode(error.to_string())
    }
}

impl From<rust_xlsxwriter::XlsxError> for ExportError {
    fn from(error: rust_xlsxwriter::XlsxError) -> Self {
        Self::Encode(error.to_string())
    }
}

/// The rows of `rows` encoded as `format`, in chunks, as they are computed.
///
/// The encoding runs on a task of its own; dropping the returned stream stops it (and the
/// query) at the next batch.
pub fn encode(
    rows: ReportRows,
    format: Format,
) -> impl Stream<Item = Result<Vec<u8>, ExportError>> + Send + 'static {
    let (sender, receiver) = mpsc::channel::<Result<Vec<u8>, ExportError>>(4);
    tokio::spawn(async move {
        let mut encoder = match Encoder::new(format, rows.schema.clone()) {
            Ok(encoder) => encoder,
            Err(error) => {
                let _ = sender.send(Err(error)).await;
                return;
            }
        };
        let mut stream = rows.stream;
        while let Some(batch) = stream.next().await {
            let chunk = batch
                .map_err(ExportError::from)
                .and_then(|batch| encoder.write(&batch));
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                return;
            }
        }
        let _ = sender.send(encoder.finish()).await;
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .filter(|chunk| std::future::ready(!matches!(chunk, Ok(bytes) if bytes.is_empty())))
}

enum Encoder {
    Json { schema: SchemaRef, rows: u64 },
    Csv { schema: SchemaRef, header: bool },
    Xlsx(Box<XlsxEncoder>),
    Parquet(Box<ArrowWriter<Vec<u8>>>),
}

impl Encoder {
    fn new(format: Format, schema: SchemaRef) -> Result<Self, ExportError> {
        Ok(match format {
            Format::Json => Encoder::Json { schema, rows: 0 },
            Format::Csv => Encoder::Csv {
                schema,
                header: true,
            },
            Format::Xlsx => Encoder::Xlsx(Box::new(XlsxEncoder::new(&schema)?)),
            Format::Parquet => {
                let writer = ArrowWriter::try_new(Vec::new(), plain_schema(&schema), None)?;
                Encoder::Parquet(Box::new(writer))
            }
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, ExportError> {
        match self {
            Encoder::Json { schema, rows } => {
                let mut out = if *rows == 0 {
                    json_head(schema)?
                } else {
                    Vec::new()
                };
                let mut lines = Vec::new();
                let mut writer = json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .build::<_, json::writer::LineDelimited>(&mut lines);
                writer.write(batch)?;
                writer.finish()?;
                drop(writer);
                for line in lines.split(|byte| *byte == b'\n').filter(|l| !l.is_empty()) {
                    if *rows > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(line);
                    *rows += 1;
                }
                // A batch without rows must not count as the start.
                if *rows == 0 {
                    out.clear();
                }
                Ok(out)
            }
            Encoder::Csv { header, .. } => {
                let mut out = Vec::new();
                let mut writer = csv::WriterBuilder::new()
                    .with_header(*header)
                    .with_timestamp_format("%Y-%m-%dT%H:%M:%S".to_owned())
                    .build(&mut out);
                writer.write(batch)?;
                drop(writer);
                *header = false;
                Ok(out)
            }
            Encoder::Xlsx(xlsx) => {
                xlsx.write(batch)?;
                Ok(Vec::new())
            }
            Encoder::Parquet(writer) => {
                writer.write(&plain_batch(batch)?)?;
                Ok(std::mem::take(writer.inner_mut()))
            }
        }
    }

    fn finish(self) -> Result<Vec<u8>, ExportError> {
        match self {
            Encoder::Json { schema, rows } => {
                let mut out = if rows == 0 {
                    json_head(&schema)?
                } else {
                    Vec::new()
                };
                out.extend_from_slice(b"]}");
                Ok(out)
            }
            Encoder::Csv { schema, header } => {
                // An export without rows still says what its columns are.
                let mut out = Vec::new();
                if header {
                    let mut writer = csv::WriterBuilder::new().with_header(true).build(&mut out);
                    writer.write(&RecordBatch::new_empty(schema))?;
                }
                Ok(out)
            }
            Encoder::Xlsx(xlsx) => xlsx.finish(),
            Encoder::Parquet(mut writer) => {
                writer.finish()?;
                Ok(std::mem::take(writer.inner_mut()))
            }
        }
    }
}

/// The start of a JSON export: `{"columns": […], "rows": [`.
fn json_head(schema: &Schema) -> Result<Vec<u8>, ExportError> {
    let mut out = b"{\"columns\":".to_vec();
    serde_json::to_writer(&mut out, &columns(schema))
        .map_err(|error| ExportError::Encode(error.to_string()))?;
    out.extend_from_slice(b",\"rows\":[");
    Ok(out)
}

#[derive(Serialize)]
struct Column {
    name: String,
    #[serde(rename = "type")]
    data_type: String,
}

fn columns(schema: &Schema) -> Vec<Column> {
    schema
        .fields()
        .iter()
        .map(|field| Column {
            name: field.name().clone(),
            data_type: type_name(field.data_type()),
        })
        .collect()
}

/// A column type as the export describes it: what a reader needs, not Arrow's internals.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => "integer".into(),
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
            "number".into()
        }
        DataType::Timestamp(_, None) => "local_datetime".into(),
        DataType::Timestamp(_, Some(_)) => "datetime".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Dictionary(_, value) => type_name(value),
        other => other.to_string().to_lowercase(),
    }
}

/// Parquet readers differ in their support of view and dictionary types; exports use plain
/// strings.
fn plain_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .map(|field| {
            let data_type = match field.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                DataType::Dictionary(_, value) => value.as_ref().clone(),
                other => other.clone(),
            };
            field.as_ref().clone().with_data_type(data_type)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn plain_batch(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = plain_schema(&batch.schema());
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| datafusion::arrow::compute::cast(column, field.data_type()))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}

struct XlsxEncoder {
    workbook: rust_xlsxwriter::Workbook,
    rows: u64,
    datetime: rust_xlsxwriter::Format,
}

impl XlsxEncoder {
    fn new(schema: &Schema) -> Result<Self, ExportError> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        for (index, field) in schema.fields().iter().enumerate() {
            sheet.write_string_with_format(0, column_index(index)?, field.name(), &bold)?;
        }
        Ok(Self {
            workbook,
            rows: 0,
            datetime: rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ExportError> {
        if self.rows + batch.num_rows() as u64 > XLSX_MAX_ROWS {
            return Err(ExportError::TooManyRows {
                format: "xlsx",
                limit: XLSX_MAX_ROWS,
            });
        }
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (index, column) in batch.columns().iter().enumerate() {
            let col = column_index(index)?;
            let column = plain_column(column)?;
            for row in 0..batch.num_rows() {
                if column.is_null(row) {
                    continue;
                }
                let at = u32::try_from(self.rows + row as u64 + 1)
                    .map_err(|_| ExportError::Encode("row out of range".into()))?;
                match column.data_type() {
                    DataType::Utf8 => {
                        sheet.write_string(at, col, column.as_string::<i32>().value(row))?;
                    }
                    DataType::Boolean => {
                        sheet.write_boolean(at, col, column.as_boolean().value(row))?;
                    }
                    DataType::Float64 => {
                        let value = column
                            .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                            .value(row);
                        if value.is_finite() {
                            sheet.write_number(at, col, value)?;
                        }
                    }
                    DataType::Int64 => {
                        let value = column
                            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                            .value(row);
                        // Exact in a spreadsheet's double up to 2^53; counts and seconds are.
                        sheet.write_number(at, col, value as f64)?;
                    }
                    DataType::Timestamp(TimeUnit::Microsecond, _) => {
                        let micros = column
                            .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>(
                            )
                            .value(row);
                        if let Some(at_time) = chrono::DateTime::from_timestamp_micros(micros) {
                            sheet.write_datetime_with_format(
                                at,
                                col,
                                at_time.naive_utc(),
                                &self.datetime,
                            )?;
                        }
                    }
                    other => {
                        return Err(ExportError::Encode(format!(
                            "column type {other} has no spreadsheet form"
                        )));
                    }
                }
            }
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<u8>, ExportError> {
        Ok(self.workbook.save_to_buffer()?)
    }
}

fn column_index(index: usize) -> Result<u16, ExportError> {
    u16::try_from(index).map_err(|_| ExportError::Encode("too many columns".into()))
}

/// A column cast to one of the types the spreadsheet writer handles.
fn plain_column(column: &Arc<dyn Array>) -> Result<Arc<dyn Array>, ExportError> {
    use datafusion::arrow::compute::cast;
    let target = match column.data_type() {
        DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _) => DataType::Utf8,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DataType::Int64,
        DataType::Float16 | DataType::Float32 | DataType::Decimal128(_, _) => DataType::Float64,
        DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        DataType::Date32 | DataType::Date64 => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => return Ok(column.clone()),
    };
    Ok(cast(column, &target)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::Field;
    use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

    fn rows(batches: Vec<RecordBatch>, schema: SchemaRef) -> ReportRows {
        let stream = futures::stream::iter(batches.into_iter().map(Ok));
        ReportRows {
            schema: schema.clone(),
            stream: Box::pin(RecordBatchStreamAdapter::new(schema, stream)),
        }
    }

    fn sample() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "interval_start",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("queue_id", DataType::Utf8, true),
            Field::new("offered", DataType::Int64, false),
            Field::new("service_level", DataType::Float64, true),
        ]));
        let batch = |start: i64, queue: Option<&str>, offered: i64, sl: Option<f64>| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(TimestampMicrosecondArray::from(vec![start])),
                    Arc::new(StringArray::from(vec![queue])),
                    Arc::new(Int64Array::from(vec![offered])),
                    Arc::new(Float64Array::from(vec![sl])),
                ],
            )
            .unwrap()
        };
        let half_hour = 1_800_000_000;
        (
            schema.clone(),
            vec![
                batch(946_857_600_000_000, Some("billing"), 12, Some(0.75)),
                RecordBatch::new_empty(schema.clone()),
                batch(946_857_600_000_000 + half_hour, None, 0, None),
            ],
        )
    }

    async fn bytes(format: Format, rows: ReportRows) -> Vec<u8> {
        let chunks: Vec<_> = encode(rows, format).collect().await;
        chunks.into_iter().flat_map(Result::unwrap).collect()
    }

    #[tokio::test]
    async fn json_holds_the_columns_and_every_row() {
        let (schema, batches) = sample();
        let body = bytes(Format::Json, rows(batches, schema)).await;
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value["columns"],
            serde_json::json!([
                {"name": "interval_start", "type": "local_datetime"},
                {"name": "queue_id", "type": "string"},
                {"name": "offered", "type": "integer"},
                {"name": "service_level", "type": "number"},
            ])
        );
        assert_eq!(
            value["rows"],
            serde_json::json!([
                {"interval_start": "2000-01-03T00:00:00", "queue_id": "billing", "offered": 12, "service_level": 0.75},
                {"interval_start": "2000-01-03T00:30:00", "queue_id": null, "offered": 0, "service_level": null},
            ])
        );
    }

    #[tokio::test]
    async fn csv_without_rows_still_has_its_header() {
        let (schema, _) = sample();
        let body = String::from_utf8(bytes(Format::Csv, rows(Vec::new(), schema)).await).unwrap();
        assert_eq!(body, "interval_start,queue_id,offered,service_level\n");
    }

    #[tokio::test]
    async fn json_without_rows_is_still_a_document() {
        let (schema, _) = sample();
        let body = bytes(Format::Json, rows(Vec::new(), schema)).await;
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["rows"], serde_json::json!([]));
        assert_eq!(value["columns"].as_array().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn csv_has_one_header_and_a_line_per_row() {
        let (schema, batches) = sample();
        let body = String::from_utf8(bytes(Format::Csv, rows(batches, schema)).await).unwrap();
        assert_eq!(
            body,
            "interval_start,queue_id,offered,service_level\n\
             2000-01-03T00:00:00,billing,12,0.75\n\
             2000-01-03T00:30:00,,0,\n"
        );
    }

    #[tokio::test]
    async fn parquet_reads_back_with_the_same_rows() {
        let (schema, batches) = sample();
        let body = bytes(Format::Parquet, rows(batches, schema)).await;
        let file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut &file, &body).unwrap();
        let reader =
            datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                file,
            )
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(total, 2);
        let offered: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                b.column_by_name("offered")
                    .unwrap()
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(offered, [12, 0]);
    }

    #[tokio::test]
    async fn xlsx_is_a_zip_workbook() {
        let (schema, batches) = sample();
        let body = bytes(Format::Xlsx, rows(batches, schema)).await;
        assert_eq!(&body[..2], b"PK");
        assert!(body.len() > 1000);
    }

    #[test]
    fn formats_parse_and_name_the_choices() {
        assert_eq!("csv".parse::<Format>().unwrap(), Format::Csv);
        assert!(
            "pdf"
                .parse::<Format>()
                .unwrap_err()
                .contains("json, csv, xlsx, parquet")
        );
    }
}
