-- Redaction of ticket history entries and comments by project managers: the values (or the
-- text) are erased, who redacted, when and why is kept, and the audit log records it.

alter table ticket_history add column redacted_at timestamptz;
alter table ticket_history add column redacted_by text;
alter table ticket_history add column redaction_reason text;
alter table ticket_comments add column redacted_at timestamptz;
alter table ticket_comments add column redacted_by text;
alter table ticket_comments add column redaction_reason text;
