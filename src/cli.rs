//! The `qbsync` command line. Every flag has an environment variable; `--json` makes a creating
//! command print exactly one JSON object on standard output.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::config::{IpRange, Settings};
use crate::signin::SignInPolicy;
use crate::startup::Application;
use crate::store::{self, Db, DbOptions, catalog};
use crate::{secrets, simulate};

#[derive(Parser, Debug)]
#[command(name = "qbsync", version, about = "QuickBooks Web Connector sync service for field-service records")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the SOAP endpoint, admin page and API.
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Organizations (tenants).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Admin accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// QuickBooks connections (one per company file).
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Play the Web Connector and QuickBooks against a running server.
    Simulate(SimulateArgs),
    /// Serve a local fake of QuickBooks Online (Intuit's OAuth 2.0 and Accounting API) with a
    /// generated company, to try the Online flow without an Intuit account.
    SimulateOnline(SimulateOnlineArgs),
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// SQLite file (created if missing), sqlite:PATH, or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = "qbsync.db")]
    pub database_url: String,
    /// Most database connections in the pool.
    #[arg(long, env = "QBSYNC_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub db_max_connections: u32,
    /// Seconds to wait for a free database connection.
    #[arg(long, env = "QBSYNC_DB_ACQUIRE_TIMEOUT", default_value_t = 30)]
    pub db_acquire_timeout: u64,
}

