//! The console: state, update, view.
