//! The `tenet` command line: parses arguments and wires the crates together.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::FixedOffset;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use tenet::app::{self, Application, Mode, Target};
use tenet::config::{Overrides, Settings};
use tenet::telemetry::{self, Output};
use tenet::{admin, import};
use tenet_events::{Role, TenantId};
use tenet_forecast::cli::{
    ErlangArgs, ForecastArgs, ForecastCommand, ScheduleCommand, run_erlang, run_forecast,
    run_schedule,
};
use uuid::Uuid;

// Reports build hash tables of hundreds of thousands of groups; mimalloc keeps freed memory
// for reuse instead of handing large blocks back to the kernel and faulting them in again on
// the next query. Its `no_thp` feature stops it asking for transparent huge pages: each one
// made a touched 2 MiB of its arenas resident at once, which doubled the memory of a small
// export and did not make the reports faster.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tenet: a contact-center platform for tickets, customers, quality, HR and workforce
/// management.
#[derive(Parser)]
#[command(name = "tenet", version, about)]
struct Cli {
    /// A TOML configuration file; environment variables TENET_<SECTION>__<KEY> override it.
    #[arg(long, global = true, env = "TENET_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory of the embedded mode (overrides data.dir).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything in one process on this machine: SQLite, local data, one HTTP port.
    Up {
        /// Address to serve HTTP on (overrides http.addr).
        #[arg(long)]
        http: Option<SocketAddr>,
        /// On a new installation, create a demo tenant with a real month of call traffic.
        #[arg(long)]
        demo: bool,
    },
    /// Run the named targets against shared infrastructure (PostgreSQL, Kafka, ...).
    Serve {
        /// Comma-separated targets to run: api, ingest, relay, writer.
        #[arg(long, value_delimiter = ',', required = true)]
        targets: Vec<Target>,
        /// Address to serve HTTP on (overrides http.addr).
        #[arg(long)]
        http: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage tenants and API tokens.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Import history into the event log.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Export one report of a tenant from the lake, as the API serves it (`GET /api/v1/reports`
    /// lists the reports and their parameters).
    Export {
        /// The report, e.g. call_intervals.
        report: String,
        /// The tenant whose rows are exported.
        #[arg(long)]
        tenant: TenantId,
        /// First local time included: 2026-02-01 or 2026-02-01T08:30.
        #[arg(long)]
        from: String,
        /// First local time excluded.
        #[arg(long)]
        to: String,
        /// Time zone of from, to and the rows: an IANA name or an offset like +02:00.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Any other report parameter, as name=value (repeatable), e.g. granularity=15min.
        #[arg(long = "param", short = 'p', value_parser = parse_param)]
        params: Vec<(String, String)>,
        /// json, csv, xlsx or parquet.
        #[arg(long, default_value = "csv")]
        format: tenet_lakehouse::export::Format,
        /// The file to write; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Benchmarks that print their figures, side by side with a named peer.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Erlang B, C or A for one interval: evaluate an agent count or staff for targets.
    Erlang(ErlangArgs),
    /// Forecast contact volume per interval from a history CSV, backtest the models, plan
    /// staffing, or write a history CSV from the lake.
    Forecast(Box<ForecastArgs>),
    /// Shift scheduling.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Report latency on a generated month of calls, against DuckDB on the same files.
    Reports {
        /// Call events to generate.
        #[arg(long, default_value_t = 100_000_000)]
        events: u64,
        /// Tenants to spread them over.
        #[arg(long, default_value_t = 1_000)]
        tenants: u32,
        /// Timed runs of each query, after a warm-up run.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Time the lake already in the data directory instead of generating one.
        #[arg(long)]
        reuse: bool,
        /// The Python interpreter that has the duckdb package.
        #[arg(long, default_value = "python3")]
        python: String,
        /// Also print (a)'s time in opening its session, planning and executing, and the plans
        /// of (a) and (b) with the time and rows of each step (EXPLAIN ANALYZE).
        #[arg(long)]
        explain: bool,
    },
    /// Events per second (and per CPU second) from Kafka into Delta Lake exactly once,
    /// against a raw consumer of the same topic; then end-to-end freshness.
    Ingest {
        /// The Kafka bootstrap servers (default: kafka.brokers of the settings).
        #[arg(long)]
        brokers: Option<String>,
        /// Call events in the throughput topic.
        #[arg(long, default_value_t = 2_000_000)]
        events: usize,
        /// Partitions of the benchmark topics.
        #[arg(long, default_value_t = 6)]
        partitions: u32,
        /// Tenants the events belong to.
        #[arg(long, default_value_t = 1_000)]
        tenants: u32,
        /// Alternating raw-consumer and lake-writer runs.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Events per second sent while freshness is measured (0 skips it).
        #[arg(long, default_value_t = 10_000)]
        freshness_rate: u32,
        /// Seconds of sending while freshness is measured.
        #[arg(long, default_value_t = 60)]
        freshness_secs: u64,
    },
    /// Seed PostgreSQL (database.url) with tenants and users for the ops API load test
    /// (`deploy/load/run.sh`), and write the operators' sign-in list for the load tool.
    SeedOps {
        /// Tenants, each with one project.
        #[arg(long, default_value_t = 100_000)]
        tenants: u32,
        /// Users over all tenants: an admin, a manager and operators in each.
        #[arg(long, default_value_t = 1_000_000)]
        users: u64,
        /// Operators to list for the load tool, spread over the tenants.
        #[arg(long, default_value_t = 1_000)]
        logins: u32,
        /// The sign-in list to write (CSV).
        #[arg(long, default_value = "logins.csv")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Per-call records (the tab-separated format of anonymous_bank_feb1999_calls.tsv).
    Calls {
        /// The file to import.
        file: PathBuf,
        /// The tenant the calls belong to.
        #[arg(long)]
        tenant: TenantId,
        /// The UTC offset of the file's local clock times, e.g. +02:00.
        #[arg(long, default_value = "+00:00", value_parser = parse_offset)]
        utc_offset: FixedOffset,
        /// Return only once the events have landed in the lake.
        #[arg(long)]
        wait: bool,
    },
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not name=value"))
}

fn parse_offset(text: &str) -> Result<FixedOffset, String> {
    text.parse::<FixedOffset>()
        .map_err(|_| format!("`{text}` is not a UTC offset like +02:00"))
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective settings as `key = value`, secrets redacted.
    Show,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Tenants (client companies).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// API tokens for integrations.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        /// The company's display name.
        name: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a bearer token and print it (it is shown only once).
    Create {
        /// The tenant the token acts in.
        #[arg(long)]
        tenant: TenantId,
        /// The role the token is authorised as.
        #[arg(long)]
        role: Role,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_in: Option<u32>,
        /// A note saying what uses the token.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token's id, as printed when it was created.
        id: Uuid,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let http_addr = match &cli.command {
        Command::Up { http, .. } | Command::Serve { http, .. } => *http,
        _ => None,
    };
    let overrides = Overrides {
        http_addr,
        data_dir: cli.data_dir.clone(),
    };
    let settings = Settings::load(cli.config.as_deref(), &overrides)?;
    match cli.command {
        Command::Up { demo, .. } => {
            telemetry::init(&settings.log, Output::Stdout)?;
            let data_dir = settings.data.dir.clone();
            let application = Application::build(settings, Mode::Embedded).await?;
            if demo {
                let log = application
                    .event_log()
                    .expect("the embedded mode has a log");
                if let Some(seeded) =
                    tenet::demo::seed(application.database(), log.as_ref(), &data_dir).await?
                {
                    tracing::info!(
                        tenant_id = %seeded.tenant,
                        events = seeded.events,
                        token_file = %seeded.token_file.display(),
                        "demo tenant created; its admin API token is in the token file"
                    );
                }
            }
            application.run_until(app::shutdown_signal()).await
        }
        Command::Serve { targets, .. } => serve(settings, Mode::Serve(targets)).await,
        Command::Config {
            command: ConfigCommand::Show,
        } => print(&settings.show()),
        Command::Import {
            command:
                ImportCommand::Calls {
                    file,
                    tenant,
                    utc_offset,
                    wait,
                },
        } => {
            telemetry::init(&settings.log, Output::Stderr)?;
            let database = admin::migrated_database(&settings).await?;
            let known = tenet_ops_api::tenants::find(&database, tenant).await?;
            database.close().await;
            anyhow::ensure!(known.is_some(), "tenant {tenant} does not exist");
            let (events, mut summary) = import::read_calls(&file, tenant, utc_offset)?;
            let log = app::open_event_log(&settings.data.dir).await?;
            summary.events = import::append(log.as_ref(), &events).await?;
            let landed = if wait {
                import::land(log, app::open_lake(&settings.data.dir)?, &settings.writer).await?;
                "they have landed in the lake"
            } else {
                "they are durable in the event log"
            };
            print(&format!(
                "imported {} calls as {} events ({} skipped as not real calls); {landed}",
                summary.calls, summary.events, summary.skipped
            ))
        }
        Command::Export {
            report,
            tenant,
            from,
            to,
            tz,
            mut params,
            format,
            out,
        } => {
            telemetry::init(&settings.log, Output::Stderr)?;
            params.extend([("from".into(), from), ("to".into(), to), ("tz".into(), tz)]);
            let to_file = out.is_some();
            let request = tenet::reports::ExportRequest {
                report,
                tenant,
                params,
                format,
                out,
                reader: settings.reports.reader_config(),
            };
            let written =
                tenet::reports::export(app::open_lake(&settings.data.dir)?, request).await?;
            if to_file {
                eprintln!("wrote {written} bytes");
            }
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Reports {
                    events,
                    tenants,
                    runs,
                    reuse,
                    python,
                    explain,
                },
        } => {
            telemetry::init(&settings.log, Output::Stderr)?;
            let figures = tenet::bench::reports::run(tenet::bench::reports::ReportBench {
                events,
                tenants,
                dir: settings.data.dir.clone(),
                runs,
                reuse,
                python,
                explain,
            })
            .await?;
            print(&serde_json::to_string_pretty(&figures)?)
        }
        Command::Bench {
            command:
                BenchCommand::Ingest {
                    brokers,
                    events,
                    partitions,
                    tenants,
                    runs,
                    freshness_rate,
                    freshness_secs,
                },
        } => {
            telemetry::init(&settings.log, Output::Stderr)?;
            let brokers = brokers.unwrap_or_else(|| settings.kafka.brokers.clone());
            anyhow::ensure!(
                !brokers.is_empty(),
                "name the broker with --brokers or kafka.brokers"
            );
            let figures = tenet::bench::ingest::run(tenet::bench::ingest::IngestBench {
                brokers,
                events,
                partitions,
                tenants,
                runs,
                freshness_rate,
                freshness_secs,
                dir: settings.data.dir.join("bench-ingest"),
            })
            .await?;
            print(&serde_json::to_string_pretty(&figures)?)
        }
        Command::Bench {
            command:
                BenchCommand::SeedOps {
                    tenants,
                    users,
                    logins,
                    out,
                },
        } => {
            telemetry::init(&settings.log, Output::Stderr)?;
            let database = tenet::admin::migrated_database(&settings).await?;
            let figures = tenet::bench::ops::seed(
                &database,
                &tenet::bench::ops::SeedOps {
                    tenants,
                    users,
                    logins,
                    out,
                },
            )
            .await?;
            print(&serde_json::to_string_pretty(&figures)?)
        }
        Command::Erlang(args) => print(&run_erlang(&args)?.to_string()),
        Command::Forecast(args) => {
            if let Some(ForecastCommand::History(history)) = &args.command {
                telemetry::init(&settings.log, Output::Stderr)?;
                let tenant: TenantId = history
                    .tenant
                    .parse()
                    .map_err(|error| anyhow::anyhow!("--tenant {}: {error}", history.tenant))?;
                let rows = tenet::history::export_csv(
                    app::open_lake(&settings.data.dir)?,
                    tenant,
                    history.params(),
                    &history.out,
                )
                .await?;
                return print(&serde_json::json!({ "rows": rows, "out": history.out }).to_string());
            }
            print(&run_forecast(&args)?.to_string())
        }
        Command::Schedule { command } => print(&run_schedule(&command)?.to_string()),
        Command::Migrate => {
            telemetry::init(&settings.log, Output::Stderr)?;
            let database = admin::migrated_database(&settings).await?;
            println!(
                "database is up to date ({} migrations)",
                database.known_migrations()
            );
            database.close().await;
            Ok(())
        }
        Command::Admin { command } => {
            telemetry::init(&settings.log, Output::Stderr)?;
            let database = admin::migrated_database(&settings).await?;
            let outcome = administer(&database, command).await;
            database.close().await;
            outcome
        }
    }
}

/// Prints `text` and a newline; a closed pipe (`tenet config show | head`) is not an error.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}") {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error.into()),
        _ => Ok(()),
    }
}

async fn serve(settings: Settings, mode: Mode) -> anyhow::Result<()> {
    telemetry::init(&settings.log, Output::Stdout)?;
    let application = Application::build(settings, mode).await?;
    application.run_until(app::shutdown_signal()).await
}

async fn administer(
    database: &tenet_ops_api::Database,
    command: AdminCommand,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::Tenant {
            command: TenantCommand::Create { name },
        } => {
            let tenant = admin::create_tenant(database, &name).await?;
            println!("{}", tenant.id);
        }
        AdminCommand::Token {
            command:
                TokenCommand::Create {
                    tenant,
                    role,
                    expires_in,
                    label,
                },
        } => {
            let issued = admin::create_token(database, tenant, role, expires_in, &label).await?;
            println!("{}", issued.secret.expose_secret());
            let expiry = issued
                .token
                .expires_at
                .map_or_else(|| "never".to_owned(), |at| at.to_rfc3339());
            eprintln!(
                "token id {} for tenant {} as {}; expires {expiry}; it is shown only once",
                issued.token.id, issued.token.tenant_id, issued.token.role
            );
        }
        AdminCommand::Token {
            command: TokenCommand::Revoke { id },
        } => {
            let token = admin::revoke_token(database, id).await?;
            println!("revoked {}", token.id);
        }
    }
    Ok(())
}