impl DbArgs {
    fn options(&self) -> DbOptions {
        DbOptions {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout),
        }
    }

    async fn open(&self) -> anyhow::Result<Db> {
        let db = Db::connect(&self.database_url, &self.options())
            .await
            .with_context(|| format!("opening the database {}", store::redact_url(&self.database_url)))?;
        db.migrate().await.context("applying database migrations")?;
        Ok(db)
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "QBSYNC_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The address the Web Connector and browsers reach this server at (https, or http://localhost).
    #[arg(long, env = "QBSYNC_PUBLIC_URL", default_value = "http://localhost:8080")]
    pub public_url: String,
    /// Customers asked for per qbXML page (MaxReturned).
    #[arg(long, env = "QBSYNC_PAGE_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub page_size: u32,
    /// Minutes without a call after which a Web Connector session expires.
    #[arg(long, env = "QBSYNC_TICKET_TTL_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub ticket_ttl_minutes: u32,
    /// Seconds without a call after which a live run is taken over by a new authenticate of the
    /// same connection (a crashed or restarted Web Connector); a fresher run answers busy.
    #[arg(long, env = "QBSYNC_STALE_RUN_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub stale_run_seconds: u32,
    /// An incremental run asks QuickBooks for the records modified since the newest one the last
    /// complete list held, less this many minutes (QuickBooks' local time repeats an hour when
    /// daylight saving time ends, and workstation clocks disagree).
    #[arg(long, env = "QBSYNC_INCREMENTAL_OVERLAP_MINUTES", default_value_t = 120, value_parser = clap::value_parser!(u32).range(0..=10080))]
    pub incremental_overlap_minutes: u32,
    /// Largest SOAP request accepted, in MiB. Escaping makes the SOAP body about a third larger than
    /// the qbXML in it; the default takes a 50 MB qbXML response. Bodies over 16 KiB wait in a temporary file.
    #[arg(long, env = "QBSYNC_MAX_BODY_MB", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_body_mb: u32,
    /// A SOAP request body is refused when nothing of it arrives for this many seconds; once this
    /// long has passed since it began, it must also average --body-min-bytes-per-second.
    #[arg(long, env = "QBSYNC_BODY_TIMEOUT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_timeout_seconds: u64,
    /// Slowest average rate of a SOAP request body after the first --body-timeout-seconds (0: none).
    #[arg(long, env = "QBSYNC_BODY_MIN_BYTES_PER_SECOND", default_value_t = 1024)]
    pub body_min_bytes_per_second: u64,
    /// Longest time a SOAP request body may take from its first byte to its last, in seconds.
    #[arg(long, env = "QBSYNC_BODY_MAX_SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub body_max_seconds: u64,
    /// Most uploads (SOAP bodies over 16 KiB, or of unknown length) in progress from one client
    /// address; more are answered 503 with Retry-After.
    #[arg(long, env = "QBSYNC_MAX_UPLOADS_PER_ADDRESS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub max_uploads_per_address: u32,
    /// Most uploads in progress in all; more are answered 503 with Retry-After.
    #[arg(long, env = "QBSYNC_MAX_UPLOADS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub max_uploads: u32,
    /// Oldest Web Connector version accepted (older ones are told to update). Empty accepts all.
    #[arg(long, env = "QBSYNC_MIN_QBWC_VERSION", default_value = "2.1.0.30")]
    pub min_qbwc_version: String,
    /// Web Connector versions below this get a warning they can dismiss. Empty: no warning.
    #[arg(long, env = "QBSYNC_RECOMMENDED_QBWC_VERSION", default_value = "")]
    pub recommended_qbwc_version: String,
    /// Application name shown in the Web Connector and QuickBooks.
    #[arg(long, env = "QBSYNC_APP_NAME", default_value = "qbsync")]
    pub app_name: String,
    /// HTTP worker threads (0: one per CPU).
    #[arg(long, env = "QBSYNC_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// JSON API requests a minute each organization may make, in bursts of up to a sixth of it;
    /// more answer 429 with Retry-After. 0: no limit.
    #[arg(long, env = "QBSYNC_API_REQUESTS_PER_MINUTE", default_value_t = 1200)]
    pub api_requests_per_minute: u32,
    /// Reverse proxies whose X-Forwarded-For is believed: IP addresses or CIDR blocks, comma
    /// separated. Empty: the client address is always the connecting peer's.
    #[arg(long = "trusted-proxy", env = "QBSYNC_TRUSTED_PROXY", value_delimiter = ',', num_args = 0..)]
    pub trusted_proxies: Vec<String>,
    /// When set, /metrics answers only requests with `Authorization: Bearer <this token>`.
    #[arg(long, env = "QBSYNC_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Wrong passwords for one account (admin email or Web Connector user name) within the
    /// window that lock it.
    #[arg(long, env = "QBSYNC_SIGN_IN_MAX_FAILURES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_max_failures: u32,
    /// Wrong passwords from one client address within the window that lock the address.
    #[arg(long, env = "QBSYNC_SIGN_IN_ADDRESS_MAX_FAILURES", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_address_max_failures: u32,
    /// Minutes over which failed sign-ins are counted.
    #[arg(long, env = "QBSYNC_SIGN_IN_WINDOW_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub sign_in_window_minutes: u32,
    /// Minutes a locked account or address stays locked.
    #[arg(long, env = "QBSYNC_SIGN_IN_LOCKOUT_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub sign_in_lockout_minutes: u32,
    /// Milliseconds before answering an account's first failed sign-in; doubles per failure.
    #[arg(long, env = "QBSYNC_SIGN_IN_DELAY_MS", default_value_t = 250)]
    pub sign_in_delay_ms: u64,
    /// Longest delay before answering a failed sign-in, in milliseconds.
    #[arg(long, env = "QBSYNC_SIGN_IN_MAX_DELAY_MS", default_value_t = 4000)]
    pub sign_in_max_delay_ms: u64,
    /// Password checks (argon2) running at once (0: one per CPU).
    #[arg(long, env = "QBSYNC_PASSWORD_CHECKS", default_value_t = 0)]
    pub password_checks: usize,
    /// Seconds a sign-in waits for its password check to start before it is given up (503 on
    /// the admin page, `nvu` to the Web Connector).
    #[arg(long, env = "QBSYNC_PASSWORD_CHECK_WAIT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub password_check_wait_secs: u64,
    /// Hours a first-run setup link stays valid.
    #[arg(long, env = "QBSYNC_SETUP_LINK_HOURS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub setup_link_hours: u32,
    /// The key that seals QuickBooks Online tokens at rest: 32 bytes in base64
    /// (`openssl rand -base64 32`). Unset with SQLite: kept in a file beside the database, made
    /// on first start. Required with PostgreSQL when QuickBooks Online is enabled.
    #[arg(long, env = "QBSYNC_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    #[command(flatten)]
    pub qbo: QboArgs,
}

