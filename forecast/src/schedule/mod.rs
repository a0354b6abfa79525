//! Shift scheduling: covering a staffing requirement with shifts at minimum cost, weekly
//! schedules from shift templates with breaks, and assignment of named operators. Every
//! optimisation is an integer program solved by HiGHS through `good_lp`.

pub mod assign;
pub mod cover;
pub mod weekly;
