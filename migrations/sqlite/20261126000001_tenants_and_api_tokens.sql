-- Tenants (client companies) and the API tokens integrations authenticate with.
-- UUIDs are stored as 16-byte blobs and timestamps as RFC 3339 UTC text.
create table tenants (
    id blob primary key,
    name text not null,
    created_at text not null
);

create table api_tokens (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    role text not null,
    label text not null default '',
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash blob not null unique,
    created_at text not null,
    expires_at text,
    revoked_at text
);

create index api_tokens_tenant_id on api_tokens (tenant_id);
