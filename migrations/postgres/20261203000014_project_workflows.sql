-- Each project's ticket workflow (its statuses, each in a lifecycle category, and the moves
-- allowed between them) kept as numbered versions; on each ticket, the version it moves
-- along (0: the built-in workflow) and its status in that workflow.

create table project_workflows (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    project_id uuid not null references projects (id),
    version bigint not null,
    -- JSON: statuses, initial status, transitions.
    definition text not null,
    -- JSON of the principal who put it in effect.
    created_by text not null,
    created_at timestamptz not null,
    unique (project_id, version)
);

alter table tickets add column workflow_version bigint not null default 0;
alter table tickets add column workflow_status text;
-- Under the built-in workflow a ticket's workflow status is its lifecycle status.
update tickets set workflow_status = status;
