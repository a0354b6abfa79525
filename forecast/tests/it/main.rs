//! Integration tests of `tenet-forecast`, compiled into one binary.

mod erlang_reference;
mod schedule_cover;
