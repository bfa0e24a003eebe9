//! The query language of `stemma find`: parsing ([`parse`]) and compiling to parameterised SQL ([`compile`]).

pub mod compile;
pub mod parse;

pub use compile::{compile, select, Condition, Selection};
pub use parse::{parse, Expr, Field};
