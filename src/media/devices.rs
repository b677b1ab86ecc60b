//! `tongdai devices`: the sound devices cpal sees, by host, with the
//! defaults marked and the names to put in `[audio] input/output/ring`.

use std::io::Write;

use super::cpal_device::{DeviceInfo, list_devices};

/// Print the device list (text, or one JSON array with `json`).
pub fn devices_command(json: bool, out: &mut impl Write) -> std::io::Result<()> {
    let devs = list_devices();
    let written = if json {
        serde_json::to_string_pretty(&devs)
            .map_err(std::io::Error::other)
            .and_then(|v| writeln!(out, "{v}"))
    } else {
        write_text(&devs, out)
    };
    match written {
        // `tongdai devices | head`: the reader has all it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

fn write_text(devs: &[DeviceInfo], out: &mut impl Write) -> std::io::Result<()> {
    if devs.is_empty() {
        writeln!(out, "no sound devices found")?;
        writeln!(
            out,
            "(no sound card; for JACK set JACK_DEFAULT_SERVER and start jackd)"
        )?;
        return Ok(());
    }
    let mut host = "";
    for d in devs {
        if d.host != host {
            host = &d.host;
            writeln!(out, "{host}:")?;
        }
        let dir = match (d.input, d.output) {
            (true, true) => "in/out",
            (true, false) => "in    ",
            (false, true) => "   out",
            (false, false) => "      ",
        };
        let mut marks = Vec::new();
        if d.default_input {
            marks.push("default input");
        }
        if d.default_output {
            marks.push("default output");
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!("  [{}]", marks.join(", "))
        };
        let id = if d.host != "ALSA" || d.id.is_empty() || d.id == d.name {
            String::new()
        } else {
            format!("  (id {:?})", d.id)
        };
        writeln!(out, "  {dir}  {:?}{id}{marks}", d.name)?;
        writeln!(out, "          {}", d.format)?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Use a name (or id) in the config, with device = \"cpal\":"
    )?;
    writeln!(out, "  [audio]")?;
    writeln!(out, "  device = \"cpal\"")?;
    // The default if it opens, else the first that opens, else the default.
    let opens = |d: &&DeviceInfo| !d.format.starts_with("cannot open");
    let pick = |f: fn(&DeviceInfo) -> bool, g: fn(&DeviceInfo) -> bool| {
        devs.iter()
            .filter(opens)
            .find(|d| f(d) && g(d))
            .or_else(|| devs.iter().filter(opens).find(|d| f(d)))
            .or_else(|| devs.iter().find(|d| f(d) && g(d)))
            .map(config_key)
    };
    if let Some(i) = pick(|d| d.input, |d| d.default_input) {
        writeln!(out, "  input = {i:?}")?;
    }
    if let Some(o) = pick(|d| d.output, |d| d.default_output) {
        writeln!(out, "  output = {o:?}")?;
        writeln!(
            out,
            "  ring = {o:?}      # incoming calls ring here (default: output)"
        )?;
    }
    if devs.iter().any(|d| d.host == "JACK") {
        writeln!(
            out,
            "(JACK: each device is its own JACK client; patch its ports where you like)"
        )?;
    }
    Ok(())
}

/// What to write in the config for `d`: ALSA's PCM id is stable across
/// description changes; a JACK device's id carries our process id, so its
/// name ("JACK Output") is the key there.
fn config_key(d: &DeviceInfo) -> String {
    if d.host == "ALSA" && !d.id.is_empty() {
        d.id.clone()
    } else {
        d.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(host: &str, name: &str, id: &str, i: bool, o: bool, di: bool, d_o: bool) -> DeviceInfo {
        DeviceInfo {
            host: host.into(),
            name: name.into(),
            id: id.into(),
            input: i,
            output: o,
            default_input: di,
            default_output: d_o,
            format: "48000 Hz, 2 ch, f32".into(),
        }
    }

    #[test]
    fn text_marks_defaults_and_suggests_config() {
        let devs = vec![
            dev("ALSA", "Null", "null", true, true, false, false),
            dev(
                "ALSA",
                "Default ALSA Output",
                "default",
                true,
                true,
                true,
                true,
            ),
            dev(
                "JACK",
                "JACK Input",
                "cpal_client_1_in",
                true,
                false,
                true,
                false,
            ),
        ];
        let mut out = Vec::new();
        write_text(&devs, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("ALSA:\n"), "{s}");
        assert!(s.contains("JACK:\n"), "{s}");
        assert!(
            s.contains(
                "\"Default ALSA Output\"  (id \"default\")  [default input, default output]"
            ),
            "{s}"
        );
        assert!(s.contains("  input = \"default\"\n"), "{s}");
        assert!(s.contains("  output = \"default\"\n"), "{s}");
        assert!(s.contains("  ring = \"default\""), "{s}");
        let mut out = Vec::new();
        write_text(&[], &mut out).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .starts_with("no sound devices")
        );
    }
}
