//! Each project's ticket workflow: its own statuses and the moves allowed between them.
//!
//! Every workflow status belongs to one of the six lifecycle statuses (its category: new,
//! open, pending, on hold, solved, closed) that SLA clocks, events and reports understand, so
//! a project can say "awaiting meter reading" where the lake says "pending". A project
//! without a workflow of its own follows the built-in one (version 0), whose statuses are the
//! six lifecycle statuses themselves.
//!
//! Workflows are kept as numbered versions and never edited: a ticket moves along the version
//! it was created under, so a change of the workflow does not change what existing tickets
//! mean or where they may go. A status key keeps its category from one version to the next.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenet_events::tickets::TicketStatus;
use tenet_events::{Actor, TraceContext};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::constructor::valid_key;
use crate::db::{Database, now};
use crate::project_versions::{self, Stored, Versioned};
use crate::tickets::transition_allowed;

/// The most statuses a workflow may have.
pub const MAX_STATUSES: usize = 50;
/// The most transitions a workflow may have.
pub const MAX_TRANSITIONS: usize = 500;
/// The longest status name.
pub const MAX_NAME: usize = 100;

/// A status of a project's workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowStatus {
    /// Its key, unique in the workflow: 1 to 40 lower-case letters, digits or `_`, starting
    /// with a letter. Tickets carry it as `workflow_status`.
    #[schema(min_length = 1, max_length = 40, pattern = "^[a-z][a-z0-9_]*$")]
    pub key: String,
    /// What operators see, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The lifecycle status it belongs to; a ticket in it has this `status`.
    #[schema(value_type = crate::openapi::TicketStatusSchema)]
    pub category: TicketStatus,
}

/// A move a ticket may make.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    /// The status it leaves.
    pub from: String,
    /// The status it reaches.
    pub to: String,
}

/// What a workflow says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowDefinition {
    /// Its statuses, in the order operators see them.
    #[schema(min_items = 1, max_items = 50)]
    pub statuses: Vec<WorkflowStatus>,
    /// The status new tickets start in; its category is `new`.
    pub initial: String,
    /// The moves allowed; any other is refused.
    #[schema(max_items = 500)]
    pub transitions: Vec<Transition>,
}

/// A version of a project's workflow.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Workflow {
    /// The project.
    pub project_id: Uuid,
    /// 0 for the built-in workflow, then 1, 2, 3... for the project's own versions.
    pub version: i64,
    /// What it says.
    #[serde(flatten)]
    pub definition: WorkflowDefinition,
    /// When it took effect; `null` for the built-in workflow.
    pub created_at: Option<DateTime<Utc>>,
}

/// Where a change asks a ticket to go.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A status of the ticket's workflow, by key.
    Status(&'a str),
    /// The first status of this category, in workflow order, that the ticket may move to.
    Category(TicketStatus),
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// The key names no status of the ticket's workflow.
    #[error("`{key}` is not a status of this ticket's workflow (version {version})")]
    UnknownStatus {
        /// The key asked for.
        key: String,
        /// The workflow version of the ticket.
        version: i64,
    },
    /// The workflow has no move from the ticket's status to the one asked for.
    #[error("a ticket cannot go from {from} to {to}")]
    NotAllowed {
        /// The ticket's workflow status.
        from: String,
        /// The status or category asked for.
        to: String,
    },
}

const BUILT_IN: [(TicketStatus, &str); 6] = [
    (TicketStatus::New, "New"),
    (TicketStatus::Open, "Open"),
    (TicketStatus::Pending, "Pending"),
    (TicketStatus::OnHold, "On hold"),
    (TicketStatus::Solved, "Solved"),
    (TicketStatus::Closed, "Closed"),
];

impl Workflow {
    /// The built-in workflow, version 0: the six lifecycle statuses; anything may move to
    /// anything else except back to new, a solved ticket only reopens or closes, and a closed
    /// one only reopens.
    pub fn built_in(project_id: Uuid) -> Self {
        let statuses = BUILT_IN
            .iter()
            .map(|(category, name)| WorkflowStatus {
                key: category.as_str().to_owned(),
                name: (*name).to_owned(),
                category: *category,
            })
            .collect();
        let transitions = BUILT_IN
            .iter()
            .flat_map(|(from, _)| {
                BUILT_IN
                    .iter()
                    .filter(move |(to, _)| transition_allowed(*from, *to))
                    .map(move |(to, _)| Transition {
                        from: from.as_str().to_owned(),
                        to: to.as_str().to_owned(),
                    })
            })
            .collect();
        Self {
            project_id,
            version: 0,
            definition: WorkflowDefinition {
                statuses,
                initial: TicketStatus::New.as_str().to_owned(),
                transitions,
            },
            created_at: None,
        }
    }

