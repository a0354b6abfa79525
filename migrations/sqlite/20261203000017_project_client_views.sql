-- What each project shows its client company's users: hidden custom fields, and whether they
-- see assignees, SLA clocks, ticket history and statistics. No row: everything is shown.
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text.

create table project_client_views (
    project_id blob primary key references projects (id),
    tenant_id blob not null references tenants (id),
    -- JSON: hidden_fields, assignee, sla, history, statistics.
    definition text not null,
    version bigint not null,
    updated_at text not null
);
