//! `tongdai devices` lists cpal's devices and keeps ALSA's library noise
//! ("ALSA lib confmisc.c:855:(parse_card) cannot find card '0'", printed by
//! alsa-lib on fd 2 when the `default` PCM is opened on a machine with no
//! sound card) off the terminal.

use std::process::Command;

fn tongdai() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tongdai"));
    // No JACK: this is the ALSA host alone.
    c.env_remove("JACK_DEFAULT_SERVER");
    c
}

#[test]
fn devices_lists_alsa_and_prints_no_alsa_noise() {
    let out = tongdai().arg("devices").output().expect("run tongdai");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(
        !stderr.contains("ALSA lib"),
        "ALSA's messages reached stderr:\n{stderr}"
    );
    assert!(stderr.trim().is_empty(), "stderr: {stderr}");
    // alsa-lib always has its `null` PCM and a `default` one (which, with
    // no card, cannot open: probing it is what makes alsa-lib complain).
    assert!(stdout.contains("ALSA:"), "{stdout}");
    assert!(stdout.contains("(id \"null\")"), "{stdout}");
    assert!(stdout.contains("(id \"default\")"), "{stdout}");
    assert!(stdout.contains("[audio]"), "{stdout}");
    assert!(stdout.contains("ring = "), "{stdout}");
}

#[test]
fn devices_json_is_an_array_of_devices() {
    let out = tongdai()
        .args(["devices", "--json"])
        .output()
        .expect("run tongdai");
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ALSA lib"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let devs = v.as_array().expect("an array");
    let null = devs
        .iter()
        .find(|d| d["id"] == "null")
        .expect("ALSA's null PCM is listed");
    assert_eq!(null["host"], "ALSA");
    assert_eq!(null["output"], true);
    assert!(
        null["format"].as_str().is_some_and(|f| f.contains(" Hz")),
        "{null}"
    );
    assert!(
        devs.iter().any(|d| d["default_output"] == true),
        "a default output is marked: {v}"
    );
}