    /// The status `key`, if the workflow has it.
    pub fn status(&self, key: &str) -> Option<&WorkflowStatus> {
        self.definition
            .statuses
            .iter()
            .find(|status| status.key == key)
    }

    /// The status new tickets start in.
    pub fn initial(&self) -> &WorkflowStatus {
        self.status(&self.definition.initial)
            .expect("a stored workflow's initial status is one of its statuses")
    }

    /// Whether a ticket may move from `from` to `to`.
    pub fn allows(&self, from: &str, to: &str) -> bool {
        self.definition
            .transitions
            .iter()
            .any(|transition| transition.from == from && transition.to == to)
    }

    /// Where a ticket in status `from` goes when asked for `target`: `None` when it is there
    /// already.
    ///
    /// # Errors
    /// [`MoveError`] for a status the workflow lacks or a move it does not allow.
    pub fn destination(
        &self,
        from: &str,
        target: Target<'_>,
    ) -> Result<Option<&WorkflowStatus>, MoveError> {
        let current = self.status(from).map(|status| status.category);
        match target {
            Target::Status(key) => {
                let Some(status) = self.status(key) else {
                    return Err(MoveError::UnknownStatus {
                        key: key.to_owned(),
                        version: self.version,
                    });
                };
                if key == from {
                    Ok(None)
                } else if self.allows(from, key) {
                    Ok(Some(status))
                } else {
                    Err(MoveError::NotAllowed {
                        from: from.to_owned(),
                        to: key.to_owned(),
                    })
                }
            }
            Target::Category(category) if current == Some(category) => Ok(None),
            Target::Category(category) => self
                .definition
                .statuses
                .iter()
                .find(|status| status.category == category && self.allows(from, &status.key))
                .map(Some)
                .ok_or_else(|| MoveError::NotAllowed {
                    from: from.to_owned(),
                    to: category.as_str().to_owned(),
                }),
        }
    }
}

