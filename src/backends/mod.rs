//! Backends behind the engine contract.
