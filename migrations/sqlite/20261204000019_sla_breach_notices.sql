-- When the SLA sweep noticed that a ticket's first-response or resolution clock ran past its
-- due time, so that each breach is announced once. The partial indexes hold just the tickets
-- whose clock still runs unnoticed: what the sweep looks through.
-- Timestamps are RFC 3339 UTC text as sqlx writes them, which sort in time order.

alter table tickets add column first_response_breach_noticed_at text;
alter table tickets add column resolution_breach_noticed_at text;

create index tickets_first_response_running on tickets (first_response_due_at)
    where first_responded_at is null and resolved_at is null
      and first_response_breach_noticed_at is null;
create index tickets_resolution_running on tickets (resolution_due_at)
    where resolved_at is null and resolution_breach_noticed_at is null;
