-- Service-level agreements: each project's policy (targets per priority over a business
-- calendar) kept as numbered versions, and on each ticket the version it is measured by, its
-- due times and when it was first answered and resolved.

create table sla_policies (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    project_id uuid not null references projects (id),
    version bigint not null,
    -- JSON: time zone, weekly opening hours, holidays, targets per priority.
    definition text not null,
    -- JSON of the principal who put it in effect.
    created_by text not null,
    created_at timestamptz not null,
    unique (project_id, version)
);

alter table tickets add column sla_policy_version bigint;
alter table tickets add column first_response_due_at timestamptz;
alter table tickets add column resolution_due_at timestamptz;
alter table tickets add column first_responded_at timestamptz;
alter table tickets add column resolved_at timestamptz;