/// QuickBooks Online settings of `serve`.
#[derive(Args, Debug, Clone)]
pub struct QboArgs {
    /// The Intuit app's client id (its Keys page). Without it, online connections cannot be made.
    #[arg(long, env = "QBSYNC_QBO_CLIENT_ID")]
    pub qbo_client_id: Option<String>,
    /// The Intuit app's client secret.
    #[arg(long, env = "QBSYNC_QBO_CLIENT_SECRET", hide_env_values = true)]
    pub qbo_client_secret: Option<String>,
    /// `production` or `sandbox`: picks the Accounting API's host.
    #[arg(long, env = "QBSYNC_QBO_ENVIRONMENT", default_value = "production")]
    pub qbo_environment: String,
    /// The webhooks verifier token (the Intuit app's Webhooks page); without it /qbo/webhooks answers 401.
    #[arg(long, env = "QBSYNC_QBO_WEBHOOK_TOKEN", hide_env_values = true)]
    pub qbo_webhook_token: Option<String>,
    /// Replaces Intuit's authorization endpoint (tests, a proxy, `qbsync simulate-online`).
    #[arg(long, env = "QBSYNC_QBO_AUTH_URL")]
    pub qbo_auth_url: Option<String>,
    /// Replaces Intuit's token endpoint.
    #[arg(long, env = "QBSYNC_QBO_TOKEN_URL")]
    pub qbo_token_url: Option<String>,
    /// Replaces Intuit's revocation endpoint.
    #[arg(long, env = "QBSYNC_QBO_REVOKE_URL")]
    pub qbo_revoke_url: Option<String>,
    /// Replaces the Accounting API's base URL (the part before /v3/company/...).
    #[arg(long, env = "QBSYNC_QBO_API_URL")]
    pub qbo_api_url: Option<String>,
    /// Seconds to wait after a 429 that gives no Retry-After (Intuit asks for a minute).
    #[arg(long, env = "QBSYNC_QBO_THROTTLE_WAIT_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub qbo_throttle_wait_seconds: u64,
    /// Milliseconds to wait after a QuickBooks Online server error before trying again; doubles each time.
    #[arg(long, env = "QBSYNC_QBO_RETRY_WAIT_MS", default_value_t = 2000)]
    pub qbo_retry_wait_ms: u64,
}

