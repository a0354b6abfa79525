-- Files attached to tickets. The bytes live in the object store under
-- tenants/{tenant_id}/tickets/{ticket_id}/{id}; this table says what they are.
-- UUIDs are 16-byte blobs, timestamps RFC 3339 UTC text.

create table ticket_attachments (
    id blob primary key,
    tenant_id blob not null references tenants (id),
    ticket_id blob not null references tickets (id),
    filename text not null,
    content_type text not null,
    size_bytes bigint not null,
    -- Hex SHA-256 of the bytes.
    sha256 text not null,
    -- Whether the customer sees it.
    public boolean not null,
    -- JSON of the principal who attached it.
    uploaded_by text not null,
    created_at text not null
);

create index ticket_attachments_by_ticket on ticket_attachments (tenant_id, ticket_id, id);
