//! One bad config file per failure mode (bottom's `tests/invalid_configs/`
//! style), each asserting the exact message the agent sees: the file, the
//! line and column, the field, and what was expected.

use std::path::{Path, PathBuf};

use tongdai::app::theme::{ColorDepth, Theme};
use tongdai::config;

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config/bad")
        .join(name)
}

/// The message `tongdai --config tests/config/bad/<name>` prints.
fn message(name: &str) -> String {
    let path = bad(name);
    let err = if name.starts_with("theme_") {
        Theme::load(&path.to_string_lossy(), ColorDepth::TrueColor, None).unwrap_err()
    } else {
        config::load_with_env(Some(&path), None, &[]).unwrap_err()
    };
    // Paths relative to the repository, so the test runs anywhere.
    err.to_string()
        .replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "")
}

const CASES: &[(&str, &str)] = &[
    (
        "ui_unknown_theme.toml",
        "tests/config/bad/ui_unknown_theme.toml:2:9: field `ui.theme`: unknown theme `darkk`; did you mean `dark`? Built-in themes: dark, light, high-contrast; or give the path of a .toml file",
    ),
    (
        "log_level_not_a_level.toml",
        "tests/config/bad/log_level_not_a_level.toml:2:9: field `log.level`: `verbose` is not a level (expected one of `trace`, `debug`, `info`, `warn`, `error`, `off`, or target=level such as \"tongdai=debug\")",
    ),
    (
        "demo_unknown_agent.toml",
        "tests/config/bad/demo_unknown_agent.toml:2:9: field `demo.agent`: the demo switchboard has no agent `9999` (expected one of `1001`, `1002`, `1003`, `1004`, `1005`)",
    ),
    (
        "several_errors.toml",
        "tests/config/bad/several_errors.toml:5:9: field `ui.theme`: unknown theme `nope`. Built-in themes: dark, light, high-contrast; or give the path of a .toml file\n\
         tests/config/bad/several_errors.toml:6:16: field `ui.confirm_quit`: invalid type: string \"yes\", expected a boolean\n\
         tests/config/bad/several_errors.toml:9:9: field `log.level`: `verbose` is not a level (expected one of `trace`, `debug`, `info`, `warn`, `error`, `off`, or target=level such as \"tongdai=debug\")\n\
         tests/config/bad/several_errors.toml:12:9: field `demo.agent`: the demo switchboard has no agent `9999` (expected one of `1001`, `1002`, `1003`, `1004`, `1005`)",
    ),
    (
        "syntax_unterminated_string.toml",
        "tests/config/bad/syntax_unterminated_string.toml:2:15: field `backend`: invalid basic string, expected `\"`",
    ),
    (
        "unknown_top_level_key.toml",
        "tests/config/bad/unknown_top_level_key.toml:1:1: unknown key `backnd` at the top level; did you mean `backend`? (expected one of `backend`, `sip`, `vcc`, `audio`, `ui`, `log`, `demo`, `crm`)",
    ),
    (
        "unknown_section.toml",
        "tests/config/bad/unknown_section.toml:1:2: unknown key `uii` at the top level; did you mean `ui`? (expected one of `backend`, `sip`, `vcc`, `audio`, `ui`, `log`, `demo`, `crm`)",
    ),
    (
        "sip_unknown_key.toml",
        "tests/config/bad/sip_unknown_key.toml:5:1: unknown key `sever` in [sip]; did you mean `server`? (expected one of `user`, `server`, `transport`, `ws_url`, `domain`, `auth_user`, `password_file`, `display_name`, `expires`, `register`, `keepalive_s`, `bind`, `insecure_tls`, `ca_file`, `tls_cert_file`, `tls_key_file`, `second_call`, `ring_timeout_s`, `inbound_ring_timeout_s`, `stun_servers`, `turn_servers`, `turn_user`, `turn_password_file`, `ice_policy`, `media`, `codecs`)",
    ),
    (
        "sip_wrong_type.toml",
        "tests/config/bad/sip_wrong_type.toml:4:11: field `sip.expires`: invalid type: string \"soon\", expected u32",
    ),
    (
        "sip_bad_transport.toml",
        "tests/config/bad/sip_bad_transport.toml:4:13: field `sip.transport`: unknown value `udpp`; did you mean `udp`? (expected one of `udp`, `tcp`, `tls`, `ws`, `wss`)",
    ),
    (
        "sip_missing_server.toml",
        "tests/config/bad/sip_missing_server.toml:3:1: missing field `server` in [sip]",
    ),
    (
        "sip_empty_server.toml",
        "tests/config/bad/sip_empty_server.toml:3:10: sip.server is empty: write the PBX as host or host:port",
    ),
    (
        "sip_bad_bind.toml",
        "tests/config/bad/sip_bad_bind.toml:5:8: field `sip.bind`: \"my-laptop\" is not a local IP address: write one such as \"0.0.0.0\", \"192.168.1.20\" or \"192.168.1.20:5062\" (host names are not looked up)",
    ),
    (
        "sip_bind_port_too_big.toml",
        "tests/config/bad/sip_bind_port_too_big.toml:5:8: field `sip.bind`: port 99999 in \"127.0.0.1:99999\" is out of range: a port is 0 to 65535",
    ),
    (
        "sip_server_port_too_big.toml",
        "tests/config/bad/sip_server_port_too_big.toml:4:10: field `sip.server`: port 70000 in \"pbx.example.com:70000\" is out of range: a port is 1 to 65535",
    ),
    (
        "sip_bad_codec.toml",
        "tests/config/bad/sip_bad_codec.toml:4:19: field `sip.codecs`: unknown value `g729`; did you mean `g722`? (expected one of `opus`, `g722`, `pcmu`, `pcma`)",
    ),
    (
        "sip_codecs_empty.toml",
        "tests/config/bad/sip_codecs_empty.toml:4:10: field `sip.codecs`: the codec list is empty: name at least one of opus, g722, pcmu, pcma",
    ),
    (
        "sip_codec_twice.toml",
        "tests/config/bad/sip_codec_twice.toml:4:10: field `sip.codecs`: codec `pcmu` is listed twice",
    ),
    (
        "ui_bad_language.toml",
        "tests/config/bad/ui_bad_language.toml:2:12: field `ui.language`: unknown value `fr` (expected one of `en`, `vi`)",
    ),
    (
        "ui_bad_colors.toml",
        "tests/config/bad/ui_bad_colors.toml:2:10: field `ui.colors`: unknown value `24bit` (expected one of `auto`, `truecolor`, `256`, `16`, `none`)",
    ),
    (
        "ui_wrong_type.toml",
        "tests/config/bad/ui_wrong_type.toml:2:16: field `ui.confirm_quit`: invalid type: string \"yes\", expected a boolean",
    ),
    (
        "keys_bad_key_name.toml",
        "tests/config/bad/keys_bad_key_name.toml:3:10: field `ui.keys[0].on`: `<F13>` is not a key: write one character (\"a\", \"?\"), or <Enter>, <Esc>, <Tab>, <Space>, <Backspace>, <Up>, <F1>…<F12>, <C-x> (Ctrl), <A-x> (Alt), <S-F2> (Shift)",
    ),
    (
        "keys_unknown_action.toml",
        "tests/config/bad/keys_unknown_action.toml:3:21: field `ui.keys[0].run`: unknown value `anwser`; did you mean `answer`? (expected one of `answer`, `reject`, `end`, `hold`, `mute`, `dial`, `dial_edit`, `clear`, `availability`, `claim_voice`, `device`, `transfer`, `swap`, `consult`, `complete_transfer`, `cancel_consult`, `merge`, `end_conference`, `accept_transfer`, `refuse_transfer`, `connect`, `history`, `help`, `theme`, `language`, `quit`, `none`)",
    ),
    (
        "keys_unknown_condition.toml",
        "tests/config/bad/keys_unknown_condition.toml:3:38: field `ui.keys[0].when`: unknown value `ringin`; did you mean `ringing`? (expected one of `idle`, `ringing`, `dialing`, `in_call`, `call`, `offer`)",
    ),
    (
        "keys_unknown_field.toml",
        "tests/config/bad/keys_unknown_field.toml:3:31: unknown key `wen` in ui.keys[0]; did you mean `when`? (expected one of `on`, `run`, `when`, `desc`)",
    ),
    (
        "keys_conflict.toml",
        "tests/config/bad/keys_conflict.toml:2:8: ui.keys: `z` is bound twice when in_call: to `hold` and to `mute`; remove one, or give them different `when`",
    ),
    (
        "log_bad_filter.toml",
        "tests/config/bad/log_bad_filter.toml:2:9: log.level = \"tongdai=loud\" is not a filter (error parsing level filter: expected one of \"off\", \"error\", \"warn\", \"info\", \"debug\", \"trace\", or a number 0-5); write e.g. \"info\" or \"tongdai=debug\"",
    ),
    (
        "vcc_bad_push_scheme.toml",
        "tests/config/bad/vcc_bad_push_scheme.toml:6:15: vcc.push_scheme = \"http\": use \"wss\" or \"ws\"",
    ),
    (
        "vcc_missing_ipphone.toml",
        "tests/config/bad/vcc_missing_ipphone.toml:1:1: missing field `ipphone` in [vcc]",
    ),
    (
        "duplicate_key.toml",
        "tests/config/bad/duplicate_key.toml:2:1: field `backend`: duplicate key",
    ),
    (
        "bad_backend.toml",
        "tests/config/bad/bad_backend.toml:1:11: field `backend`: unknown value `sipp`; did you mean `sip`? (expected one of `demo`, `sip`, `vcc`)",
    ),
    (
        "audio_unknown_key.toml",
        "tests/config/bad/audio_unknown_key.toml:3:1: unknown key `rings` in [audio]; did you mean `ring`? (expected one of `device`, `mic_wav`, `record_dir`, `input`, `output`, `ring`)",
    ),
    (
        "audio_bad_device.toml",
        "tests/config/bad/audio_bad_device.toml:2:10: field `audio.device`: unknown value `alsa` (expected one of `null`, `file`, `cpal`)",
    ),
    (
        "crm_unknown_key.toml",
        "tests/config/bad/crm_unknown_key.toml:4:1: unknown key `tokn_file` in [crm]; did you mean `token_file`? (expected one of `url`, `headers`, `token_env`, `token_file`, `timeout_ms`, `number_format`, `mapping`)",
    ),
    (
        "crm_bad_url.toml",
        "tests/config/bad/crm_bad_url.toml: crm: url \"crm.example/c?phone={number}\" must start with http:// or https://",
    ),
    (
        "theme_bad_colour.toml",
        "tests/config/bad/theme_bad_colour.toml:3:18: field `roles.ringing.fg`: `orangeish` is not a colour: write \"#rrggbb\", a number 0–255, \"reset\", or one of black, red, green, yellow, blue, magenta, cyan, gray, dark_gray, light_red, light_green, light_yellow, light_blue, light_magenta, light_cyan, white",
    ),
    (
        "theme_unknown_role.toml",
        "tests/config/bad/theme_unknown_role.toml:3:1: unknown key `ringin` in [roles]; did you mean `ringing`? (expected one of `base`, `dim`, `title`, `header`, `border`, `popup_border`, `label`, `hint_key`, `hint`, `idle`, `ringing`, `dialing`, `in_call`, `held`, `muted`, `ended`, `ok`, `warning`, `error`, `input`, `input_invalid`, `selected`)",
    ),
];

