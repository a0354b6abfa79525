-- What each project shows its client company's users: hidden custom fields, and whether they
-- see assignees, SLA clocks, ticket history and statistics. No row: everything is shown.

create table project_client_views (
    project_id uuid primary key references projects (id),
    tenant_id uuid not null references tenants (id),
    -- JSON: hidden_fields, assignee, sla, history, statistics.
    definition text not null,
    version bigint not null,
    updated_at timestamptz not null
);
