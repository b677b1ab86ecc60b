//! `tongdai`: the thin binary. Parses the command line, loads the config,
//! sets up logging to a file, picks the backend and runs the console.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::sync::mpsc;

use tongdai::app::i18n::Lang;
use tongdai::app::keymap::{DEFAULT_KEYMAP, Keymap};
use tongdai::app::prefs::Prefs;
use tongdai::app::run::Exit;
use tongdai::app::state::{AppState, Banner, Caps, NoticeText, QueueInfo, Setup};
use tongdai::app::theme::{ColorDepth, Theme};
use tongdai::app::{App, terminal};
use tongdai::config::{self, BackendKind, Config};
use tongdai::engine::{
    Availability, Backend, CallEvent, CallId, Command, Device, Direction, Event, EventSink,
    RegState, RingInfo,
};

#[derive(Parser, Debug)]
#[command(
    name = "tongdai",
    version,
    about = "A keyboard-only call console for VCC call centers and SIP PBXs"
)]
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/tongdai/config.toml).
    #[arg(long, global = true, env = "TONGDAI_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Theme: dark, light, high-contrast, or a path to a theme .toml.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    theme: Option<String>,
    /// Log filter for the log file, e.g. info, debug, tongdai=trace.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    /// Language of the console: en or vi (default: ui.language, then LANG).
    #[arg(long, global = true, value_parser = ["en", "vi"])]
    lang: Option<String>,
    /// No screen: the engine alone, driven through the control socket
    /// (`tongdai ctl`); exits cleanly on SIGTERM, SIGINT and SIGHUP.
    #[arg(long, global = true)]
    headless: bool,
    /// The control socket's name (`$XDG_RUNTIME_DIR/tongdai/<name>.sock`).
    #[arg(long, global = true, default_value = "default", value_name = "NAME")]
    socket_name: String,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Start the console with the configured account (the default).
    Run,
    /// Start the console against the built-in local switchboard.
    Demo {
        /// The switchboard agent to log in as (default: demo.agent).
        #[arg(long)]
        agent: Option<String>,
        /// Benchmarks and screenshots: a scripted engine, no network
        /// (`idle`, `in-call`, `first-run`).
        #[arg(long, hide = true, value_name = "SCREEN")]
        screen: Option<String>,
    },
    /// Run the local VCC-compatible switchboard alone (REST, push, SIP over WS).
    Switchboard {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The domain's access key (mode 600); default: TONGDAI_VCC_ACCESS_KEY
        /// or the demo's well-known key.
        #[arg(long)]
        access_key_file: Option<PathBuf>,
        /// Also N generated desk-phone agents, extensions 20001… (load runs:
        /// benches/consoles.sh); SIGUSR1 switches every agent On / Off.
        #[arg(long, default_value_t = 0, value_name = "N")]
        agents: u32,
    },
    /// Print a VCC login token (JWT) for the configured [vcc] agent, as the
    /// SDK's login.php does.
    Token,
    /// Print the call history (scripts: --json).
    History {
        #[arg(long)]
        json: bool,
        /// Only missed calls.
        #[arg(long)]
        missed: bool,
        /// today, yesterday, 30m, 4h, 7d, 2w, a date or an ISO time.
        #[arg(long)]
        since: Option<String>,
    },
    /// Import or export contacts (CSV).
    Contacts {
        #[command(subcommand)]
        action: ContactsCmd,
    },
    /// Drive a running console: call, answer, end, hold, mute, dtmf, status,
    /// events, send '<json>'.
    Ctl {
        /// The console's socket, when several run.
        #[arg(long)]
        socket: Option<PathBuf>,
        /// `status` as JSON.
        #[arg(long)]
        json: bool,
        /// call NUMBER | answer [CALL] | reject [CALL] | decline [CALL] |
        /// end [CALL] | hold [on|off] | mute [on|off] | dtmf D |
        /// availability [on|off] | claim-voice | status | events | send JSON
        /// (CALL: a call's name from `status`, e.g. c2; default: the selected call)
        verb: String,
        arg: Option<String>,
    },
    /// List the sound devices (ALSA, and JACK when JACK_DEFAULT_SERVER is
    /// set) with the names to use in [audio] input, output and ring.
    Devices {
        #[arg(long)]
        json: bool,
    },
    /// Configuration helpers.
    Config {
        /// Print a commented default config that parses.
        #[arg(long)]
        print_default: bool,
        /// Print the compiled-in keymap.
        #[arg(long)]
        print_keymap: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ContactsCmd {
    /// Import a CSV file whose header row names the columns.
    Import { file: PathBuf },
    /// Write every contact as CSV on stdout.
    Export,
}

/// The call history and contacts database.
fn store_path() -> PathBuf {
    directories::ProjectDirs::from("", "", "tongdai")
        .map(|d| d.data_dir().join("history.sqlite3"))
        .unwrap_or_else(|| PathBuf::from("tongdai-history.sqlite3"))
}

/// The last calls from the history store, newest first, for the customer
/// popup's "recent calls with this number". A store that cannot be read
/// leaves the popup with this session's calls only (logged, not fatal).
fn preload_recent(path: &std::path::Path) -> Vec<tongdai::app::state::RecentCall> {
    use tongdai::store::{CallQuery, Store};
    let loaded = Store::open(path).and_then(|store| {
        let calls = store.calls(&CallQuery {
            limit: Some(500),
            finished_only: true,
            ..CallQuery::default()
        })?;
        Ok(calls
            .into_iter()
            .map(|c| tongdai::app::state::RecentCall {
                when: store.local_time_text(c.started_at).ok(),
                talk_secs: c.talk_time().map(|d| d.as_secs()),
                number: c.number,
                direction: c.direction,
                reason: c.end_reason,
            })
            .collect())
    });
    match loaded {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "call history not loaded for the popup");
            Vec::new()
        }
    }
}

