//! The console: a pure `AppState`, one `update` for keys and engine events,
//! and a `view` that renders the state (Flux / TEA, STYLE.md §2). The loop
//! in [`run`] owns the terminal and the engine handle; nothing else here
//! does I/O.

pub mod action;
pub mod i18n;
pub mod keymap;
pub mod prefs;
pub mod run;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;

use ratatui::Frame;

pub use action::{Action, Msg};
pub use state::AppState;
pub use theme::Theme;

use crate::engine::Command;

/// The state plus the themes it cycles through: what tests drive and the
/// loop renders.
pub struct App {
    pub state: AppState,
    pub themes: Vec<Theme>,
    /// Where the agent's choices (language, theme, device) are kept.
    pub prefs_file: Option<std::path::PathBuf>,
    /// The choices as last saved (a change is written at once).
    pub prefs: prefs::Prefs,
    /// The device the agent chose last time, asked for again once the
    /// platform has said which device is in use.
    pub restore_device: Option<crate::engine::Device>,
    /// The device the agent asked for in this session.
    pub device_choice: Option<crate::engine::Device>,
}

impl App {
    pub fn new(mut state: AppState, themes: Vec<Theme>) -> App {
        state.theme_names = themes.iter().map(|t| t.name.clone()).collect();
        state.theme_index = 0;
        App {
            state,
            themes,
            prefs_file: None,
            prefs: prefs::Prefs::default(),
            restore_device: None,
            device_choice: None,
        }
    }

    /// The choices as they are now (the device as last chosen).
    pub fn current_prefs(&self) -> prefs::Prefs {
        let mut p = prefs::Prefs {
            language: Some(self.state.lang),
            theme: Some(self.state.theme_name().to_string()),
            ..self.prefs.clone()
        };
        if let Some(d) = &self.device_choice {
            p.set_device(d);
        }
        p
    }

    /// Write the choices if they changed since the last save.
    pub fn save_prefs(&mut self) {
        let Some(path) = self.prefs_file.clone() else {
            return;
        };
        let now = self.current_prefs();
        if now == self.prefs {
            return;
        }
        match now.save(&path) {
            Ok(()) => self.prefs = now,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "console choices not saved");
                // Not again on every key.
                self.prefs = now;
            }
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        update::update(&mut self.state, msg)
    }

    pub fn theme(&self) -> Option<&Theme> {
        self.themes.get(self.state.theme_index)
    }

    pub fn draw(&self, frame: &mut Frame) {
        match self.themes.get(self.state.theme_index) {
            Some(t) => view::render(&self.state, t, frame),
            None => {
                if let Ok(t) = Theme::builtin("dark", theme::ColorDepth::TrueColor) {
                    view::render(&self.state, &t, frame);
                }
            }
        }
    }
}