#[test]
fn every_bad_file_says_what_is_wrong() {
    let mut failures = Vec::new();
    for (file, want) in CASES {
        let got = message(file);
        if std::env::var_os("DUMP").is_some() {
            println!("    ({file:?}, {got:?}),");
        }
        if got != *want {
            failures.push(format!("{file}:\n  got:  {got}\n  want: {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_corpus_has_a_test_for_every_file() {
    let mut files: Vec<String> = std::fs::read_dir(bad(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

#[test]
fn a_missing_config_named_on_the_command_line_is_an_error() {
    let err = config::load_with_env(Some(Path::new("tests/config/no-such-file.toml")), None, &[])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tests/config/no-such-file.toml: cannot read the file: No such file or directory (os error 2)"
    );
    // The default path may be missing: defaults.
    let cfg = config::load_with_env(None, Some(Path::new("tests/config/no-such-file.toml")), &[])
        .unwrap();
    assert_eq!(cfg.backend, config::BackendKind::Demo);
}

#[test]
fn environment_overrides_are_checked_like_the_file() {
    let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let err = config::load_with_env(None, None, &env("TONGDAI_SIP_SERVR", "pbx")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable TONGDAI_SIP_SERVR: unknown key `servr` in [sip]; did you mean TONGDAI_SIP_SERVER?"
    );
    let err = config::load_with_env(None, None, &env("TONGDAI_UI_LANGUAGE", "fr")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable TONGDAI_UI_LANGUAGE: field `ui.language`: unknown value `fr` (expected one of `en`, `vi`)"
    );
    let err = config::load_with_env(None, None, &env("TONGDAI_SIP_EXPIRES", "soon")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("environment variable TONGDAI_SIP_EXPIRES: "),
        "{err}"
    );
}

/// `tongdai config` (the config check) names the secret file others can
/// read, where it is set (file:line:column) and the fix; `tongdai run`
/// refuses to start the same way, before any secret is read.
#[test]
fn a_password_file_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("tongdai-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("sip-password");
    std::fs::write(&secret, "hunter2\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg_path = dir.join("config.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "backend = \"sip\"\n[sip]\nuser = \"1001\"\nserver = \"pbx\"\npassword_file = {:?}\n",
            secret
        ),
    )
    .unwrap();
    let want = format!(
        "{}:5:17: field `sip.password_file`: {} can be read by other users (mode 644); run `chmod 600 {}`",
        cfg_path.display(),
        secret.display(),
        secret.display()
    );
    let err = config::load_with_env(Some(&cfg_path), None, &[]).unwrap_err();
    assert_eq!(err.to_string(), want);
    for args in [&["config"][..], &["run"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tongdai"))
            .arg("--config")
            .arg(&cfg_path)
            .args(args)
            .env_remove("TONGDAI_SIP_PASSWORD")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr, format!("tongdai: {want}\n"), "{args:?}");
        assert!(!stderr.contains("hunter2"));
    }
    // Set by the environment: the variable is named instead of a line.
    let env = vec![(
        "TONGDAI_SIP_PASSWORD_FILE".to_string(),
        secret.display().to_string(),
    )];
    let plain = dir.join("plain.toml");
    std::fs::write(
        &plain,
        "backend = \"sip\"\n[sip]\nuser = \"1001\"\nserver = \"pbx\"\n",
    )
    .unwrap();
    let err = config::load_with_env(Some(&plain), None, &env).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "environment variable TONGDAI_SIP_PASSWORD_FILE: field `sip.password_file`: "
        ),
        "{err}"
    );
    // chmod 600: accepted.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = config::load_with_env(Some(&cfg_path), None, &[]).unwrap();
    assert_eq!(cfg.sip.unwrap().password().unwrap().expose(), "hunter2");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bad `bind` or server port set through the environment is caught too.
#[test]
fn addresses_from_the_environment_are_checked() {
    let env = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let err = config::load_with_env(None, None, &env("TONGDAI_SIP_BIND", "10.0.0.300"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("environment variable TONGDAI_SIP_BIND: ")
            && err.contains("\"10.0.0.300\" is not a local IP address"),
        "{err}"
    );
    for (server, ok) in [
        ("pbx.example.com", true),
        ("pbx.example.com:5060", true),
        ("[2001:db8::1]:5061", true),
        ("2001:db8::1", true),
        ("pbx:65536", false),
        ("pbx:0", false),
        ("pbx:sip", false),
    ] {
        assert_eq!(
            tongdai::sip::config::check_server(server).is_ok(),
            ok,
            "{server}"
        );
    }
    for (bind, ok) in [
        ("0.0.0.0", true),
        ("127.0.0.1:5062", true),
        ("::1", true),
        ("[::1]:5062", true),
        ("localhost", false),
        ("127.0.0.1:65536", false),
    ] {
        assert_eq!(tongdai::sip::config::check_bind(bind).is_ok(), ok, "{bind}");
    }
}

#[test]
fn print_default_prints_a_config_that_parses() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tongdai"))
        .args(["config", "--print-default"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("# tongdai configuration."));
    let cfg = config::parse(Path::new("printed.toml"), &text, &[]).unwrap();
    assert_eq!(cfg.backend, config::BackendKind::Demo);
    // And a broken file makes the binary exit 2 with the message.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tongdai"))
        .args(["--config", "tests/config/bad/sip_bad_transport.toml", "run"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "tongdai: tests/config/bad/sip_bad_transport.toml:4:13: field `sip.transport`: unknown value `udpp`; did you mean `udp`? (expected one of `udp`, `tcp`, `tls`, `ws`, `wss`)\n"
    );
}

/// `tongdai config` checks what the console would refuse at start (theme,
/// log level, demo agent) and reports every error of the file in one run.
#[test]
fn config_check_reports_every_error_the_console_would_meet() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tongdai"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("TONGDAI_CONFIG")
            .output()
            .unwrap()
    };
    let out = run(&["--config", "tests/config/bad/several_errors.toml", "config"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    for (line, want) in lines.iter().zip([":5:9:", ":6:16:", ":9:9:", ":12:9:"]) {
        assert!(line.contains(want), "{want} in {line}");
    }
    // The console itself refuses the same file with the same words.
    let start = run(&["--config", "tests/config/bad/ui_unknown_theme.toml", "run"]);
    assert_eq!(start.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&start.stderr).contains("ui_unknown_theme.toml:2:9:"),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
}

/// The TLS listener's private key (`[sip] tls_key_file`) is a secret like
/// the password: readable by others, the config check refuses it with
/// file:line:column and the fix.
#[test]
fn a_tls_key_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("tongdai-cfg-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("server.key");
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let cfg_path = dir.join("config.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "backend = \"sip\"\n[sip]\nuser = \"1001\"\nserver = \"pbx\"\ntransport = \"tls\"\n\
             register = false\ntls_cert_file = \"/etc/ssl/certs/ssl-cert-snakeoil.pem\"\n\
             tls_key_file = {:?}\n",
            key
        ),
    )
    .unwrap();
    let err = config::load_with_env(Some(&cfg_path), None, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:8:16: field `sip.tls_key_file`: {} can be read by other users (mode 640); run `chmod 600 {}`",
            cfg_path.display(),
            key.display(),
            key.display()
        )
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(config::load_with_env(Some(&cfg_path), None, &[]).is_ok());
}