/// The `[crm]` client for the popup; a bad token file is a notice on the
/// console (its message names the file, never the token).
fn crm_client(cfg: &Config, state: &mut AppState) -> Option<std::sync::Arc<tongdai::crm::Crm>> {
    let c = cfg.crm.clone()?;
    match tongdai::crm::Crm::new(c) {
        Ok(crm) => {
            state.crm_configured = true;
            Some(std::sync::Arc::new(crm))
        }
        Err(e) => {
            tracing::warn!(error = %e, "no CRM lookups");
            state.set_notice(tongdai::app::state::Level::Warning, NoticeText::Crm(e));
            None
        }
    }
}

/// Subcommands that do not start a console. `None`: not one of them.
fn tool_command(cli: &Cli) -> anyhow::Result<Option<ExitCode>> {
    use tongdai::control::client;
    match &cli.command {
        Some(Cmd::Ctl {
            socket,
            json,
            verb,
            arg,
        }) => {
            let path = client::find_socket(socket.as_deref())?;
            match verb.as_str() {
                "events" => client::events(&path, &mut std::io::stdout())?,
                "send" => {
                    let line = arg.as_deref().context("ctl send needs a JSON request")?;
                    println!("{}", client::send(&path, line)?);
                }
                "status" => {
                    let v = client::command(&path, client::request_for("status", None)?)?;
                    if *json {
                        println!("{v}");
                    } else {
                        println!("{}", client::format_status(&v));
                    }
                }
                other => {
                    let req = client::request_for(other, arg.as_deref())?;
                    println!("{}", client::command(&path, req)?);
                }
            }
            Ok(Some(ExitCode::SUCCESS))
        }
        Some(Cmd::History {
            json,
            missed,
            since,
        }) => {
            tongdai::store::history_command(
                &store_path(),
                *json,
                *missed,
                since.as_deref(),
                &mut std::io::stdout(),
            )?;
            Ok(Some(ExitCode::SUCCESS))
        }
        Some(Cmd::Contacts { action }) => {
            match action {
                ContactsCmd::Import { file } => {
                    tongdai::store::contacts_import(&store_path(), file, &mut std::io::stdout())?;
                }
                ContactsCmd::Export => {
                    tongdai::store::contacts_export(&store_path(), &mut std::io::stdout())?;
                }
            }
            Ok(Some(ExitCode::SUCCESS))
        }
        Some(Cmd::Devices { json }) => {
            tongdai::media::devices::devices_command(*json, &mut std::io::stdout())?;
            Ok(Some(ExitCode::SUCCESS))
        }
        Some(Cmd::Token) => {
            let cfg = config::load(cli.config.as_deref())?;
            let vcc = cfg
                .vcc
                .context("tongdai token needs a [vcc] section (domain, ipphone, access key)")?;
            let token =
                tongdai::backends::vcc::jwt::token_command(&vcc, std::time::SystemTime::now())?;
            // The token itself is the output: stdout only, never a log.
            println!("{}", token.expose());
            Ok(Some(ExitCode::SUCCESS))
        }
        Some(Cmd::Switchboard {
            listen,
            access_key_file,
            agents,
        }) => {
            let mut opts = tongdai::switchboard::SwitchboardOptions::from_env_or_demo(
                *listen,
                access_key_file.clone(),
            )?;
            opts.scenario.add_team(*agents);
            let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            rt.block_on(tongdai::switchboard::run(opts))?;
            Ok(Some(ExitCode::SUCCESS))
        }
        _ => Ok(None),
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    // ring and aws-lc-rs are both linked: pick one before any TLS.
    tongdai::backends::vcc::install_crypto_provider();
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        // `tongdai history | head -1`: the reader left; stop quietly, as
        // Unix tools do, instead of reporting a broken pipe.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tongdai: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(code) = tool_command(&cli)? {
        return Ok(code);
    }
    if let Some(Cmd::Config {
        print_default,
        print_keymap,
    }) = &cli.command
    {
        if *print_keymap {
            print!("{DEFAULT_KEYMAP}");
        } else if *print_default {
            print!("{}", config::DEFAULT_CONFIG);
        } else {
            // Check the config and say where it is.
            let cfg = config::load(cli.config.as_deref())?;
            match &cfg.source {
                Some(p) => println!("{}: ok (backend = {})", p.display(), cfg.backend.name()),
                None => println!(
                    "no config file; defaults (backend = {})",
                    cfg.backend.name()
                ),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }

    let started = Instant::now();
    let mut cfg = config::load(cli.config.as_deref())?;
    config::prepare_record_dir(&cfg)?;
    if let Some(t) = &cli.theme {
        cfg.ui.theme = t.clone();
    }
    if let Some(l) = &cli.log_level {
        cfg.log.level = l.clone();
    }
    if let Some(l) = &cli.lang {
        cfg.ui.language = Some(if l == "vi" { Lang::Vi } else { Lang::En });
    }
    // What the agent chose last time (L, Ctrl-T, d) beats the config file;
    // the command line beats both.
    let prefs_path = Prefs::default_path();
    let prefs = prefs_path.as_deref().map(Prefs::load).unwrap_or_default();
    let mut lang = cfg.language();
    if cli.lang.is_none()
        && let Some(l) = prefs.language
    {
        lang = l;
    }
    let keymap = Keymap::with_overrides(&cfg.ui.keys)?;
    let depth = ColorDepth::from_env(cfg.ui.colors);
    let remembered = prefs
        .theme
        .as_deref()
        .filter(|_| cli.theme.is_none())
        .and_then(|t| Theme::load(t, depth, config::config_dir().as_deref()).ok());
    let theme = match remembered {
        Some(t) => t,
        None => Theme::load(&cfg.ui.theme, depth, config::config_dir().as_deref())?,
    };
    let themes = Theme::cycle(theme);

    let log = init_logging(&cfg)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        backend = cfg.backend.name(),
        "tongdai starting"
    );

    let runtime = runtime_for(&cfg.audio)?;
    let log_file = &log.stderr;
    let exit = runtime.block_on(async move {
        let mut state = AppState::new(lang, keymap, Instant::now());
        state.confirm_quit = cfg.ui.confirm_quit;
        if let Some(v) = &cfg.vcc {
            state.offer_timeout = Duration::from_secs(v.transfer_offer_timeout_s);
        }
        let mut switchboard = None;
        let backend: Option<Box<dyn Backend>> = match &cli.command {
            Some(Cmd::Demo {
                screen: Some(screen),
                ..
            }) => scripted(screen, &mut state)?,
            Some(Cmd::Demo { agent, .. }) => {
                let agent = agent.clone().unwrap_or_else(|| cfg.demo.agent.clone());
                Some(start_demo(&agent, &cfg.audio, &mut state, &mut switchboard).await?)
            }
            _ if cfg.backend == BackendKind::Demo => {
                let agent = cfg.demo.agent.clone();
                Some(start_demo(&agent, &cfg.audio, &mut state, &mut switchboard).await?)
            }
            _ => {
                state.caps = caps_for(&cfg);
                build_backend(&cfg, &mut state)?
            }
        };
        if cli.headless {
            let Some(backend) = backend else {
                anyhow::bail!("--headless needs an account (or `tongdai demo --headless`)");
            };
            let mut opts = tongdai::control::headless::HeadlessOptions::named(&cli.socket_name);
            opts.history = Some(store_path());
            opts.alerts = Some(cfg.audio.clone());
            let code = tongdai::control::headless::run(backend, opts).await;
            if let Some(sb) = switchboard {
                sb.shutdown().await;
            }
            return anyhow::Ok(Err(code));
        }
        if backend.is_none() && state.first_run.is_none() {
            state.first_run = Some(setup(&cfg, cli.config.as_ref()));
        }
        if backend.is_some() {
            state.recent = preload_recent(&store_path());
            state.notes_enabled = true;
        }
        let crm = if backend.is_some() {
            crm_client(&cfg, &mut state)
        } else {
            None
        };
        let mut app = App::new(state, themes);
        if !matches!(
            &cli.command,
            Some(Cmd::Demo {
                screen: Some(_),
                ..
            })
        ) {
            app.restore_device = prefs.device();
            app.prefs = prefs.clone();
            // Only a change made in this session is written.
            app.prefs = app.current_prefs();
            app.prefs_file = prefs_path.clone();
        }
        // Every event goes through the one pipeline (engine::pipeline): the
        // call history (written before the screen sees it), the alerts, and
        // the control socket's subscribers; as with --headless.
        let mut control = None;
        let engine = match backend {
            Some(backend) => {
                let hub = tongdai::control::EventHub::new();
                let (handle, events) = tongdai::engine::pipeline::start(
                    backend,
                    tongdai::engine::pipeline::PipelineOptions {
                        history: Some(store_path()),
                        alerts: Some(cfg.audio.clone()),
                        contacts: Some(store_path()),
                        hub: Some(hub.clone()),
                    },
                );
                match tongdai::control::socket_path(&cli.socket_name) {
                    Ok(path) => {
                        match tongdai::control::Server::start(&path, handle.sender(), hub.clone())
                            .await
                        {
                            Ok(server) => control = Some(server),
                            Err(e) => tracing::warn!(error = %e, "no control socket"),
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "no control socket"),
                }
                // The popup's data (contacts, past calls, CRM) and the
                // wrap-up notes / history view ride along (popup_feed.rs).
                let (tx, rx) = mpsc::unbounded_channel();
                let (effects_tx, effects_rx) = mpsc::unbounded_channel();
                let store = tongdai::store::Store::open(&store_path()).ok();
                let feed = tongdai::popup_feed::Feed::new(store, crm);
                tokio::spawn(tongdai::popup_feed::forward(
                    events,
                    effects_rx,
                    feed,
                    tx,
                    |e, _| e,
                ));
                let feeds = tongdai::app::run::Feeds {
                    msgs: rx,
                    effects: Some(effects_tx),
                };
                Some((handle, feeds))
            }
            None => None,
        };
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "console starting"
        );
        // C libraries print to stderr: into the log while the screen is ours.
        if let Err(e) = terminal::redirect_stderr(log_file) {
            tracing::warn!(error = %e, "cannot route stderr to the log");
        }
        terminal::install_panic_hook();
        let exit = tongdai::app::run::run_with(app, engine).await;
        terminal::restore_stderr();
        if let Some(server) = control {
            server.shutdown().await;
        }
        if let Some(sb) = switchboard {
            sb.shutdown().await;
        }
        anyhow::Ok(Ok(exit?))
    })?;
    let exit = match exit {
        Ok(exit) => exit,
        Err(code) => return Ok(code),
    };
    tracing::info!(?exit, "tongdai stopped");
    drop(log);
    if let Exit::Signal(sig) = exit {
        eprintln!("tongdai: {sig}: closed cleanly");
    }
    Ok(ExitCode::SUCCESS)
}

/// What the configured backend can do (the console offers only that).
fn caps_for(cfg: &Config) -> Caps {
    match cfg.backend {
        BackendKind::Sip => Caps::sip(),
        BackendKind::Vcc | BackendKind::Demo => Caps::vcc(
            cfg.vcc
                .as_ref()
                .map(|v| queue_infos(&v.queues))
                .unwrap_or_default(),
        ),
    }
}

fn queue_infos(q: &[tongdai::config::vcc::QueueConfig]) -> Vec<QueueInfo> {
    q.iter()
        .map(|q| QueueInfo {
            id: q.id.clone(),
            name: q.name.clone(),
        })
        .collect()
}

/// What the first-run screen tells the agent.
fn setup(_cfg: &Config, explicit: Option<&PathBuf>) -> Setup {
    let path = explicit
        .cloned()
        .or_else(config::default_path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.config/tongdai/config.toml".into());
    Setup { config_path: path }
}

/// The configured account's backend (`backends::build`); an account named
/// but not configured shows the first-run screen with the reason instead
/// of exiting, so help, themes and quit still work.
fn build_backend(cfg: &Config, state: &mut AppState) -> anyhow::Result<Option<Box<dyn Backend>>> {
    use tongdai::backends::{BuildError, build};
    match build(cfg) {
        Ok(b) => Ok(b),
        Err(e @ (BuildError::MissingSip | BuildError::MissingVcc)) => {
            tracing::warn!(error = %e, "no account configured");
            state.set_notice(
                tongdai::app::state::Level::Warning,
                NoticeText::MissingAccount(cfg.backend),
            );
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

async fn start_demo(
    agent: &str,
    audio: &tongdai::media::AudioConfig,
    state: &mut AppState,
    keep: &mut Option<tongdai::switchboard::Switchboard>,
) -> anyhow::Result<Box<dyn Backend>> {
    let mut opts = tongdai::switchboard::SwitchboardOptions::demo(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        0,
    )));
    // The switchboard's event log next to ours: what the platform saw
    // (un-REGISTER, device handed back) can be read after the console exits.
    opts.log_file = config::state_dir().map(|d| d.join("switchboard.jsonl"));
    let sb = tongdai::switchboard::start(opts)
        .await
        .context("cannot start the local demo switchboard")?;
    // The demo is a VCC agent; its queues are the switchboard's.
    let mut demo_cfg = sb.client_config(agent, tongdai::backends::vcc::Generation::Older);
    state.caps = Caps::vcc(queue_infos(&std::mem::take(&mut demo_cfg.queues)));
    state.banner = Some(Banner::Demo {
        addr: sb.addr().to_string(),
        agent: agent.to_string(),
    });
    let backend = sb.backend_with_audio(agent, audio.clone());
    *keep = Some(sb);
    Ok(backend)
}

/// The console's runtime, sized to its work. With no sound card
/// (`[audio] device = "null"`: calls ring on a desk phone or a mobile, or
/// carry silence) the work is a few sockets and timers: one thread does
/// it, and a team of such consoles on one box costs no idle threads.
/// With a sound card, two workers keep media off the thread that draws.
fn runtime_for(audio: &tongdai::media::AudioConfig) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut b = if audio.device == tongdai::media::DeviceKind::Null {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    };
    // The call history's SQLite writes run on the blocking pool
    // (`history::spawn_tee`); its thread goes a second after the last one,
    // so an idle console keeps none.
    b.thread_keep_alive(std::time::Duration::from_secs(1))
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// glibc gives every thread that allocates its own arena (up to 8 per
/// core), each keeping freed memory of its own; the console allocates
/// little and rarely, so two arenas are enough and hold less memory
/// idle. An explicit `MALLOC_ARENA_MAX` still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread
        // exists; mallopt only sets a malloc parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

struct Logging {
    /// The log file again, for fd 2.
    stderr: std::fs::File,
}

fn init_logging(cfg: &Config) -> anyhow::Result<Logging> {
    // The log holds customer numbers: 0600 in a 0700 folder. Our own
    // state folder is tightened when an older version left it 0755.
    let (dir, ours) = match (&cfg.log.dir, config::state_dir()) {
        (Some(d), _) => (d.clone(), false),
        (None, Some(d)) => (d, true),
        (None, None) => (PathBuf::from("."), false),
    };
    let made = if ours {
        tongdai::private_fs::own_dir(&dir)
    } else {
        tongdai::private_fs::create_dir_all(&dir)
    };
    made.with_context(|| format!("cannot create the log directory {}", dir.display()))?;
    let path = dir.join("tongdai.log");
    let file = tongdai::private_fs::open_append(&path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let stderr = file.try_clone()?;
    // Written in place, not through a background writer thread: the log
    // gets a few lines a minute, and an idle console keeps no thread for it.
    let writer = std::sync::Mutex::new(file);
    let mut filter = cfg.log.level.clone();
    if !filter.contains("rsipstack") {
        // rsipstack logs digest headers at info.
        filter.push_str(",rsipstack=warn");
    }
    for d in tongdai::backends::vcc::SECRET_SAFE_LOG_DIRECTIVES {
        filter.push(',');
        filter.push_str(d);
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .with_context(|| format!("--log-level {:?} is not a filter", cfg.log.level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
    Ok(Logging { stderr })
}

/// `tongdai demo --screen …`: a scripted engine with no network, for the
/// console benchmark and screenshots. It answers the commands a person
/// would try so the screen stays alive.
fn scripted(screen: &str, state: &mut AppState) -> anyhow::Result<Option<Box<dyn Backend>>> {
    state.banner = Some(Banner::Scripted);
    match screen {
        "first-run" => {
            state.first_run = Some(Setup {
                config_path: "~/.config/tongdai/config.toml".into(),
            });
            Ok(None)
        }
        "idle" => Ok(Some(Box::new(Scripted { in_call: false }))),
        "in-call" => Ok(Some(Box::new(Scripted { in_call: true }))),
        other => anyhow::bail!("--screen {other}: use idle, in-call or first-run"),
    }
}

struct Scripted {
    in_call: bool,
}

impl Backend for Scripted {
    fn run(
        self: Box<Self>,
        mut commands: mpsc::Receiver<Command>,
        events: EventSink,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            for e in [
                Event::Ready,
                Event::Availability(Availability::On),
                Event::VoiceChannel(true),
                Event::DeviceType(Device::Console),
                Event::Registration(RegState::Registered { expires: 600 }),
            ] {
                events.emit(e);
            }
            let call = CallId(1);
            let emit = |e: CallEvent| events.emit(Event::call(call, e));
            if self.in_call {
                emit(CallEvent::PlatformId("bench-1".into()));
                emit(CallEvent::Ringing(RingInfo {
                    phone: "0987654321".into(),
                    display_name: Some("Nguyễn Thị Hồng".into()),
                    line: Some("19001234".into()),
                    queue: Some("Phím 1: Bán hàng".into()),
                    direction: Direction::Inbound,
                    agent_leg: false,
                }));
                emit(CallEvent::Accepted);
            }
            let mut held = false;
            let mut muted = false;
            while let Some(c) = commands.recv().await {
                match c {
                    Command::Shutdown => break,
                    Command::End { .. } => {
                        emit(CallEvent::Ended(tongdai::engine::EndReason::LocalHangup))
                    }
                    Command::ToggleHold { .. } => {
                        held = !held;
                        emit(CallEvent::Held(held));
                    }
                    Command::ToggleMute { .. } => {
                        muted = !muted;
                        emit(CallEvent::Muted(muted));
                    }
                    Command::Accept { .. } => emit(CallEvent::Accepted),
                    _ => {}
                }
            }
        })
    }
}
