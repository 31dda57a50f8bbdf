//! medusa-invites: Medusa's `createInvites` as a native addon. The domain is plain Rust;
//! `binding` is the only napi code.

pub mod context;
pub mod error;
pub mod ids;
pub mod invite;
pub mod options;
pub mod service;
pub mod store;
pub mod timespan;
pub mod token;
pub mod validation;
pub mod wire;

pub mod binding;
