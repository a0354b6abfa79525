-- Service-level agreements: each project's policy (targets per priority over a business
-- calendar) kept as numbered versions, and on each ticket the version it is measured by, its
-- due times and when it was first answered and resolved.
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text.

create table sla_policies (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    project_id blob not null references projects (id),
    version bigint not null,
    -- JSON: time zone, weekly opening hours, holidays, targets per priority.
    definition text not null,
    -- JSON of the principal who put it in effect.
    created_by text not null,
    created_at text not null,
    unique (project_id, version)
);

alter table tickets add column sla_policy_version bigint;
alter table tickets add column first_response_due_at text;
alter table tickets add column resolution_due_at text;
alter table tickets add column first_responded_at text;
alter table tickets add column resolved_at text;
