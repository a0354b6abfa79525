-- Text search of tickets: the subject and description lower-cased (by the application, so that
-- case folding is the same on both engines and for every script), matched by substring.

alter table tickets add column search_text text not null default '';

update tickets set search_text = lower(subject || ' ' || description);
