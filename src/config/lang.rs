//! The agent's language (`[ui] language`): a plain setting, kept below
//! every feature so `config/` need not import `call/` (tests/layers.rs).

/// The agent's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Vi,
}
