//! Queueing maths for staffing: Erlang B, C and A.
//!
//! [`Queue::metrics`] answers "what do N agents give?", [`Queue::staff`] answers "how many
//! agents meet these targets?". Inputs are the parsed newtypes of [`params`]; the formulas
//! and their definitions are documented in [`queue`].

mod gamma;
pub mod params;
pub mod queue;
pub mod staffing;

pub use params::{
    HandleTime, MaxOccupancy, ParamError, Patience, Probability, ServiceLevelTarget, Shrinkage,
    Traffic, WaitLimit, ceil_with_tolerance,
};
pub use queue::{
    ErlangBRecursion, ErlangError, Model, Queue, QueueMetrics, ServiceLevelBasis, erlang_b,
};
pub use staffing::{BindingTarget, Staffing, Targets};