impl WorkflowDefinition {
    /// Checks the definition on its own and against `current`, the version it replaces: the
    /// field at fault and what is wrong with it.
    ///
    /// A workflow has 1 to 50 statuses with distinct keys and at least one closed status;
    /// starts in a status of category new; allows at most 500 distinct moves between two
    /// different statuses, none into a status of category new; every status can be reached
    /// from the initial one and can reach a closed one. A key that `current` has keeps its
    /// category.
    ///
    /// # Errors
    /// `(field, message)` for the first problem found.
    pub fn check(&self, current: &Workflow) -> Result<(), (String, String)> {
        if self.statuses.is_empty() || self.statuses.len() > MAX_STATUSES {
            return Err((
                "statuses".into(),
                format!("a workflow has 1 to {MAX_STATUSES} statuses"),
            ));
        }
        let mut index = BTreeMap::new();
        for (i, status) in self.statuses.iter().enumerate() {
            if !valid_key(&status.key) {
                return Err((
                    format!("statuses[{i}].key"),
                    "key must be 1 to 40 lower-case letters, digits or `_`, starting with a letter"
                        .into(),
                ));
            }
            if index.insert(status.key.as_str(), i).is_some() {
                return Err((
                    format!("statuses[{i}].key"),
                    format!("`{}` is listed twice", status.key),
                ));
            }
            let name = status.name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME || name.contains(['\n', '\r']) {
                return Err((
                    format!("statuses[{i}].name"),
                    format!("a name is one line of 1 to {MAX_NAME} characters"),
                ));
            }
            if let Some(before) = current.status(&status.key)
                && before.category != status.category
            {
                return Err((
                    format!("statuses[{i}].category"),
                    format!(
                        "`{}` is a {} status in version {}; a key keeps its category, so give \
                         a {} status a new key",
                        status.key,
                        before.category.as_str(),
                        current.version,
                        status.category.as_str()
                    ),
                ));
            }
        }
        let Some(&initial) = index.get(self.initial.as_str()) else {
            return Err((
                "initial".into(),
                format!("`{}` is not one of the statuses", self.initial),
            ));
        };
        if self.statuses[initial].category != TicketStatus::New {
            return Err((
                "initial".into(),
                "new tickets start in a status of category new".into(),
            ));
        }
        if !self
            .statuses
            .iter()
            .any(|status| status.category == TicketStatus::Closed)
        {
            return Err((
                "statuses".into(),
                "a workflow needs a status of category closed".into(),
            ));
        }
        if self.transitions.len() > MAX_TRANSITIONS {
            return Err((
                "transitions".into(),
                format!("a workflow has at most {MAX_TRANSITIONS} transitions"),
            ));
        }
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); self.statuses.len()];
        let mut seen = BTreeSet::new();
        for (i, transition) in self.transitions.iter().enumerate() {
            let end = |key: &str, side: &str| {
                index.get(key).copied().ok_or_else(|| {
                    (
                        format!("transitions[{i}].{side}"),
                        format!("`{key}` is not one of the statuses"),
                    )
                })
            };
            let (from, to) = (end(&transition.from, "from")?, end(&transition.to, "to")?);
            if from == to {
                return Err((
                    format!("transitions[{i}].to"),
                    "a status does not move to itself".into(),
                ));
            }
            if self.statuses[to].category == TicketStatus::New {
                return Err((
                    format!("transitions[{i}].to"),
                    format!(
                        "`{}` is a new status; a ticket that has been worked on does not become new again",
                        transition.to
                    ),
                ));
            }
            if !seen.insert((from, to)) {
                return Err((
                    format!("transitions[{i}]"),
                    "this move is listed twice".into(),
                ));
            }
            next[from].push(to);
        }
        let reached = reachable(&next, [initial]);
        if let Some(i) = (0..self.statuses.len()).find(|i| !reached[*i]) {
            return Err((
                format!("statuses[{i}]"),
                format!(
                    "no move leads from `{}` to `{}`",
                    self.initial, self.statuses[i].key
                ),
            ));
        }
        let mut back: Vec<Vec<usize>> = vec![Vec::new(); self.statuses.len()];
        for (from, tos) in next.iter().enumerate() {
            for &to in tos {
                back[to].push(from);
            }
        }
        let closed =
            (0..self.statuses.len()).filter(|i| self.statuses[*i].category == TicketStatus::Closed);
        let finishing = reachable(&back, closed);
        if let Some(i) = (0..self.statuses.len()).find(|i| !finishing[*i]) {
            return Err((
                format!("statuses[{i}]"),
                format!(
                    "a ticket in `{}` could never be closed: no moves lead from it to a closed status",
                    self.statuses[i].key
                ),
            ));
        }
        Ok(())
    }
}

/// Which nodes of `edges` can be reached from `start`.
fn reachable(edges: &[Vec<usize>], start: impl IntoIterator<Item = usize>) -> Vec<bool> {
    let mut reached = vec![false; edges.len()];
    let mut queue: VecDeque<usize> = start.into_iter().collect();
    for &node in &queue {
        reached[node] = true;
    }
    while let Some(node) = queue.pop_front() {
        for &next in &edges[node] {
            if !reached[next] {
                reached[next] = true;
                queue.push_back(next);
            }
        }
    }
    reached
}

impl From<Stored<WorkflowDefinition>> for Workflow {
    fn from(stored: Stored<WorkflowDefinition>) -> Self {
        Workflow {
            project_id: stored.project_id,
            version: stored.version,
            definition: stored.definition,
            created_at: Some(stored.created_at),
        }
    }
}

/// The workflow new tickets of `project` follow: its latest version, or the built-in one.
///
/// # Errors
/// Database errors.
pub async fn current(db: &Database, actor: &Actor, project: Uuid) -> Result<Workflow, sqlx::Error> {
    Ok(
        project_versions::get(db, Versioned::Workflows, actor, project, None)
            .await?
            .map_or_else(|| Workflow::built_in(project), Workflow::from),
    )
}

