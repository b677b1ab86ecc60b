//! The console: a pure `AppState`, one `update` for keys and engine events,
//! and a `view` that renders the state (Flux / TEA, STYLE.md §2). The loop
//! in [`run`] owns the terminal and the engine handle; nothing else here
//! does I/O.

pub mod action;
pub mod i18n;
pub mod keymap;
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
}

impl App {
    pub fn new(mut state: AppState, themes: Vec<Theme>) -> App {
        state.theme_names = themes.iter().map(|t| t.name.clone()).collect();
        state.theme_index = 0;
        App { state, themes }
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
