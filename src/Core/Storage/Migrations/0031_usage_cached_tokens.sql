-- Prompt-cache token counts of the answer (issue 19): of input_tokens, those read from the
-- provider's prompt cache and those written to it, as the provider reported them. cost_usd already
-- prices them (catalog cached and cache-write prices); these columns say why it is what it is.
-- Rows written before this migration read 0.
ALTER TABLE usage_events
    ADD COLUMN IF NOT EXISTS cached_input_tokens      bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS cache_write_input_tokens bigint NOT NULL DEFAULT 0;