impl QboArgs {
    pub fn settings(&self) -> anyhow::Result<crate::qbo::QboSettings> {
        let set = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        Ok(crate::qbo::QboSettings {
            client_id: set(&self.qbo_client_id),
            client_secret: set(&self.qbo_client_secret),
            environment: self.qbo_environment.parse().map_err(anyhow::Error::msg)?,
            webhook_token: set(&self.qbo_webhook_token),
            auth_url: set(&self.qbo_auth_url),
            token_url: set(&self.qbo_token_url),
            revoke_url: set(&self.qbo_revoke_url),
            api_url: set(&self.qbo_api_url),
            throttle_wait: Duration::from_secs(self.qbo_throttle_wait_seconds),
            retry_wait: Duration::from_millis(self.qbo_retry_wait_ms),
            ..crate::qbo::QboSettings::default()
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organization.
    Create {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an admin; the password is read from standard input, or generated and printed once.
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// Organization id or name.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConnectionCommand {
    /// Create a QuickBooks connection; prints its Web Connector username and password (once).
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// Organization id or name.
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// Web Connector user name, used as given (default: derived from the organization and
        /// connection names, with a random suffix).
        #[arg(long)]
        username: Option<String>,
        /// Company file QuickBooks should open (default: the file open in QuickBooks).
        #[arg(long, default_value = "")]
        company_file: String,
        /// How often the Web Connector runs, in minutes.
        #[arg(long, env = "QBSYNC_RUN_EVERY_MINUTES", default_value_t = 60)]
        run_every_minutes: i64,
        #[arg(long)]
        json: bool,
    },
    /// Print a connection's .qwc file.
    Qwc {
        #[command(flatten)]
        db: DbArgs,
        /// Connection id.
        id: String,
        #[arg(long, env = "QBSYNC_PUBLIC_URL", default_value = "http://localhost:8080")]
        public_url: String,
        #[arg(long, env = "QBSYNC_APP_NAME", default_value = "qbsync")]
        app_name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for an organization (printed once; only its hash is kept).
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// Organization id or name.
        #[arg(long)]
        org: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Base URL of the server (or its /qbwc endpoint).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub password: String,
    #[arg(long, default_value_t = 100)]
    pub customers: usize,
    #[arg(long, default_value_t = 10)]
    pub employees: usize,
    /// Seed of the generated company (same seed, same data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Web Connector version to announce.
    #[arg(long, default_value = "2.3.0.215")]
    pub qbwc_version: String,
    /// Allow a server that is not on a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Add a customer with exactly this name (repeatable), e.g. to see how odd names show.
    #[arg(long = "extra-customer", value_name = "NAME")]
    pub extra_customers: Vec<String>,
    /// Play the company N edits later: N customers (and employees) renamed or given a new
    /// address and phone, N made inactive and N deleted, as QuickBooks allows (leaf records
    /// only). Run once without it and once with it to see changes arrive.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub evolve: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SimulateOnlineArgs {
    /// Address to serve the fake on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    #[arg(long, default_value_t = 100)]
    pub customers: usize,
    #[arg(long, default_value_t = 10)]
    pub employees: usize,
    /// Seed of the generated company (same seed, same data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The app's client id the fake accepts.
    #[arg(long, default_value = "ABfakeClientId0qbsync")]
    pub client_id: String,
    /// The app's client secret the fake accepts.
    #[arg(long, default_value = "fakeClientSecret0qbsync")]
    pub client_secret: String,
    /// The company's realm id.
    #[arg(long, default_value = "9341453081237412")]
    pub realm_id: String,
    /// The company's name (default: the generated one).
    #[arg(long)]
    pub company_name: Option<String>,
    /// Verifier token webhooks are signed with.
    #[arg(long, default_value = "fake-verifier-token-0qbsync")]
    pub webhook_token: String,
    /// Where to POST a signed webhook for every change made on the control page, e.g.
    /// http://127.0.0.1:8080/qbo/webhooks.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Webhook body format.
    #[arg(long, value_enum, default_value_t = WebhookFormatArg::Cloudevents)]
    pub webhook_format: WebhookFormatArg,
    /// `auto`: the authorization step redirects back at once; `page`: a consent page with
    /// Connect and Cancel buttons.
    #[arg(long, value_enum, default_value_t = ConsentArg::Page)]
    pub consent: ConsentArg,
    /// Allow listening on, and sending webhooks to, addresses that are not loopback.
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentArg {
    Auto,
    Page,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormatArg {
    Cloudevents,
    Legacy,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Serve(_)));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(serving: bool) {
    let default = if serving { "info,sqlx=warn" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("QBSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => runtime()?.block_on(serve(*args)),
        Command::Migrate(db) => runtime()?.block_on(async {
            db.open().await?;
            println!("database is up to date");
            Ok(())
        }),
        Command::Org(OrgCommand::Create { db, name, json }) => runtime()?.block_on(async {
            let name = name.trim();
            if name.is_empty() {
                bail!("the organization name must not be empty");
            }
            let db = db.open().await?;
            let org = catalog::create_organization(&db, name).await?;
            if json {
                println!("{}", json!({ "id": org.organization_id, "name": org.name }));
            } else {
                println!("Created organization {:?} ({})", org.name, org.organization_id);
            }
            Ok(())
        }),
        Command::Admin(AdminCommand::Create { db, org, email, password_stdin, json }) => runtime()?.block_on(async {
            let email = email.trim().to_lowercase();
            if !email.contains('@') || email.len() < 3 {
                bail!("{email:?} is not an email address");
            }
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
                let password = line.trim_end_matches(['\r', '\n']).to_string();
                if password.chars().count() < 10 {
                    bail!("the password must have at least 10 characters");
                }
                Some(password)
            } else {
                None
            };
            let db = db.open().await?;
            let org =
                catalog::find_organization(&db, &org).await.map_err(|_| anyhow::anyhow!("no organization {org:?}"))?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(secrets::new_password);
            let admin =
                catalog::create_admin(&db, org.organization_id, &email, &secrets::hash_password(&password)).await?;
            if json {
                let mut out = json!({ "id": admin.admin_id, "email": admin.email });
                if generated {
                    out["password"] = json!(password);
                }
                println!("{out}");
            } else {
                println!("Created admin {} in {:?} ({})", admin.email, org.name, admin.admin_id);
                if generated {
                    println!("Password (shown once): {password}");
                }
            }
            Ok(())
        }),
        Command::Connection(ConnectionCommand::Create {
            db,
            org,
            name,
            username,
            company_file,
            run_every_minutes,
            json,
        }) => runtime()?.block_on(async {
            let name = name.trim().to_string();
            if name.is_empty() {
                bail!("the connection name must not be empty");
            }
            let db = db.open().await?;
            let org =
                catalog::find_organization(&db, &org).await.map_err(|_| anyhow::anyhow!("no organization {org:?}"))?;
            let username = match username {
                Some(u) if !u.trim().is_empty() => u.trim().to_string(),
                _ => catalog::unique_username(&catalog::default_username(&org.name, &name)),
            };
            let password = secrets::new_password();
            let conn = catalog::create_connection(
                &db,
                catalog::NewConnection {
                    organization_id: org.organization_id,
                    name: &name,
                    username: &username,
                    password_hash: &secrets::hash_generated_secret(&password),
                    company_file: &company_file,
                    run_every_minutes: run_every_minutes.clamp(1, 1440),
                    kind: crate::store::catalog::ConnectionKind::Desktop,
                },
            )
            .await?;
            if json {
                println!(
                    "{}",
                    json!({ "id": conn.connection_id, "org_id": conn.organization_id, "name": conn.name,
                                "username": conn.username, "password": password, "owner_id": conn.owner_id,
                                "file_id": conn.file_id })
                );
            } else {
                println!("Created connection {:?} ({})", conn.name, conn.connection_id);
                println!("Web Connector user name: {}", conn.username);
                println!("Web Connector password (shown once): {password}");
                println!("Get its .qwc file with: qbsync connection qwc {}", conn.connection_id);
            }
            Ok(())
        }),
        Command::Connection(ConnectionCommand::Qwc { db, id, public_url, app_name }) => runtime()?.block_on(async {
            let db = db.open().await?;
            let connection_id =
                uuid::Uuid::parse_str(id.trim()).map_err(|_| anyhow::anyhow!("{id:?} is not a connection id"))?;
            let conn = catalog::get_connection(&db, None, connection_id)
                .await
                .map_err(|_| anyhow::anyhow!("no connection {id}"))?;
            let qwc = crate::qwc::render(&crate::qwc::QwcFields {
                app_name: &format!("{app_name} ({})", conn.name),
                app_description: &format!("Keeps {app_name} customers and employees in step with QuickBooks"),
                public_url: &public_url,
                username: &conn.username,
                owner_id: &conn.owner_id,
                file_id: &conn.file_id,
                run_every_minutes: conn.run_every_minutes,
            })?;
            print!("{qwc}");
            Ok(())
        }),
        Command::Token(TokenCommand::Create { db, org, json }) => runtime()?.block_on(async {
            let db = db.open().await?;
            let org =
                catalog::find_organization(&db, &org).await.map_err(|_| anyhow::anyhow!("no organization {org:?}"))?;
            let token = secrets::new_api_token();
            catalog::create_api_token(&db, org.organization_id, &secrets::sha256_hex(&token)).await?;
            if json {
                println!("{}", json!({ "token": token }));
            } else {
                println!("API token for {:?} (shown once): {token}", org.name);
            }
            Ok(())
        }),
        Command::Simulate(args) => simulate_command(args),
        Command::SimulateOnline(args) => simulate_online_command(args),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = Settings {
        listen: args.listen,
        database_url: args.db.database_url.clone(),
        public_url: args.public_url,
        max_body_bytes: args.max_body_mb as usize * 1024 * 1024,
        body_timeout: Duration::from_secs(args.body_timeout_seconds),
        body_min_bytes_per_second: args.body_min_bytes_per_second,
        body_max_duration: std::time::Duration::from_secs(args.body_max_seconds),
        max_uploads_per_address: args.max_uploads_per_address as usize,
        max_uploads: args.max_uploads as usize,
        app_name: args.app_name,
        run_every_minutes: 60,
        workers: args.workers,
        api_requests_per_minute: args.api_requests_per_minute,
        trusted_proxies: args
            .trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<IpRange>().context("--trusted-proxy / QBSYNC_TRUSTED_PROXY"))
            .collect::<anyhow::Result<_>>()?,
        metrics_token: args.metrics_token.filter(|t| !t.trim().is_empty()),
        setup_link_ttl: chrono::Duration::hours(i64::from(args.setup_link_hours)),
        sign_in: SignInPolicy {
            account_max_failures: args.sign_in_max_failures,
            address_max_failures: args.sign_in_address_max_failures,
            window: Duration::from_secs(u64::from(args.sign_in_window_minutes) * 60),
            lockout: Duration::from_secs(u64::from(args.sign_in_lockout_minutes) * 60),
            first_delay: Duration::from_millis(args.sign_in_delay_ms),
            max_delay: Duration::from_millis(args.sign_in_max_delay_ms.max(args.sign_in_delay_ms)),
            password_checks: args.password_checks,
            password_check_wait: Duration::from_secs(args.password_check_wait_secs),
        },
        db: args.db.options(),
        sync: crate::sync::SyncSettings {
            page_size: args.page_size,
            ticket_ttl: chrono::Duration::minutes(i64::from(args.ticket_ttl_minutes)),
            stale_run: chrono::Duration::seconds(i64::from(args.stale_run_seconds)),
            min_qbwc_version: Some(args.min_qbwc_version).filter(|v| !v.trim().is_empty()),
            recommended_qbwc_version: Some(args.recommended_qbwc_version).filter(|v| !v.trim().is_empty()),
            incremental_overlap: chrono::Duration::minutes(i64::from(args.incremental_overlap_minutes)),
        },
        qbo: args.qbo.settings()?,
        secret_key: args.secret_key.filter(|k| !k.trim().is_empty()),
    };
    let listen = settings.listen.clone();
    let public = settings.public_url.clone();
    let db_kind = store::redact_url(&settings.database_url);
    let app = Application::build(settings).await?;
    tracing::info!("qbsync listening on {listen} (port {}), public URL {public}, database {db_kind}", app.port());
    if let Some(link) = app.setup_link().await? {
        println!("No admin exists yet. Open this one-time link to create the first organization and admin:\n  {link}");
        println!("(or use `qbsync org create` and `qbsync admin create`)");
    }
    app.run_until_stopped().await?;
    Ok(())
}

fn simulate_command(args: SimulateArgs) -> anyhow::Result<()> {
    let mut data = simulate::Dataset::generate(args.seed, args.customers, args.employees);
    for name in &args.extra_customers {
        data.add_customer(name);
    }
    if args.evolve > 0 {
        data.evolve(args.seed, args.evolve, args.evolve, args.evolve);
    }
    let mut quickbooks = simulate::FakeQuickBooks::new(data, simulate::Faults::default());
    let options = simulate::SimOptions {
        url: args.url,
        username: args.username,
        password: args.password,
        qbwc_version: args.qbwc_version,
        allow_remote: args.allow_remote,
        ..simulate::SimOptions::default()
    };
    let report = simulate::run(&options, &mut quickbooks)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.summary());
    }
    Ok(())
}

fn simulate_online_command(args: SimulateOnlineArgs) -> anyhow::Result<()> {
    let listen: std::net::SocketAddr = args
        .listen
        .parse()
        .with_context(|| format!("--listen {:?}: expected HOST:PORT with an IP address", args.listen))?;
    if !listen.ip().is_loopback() && !args.allow_remote {
        bail!("refusing to listen on {listen}: not a loopback address (use --allow-remote to allow it)");
    }
    let webhook_url =
        match args.webhook_url.as_deref().map(|u| u.trim().trim_end_matches('/')).filter(|u| !u.is_empty()) {
            Some(url) => {
                // A bare base URL means qbsync's webhook endpoint.
                let bare = url.strip_prefix("http://").is_some_and(|rest| !rest.contains('/'));
                let url = if bare { format!("{url}/qbo/webhooks") } else { url.to_string() };
                Some(simulate::endpoint_url(&url, args.allow_remote).context("--webhook-url")?)
            }
            None => None,
        };
    let data = simulate::Dataset::generate(args.seed, args.customers, args.employees);
    let (customers, employees) = (data.customers.len(), data.employees.len());
    let config = simulate::FakeIntuitConfig {
        client_id: args.client_id,
        client_secret: args.client_secret,
        realm_id: args.realm_id,
        company_name: args.company_name.unwrap_or_default(),
        webhook_token: Some(args.webhook_token),
        auto_consent: args.consent == ConsentArg::Auto,
        webhook_url,
        webhook_format: match args.webhook_format {
            WebhookFormatArg::Cloudevents => simulate::WebhookFormat::CloudEvents,
            WebhookFormatArg::Legacy => simulate::WebhookFormat::Legacy,
        },
        ..simulate::FakeIntuitConfig::default()
    };
    let fake = simulate::FakeIntuit::start(&listen.to_string(), config, data)
        .with_context(|| format!("cannot serve on {listen}"))?;
    let config = fake.config();
    println!(
        "Fake QuickBooks Online on {} (realm {}): {customers} customers, {employees} employees.",
        fake.base_url(),
        config.realm_id
    );
    println!("Start qbsync with these settings (or the matching `qbsync serve` flags):");
    println!("  QBSYNC_QBO_AUTH_URL={}", fake.auth_url());
    println!("  QBSYNC_QBO_TOKEN_URL={}", fake.token_url());
    println!("  QBSYNC_QBO_REVOKE_URL={}", fake.revoke_url());
    println!("  QBSYNC_QBO_API_URL={}", fake.api_url());
    println!("  QBSYNC_QBO_CLIENT_ID={}", config.client_id);
    println!("  QBSYNC_QBO_CLIENT_SECRET={}", config.client_secret);
    println!("  QBSYNC_QBO_WEBHOOK_TOKEN={}", config.webhook_token.as_deref().unwrap_or_default());
    println!("Change the company, expire tokens or inject faults at {}/_fake", fake.base_url());
    match &config.webhook_url {
        Some(url) => println!("Each change there is POSTed as a signed webhook to {url}."),
        None => println!("(--webhook-url makes each change there POST a signed webhook.)"),
    }
    println!("Press Ctrl-C to stop.");
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