/// Version `version` of the workflow of `project` (0: the built-in one).
///
/// # Errors
/// Database errors.
pub async fn version(
    db: &Database,
    actor: &Actor,
    project: Uuid,
    version: i64,
) -> Result<Option<Workflow>, sqlx::Error> {
    if version == 0 {
        return Ok(Some(Workflow::built_in(project)));
    }
    Ok(
        project_versions::get(db, Versioned::Workflows, actor, project, Some(version))
            .await?
            .map(Workflow::from),
    )
}

/// What goes wrong when putting a workflow in effect.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The workflow changed since the version the caller based the change on.
    #[error(
        "the workflow was changed by someone else (now at version {current}); reload it and retry"
    )]
    VersionConflict {
        /// The version now in effect.
        current: i64,
    },
    /// The definition is invalid.
    #[error("{message}")]
    Invalid {
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Puts `definition` in effect for `project` as the version after `expected_version` (0
/// while the project follows the built-in workflow). Tickets created before keep moving
/// along the version they were created under.
///
/// # Errors
/// [`WorkflowError::VersionConflict`], [`WorkflowError::Invalid`]; database errors.
pub async fn put(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    project: Uuid,
    expected_version: i64,
    definition: WorkflowDefinition,
) -> Result<Workflow, WorkflowError> {
    let current = current(db, actor, project).await?;
    if current.version != expected_version {
        return Err(WorkflowError::VersionConflict {
            current: current.version,
        });
    }
    definition
        .check(&current)
        .map_err(|(field, message)| WorkflowError::Invalid { field, message })?;
    let stored = Stored {
        id: Uuid::now_v7(),
        project_id: project,
        version: expected_version + 1,
        definition,
        created_at: now(),
    };
    if !project_versions::insert(
        db,
        Versioned::Workflows,
        Change {
            actor,
            trace,
            at: stored.created_at,
        },
        &stored,
    )
    .await?
    {
        // Someone else put the same version first.
        return Err(WorkflowError::VersionConflict {
            current: self::current(db, actor, project).await?.version,
        });
    }
    Ok(Workflow::from(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(key: &str, category: TicketStatus) -> WorkflowStatus {
        WorkflowStatus {
            key: key.into(),
            name: key.replace('_', " "),
            category,
        }
    }

    fn moves(pairs: &[(&str, &str)]) -> Vec<Transition> {
        pairs
            .iter()
            .map(|(from, to)| Transition {
                from: (*from).into(),
                to: (*to).into(),
            })
            .collect()
    }

    /// A utility's meter workflow.
    fn meters() -> WorkflowDefinition {
        use TicketStatus::*;
        WorkflowDefinition {
            statuses: vec![
                status("received", New),
                status("in_progress", Open),
                status("awaiting_reading", Pending),
                status("technician_sent", Open),
                status("done", Solved),
                status("closed", Closed),
            ],
            initial: "received".into(),
            transitions: moves(&[
                ("received", "in_progress"),
                ("in_progress", "awaiting_reading"),
                ("awaiting_reading", "in_progress"),
                ("in_progress", "technician_sent"),
                ("technician_sent", "done"),
                ("in_progress", "done"),
                ("done", "closed"),
                ("done", "in_progress"),
                ("closed", "in_progress"),
            ]),
        }
    }

    fn fault(definition: &WorkflowDefinition) -> String {
        definition
            .check(&Workflow::built_in(Uuid::nil()))
            .unwrap_err()
            .0
    }

    #[test]
    fn the_built_in_workflow_is_the_default_transition_table() {
        let built_in = Workflow::built_in(Uuid::nil());
        assert_eq!(built_in.initial().category, TicketStatus::New);
        assert!(built_in.allows("new", "open") && built_in.allows("solved", "closed"));
        assert!(!built_in.allows("closed", "solved") && !built_in.allows("open", "new"));
        assert_eq!(built_in.definition.check(&built_in), Ok(()));
    }

    #[test]
    fn a_valid_workflow_passes_and_moves_only_along_its_transitions() {
        let built_in = Workflow::built_in(Uuid::nil());
        assert_eq!(meters().check(&built_in), Ok(()));
        let workflow = Workflow {
            version: 1,
            definition: meters(),
            ..built_in
        };
        let to = |from: &str, key: &str| {
            workflow
                .destination(from, Target::Status(key))
                .map(|s| s.map(|s| s.key.clone()))
        };
        assert_eq!(
            to("received", "in_progress"),
            Ok(Some("in_progress".into()))
        );
        assert_eq!(to("in_progress", "in_progress"), Ok(None));
        assert!(matches!(
            to("received", "done"),
            Err(MoveError::NotAllowed { .. })
        ));
        assert!(matches!(
            to("received", "open"),
            Err(MoveError::UnknownStatus { version: 1, .. })
        ));
        // A lifecycle status picks the first allowed workflow status of that category.
        let by = |from: &str, category| {
            workflow
                .destination(from, Target::Category(category))
                .map(|s| s.map(|s| s.key.clone()))
        };
        assert_eq!(
            by("in_progress", TicketStatus::Solved),
            Ok(Some("done".into()))
        );
        assert_eq!(by("technician_sent", TicketStatus::Open), Ok(None));
        assert!(matches!(
            by("received", TicketStatus::Closed),
            Err(MoveError::NotAllowed { .. })
        ));
    }

    #[test]
    fn each_flaw_names_its_field() {
        use TicketStatus::*;
        let mut twice = meters();
        twice.statuses[3].key = "in_progress".into();
        assert_eq!(fault(&twice), "statuses[3].key");
        let mut bad_key = meters();
        bad_key.statuses[0].key = "Received".into();
        assert_eq!(fault(&bad_key), "statuses[0].key");
        let mut blank = meters();
        blank.statuses[1].name = "  ".into();
        assert_eq!(fault(&blank), "statuses[1].name");
        let mut start = meters();
        start.initial = "in_progress".into();
        assert_eq!(fault(&start), "initial");
        let mut unknown = meters();
        unknown.initial = "nowhere".into();
        assert_eq!(fault(&unknown), "initial");
        let mut never_closed = meters();
        never_closed.statuses[5].category = Solved;
        never_closed.statuses[5].key = "archived".into();
        assert_eq!(fault(&never_closed), "statuses");
        let mut dangling = meters();
        dangling.transitions.push(Transition {
            from: "done".into(),
            to: "limbo".into(),
        });
        assert_eq!(fault(&dangling), "transitions[9].to");
        let mut to_self = meters();
        to_self.transitions[0].to = "received".into();
        assert_eq!(fault(&to_self), "transitions[0].to");
        let mut back_to_new = meters();
        back_to_new.transitions.push(Transition {
            from: "in_progress".into(),
            to: "received".into(),
        });
        assert_eq!(fault(&back_to_new), "transitions[9].to");
        let mut repeated = meters();
        repeated.transitions.push(repeated.transitions[2].clone());
        assert_eq!(fault(&repeated), "transitions[9]");
        let mut unreachable = meters();
        unreachable
            .transitions
            .retain(|t| t.to != "technician_sent");
        assert_eq!(fault(&unreachable), "statuses[3]");
        let mut dead_end = meters();
        dead_end.transitions.retain(|t| t.from != "technician_sent");
        assert_eq!(fault(&dead_end), "statuses[3]");
        let empty = WorkflowDefinition {
            statuses: vec![],
            initial: "received".into(),
            transitions: vec![],
        };
        assert_eq!(fault(&empty), "statuses");
    }

    #[test]
    fn a_key_keeps_its_category_across_versions() {
        // `open` is an open status of the built-in workflow; it cannot become a pending one.
        let mut renamed = meters();
        renamed.statuses[2].key = "open".into();
        for transition in &mut renamed.transitions {
            for end in [&mut transition.from, &mut transition.to] {
                if end == "awaiting_reading" {
                    *end = "open".into();
                }
            }
        }
        assert_eq!(fault(&renamed), "statuses[2].category");
        let version_one = Workflow {
            version: 1,
            definition: meters(),
            ..Workflow::built_in(Uuid::nil())
        };
        let mut next = meters();
        next.statuses[1].name = "Being handled".into();
        assert_eq!(next.check(&version_one), Ok(()));
        next.statuses[3].category = TicketStatus::OnHold;
        assert_eq!(
            next.check(&version_one).unwrap_err().0,
            "statuses[3].category"
        );
    }
}
