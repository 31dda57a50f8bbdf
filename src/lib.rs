//! medusa-invites: Medusa's invite lifecycle (`createInvites` and the rest) as a native addon. The domain is plain Rust;
//! `binding` is the only napi code.

pub mod context;
pub mod error;
pub mod ids;
pub mod invite;
pub mod lifecycle;
pub mod options;
pub mod query;
pub mod service;
pub mod store;
pub mod timespan;
pub mod token;
pub mod validation;
pub mod verify;
pub mod wire;

pub mod binding;
