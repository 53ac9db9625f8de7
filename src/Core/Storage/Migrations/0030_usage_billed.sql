-- Billed totals (issue 17): tokens and cost summed over every attempt that consumed provider
-- tokens (failed attempts before a fail-over, cancelled streams, quantum losers, the answer).
-- input_tokens/output_tokens/cost_usd keep their meaning: the answer's usage. Rows written before
-- this migration are billed what they recorded, the best figure there is for them.
-- Numbered 0030 (not 0003) so parallel branches' migrations never share a version; the runner
-- applies every missing version, in order.
ALTER TABLE usage_events
    ADD COLUMN IF NOT EXISTS billed_input_tokens  bigint,
    ADD COLUMN IF NOT EXISTS billed_output_tokens bigint,
    ADD COLUMN IF NOT EXISTS billed_cost_usd      double precision;
UPDATE usage_events SET billed_input_tokens = input_tokens, billed_output_tokens = output_tokens, billed_cost_usd = cost_usd
WHERE billed_input_tokens IS NULL;
ALTER TABLE usage_events
    ALTER COLUMN billed_input_tokens SET DEFAULT 0, ALTER COLUMN billed_input_tokens SET NOT NULL,
    ALTER COLUMN billed_output_tokens SET DEFAULT 0, ALTER COLUMN billed_output_tokens SET NOT NULL,
    ALTER COLUMN billed_cost_usd SET DEFAULT 0, ALTER COLUMN billed_cost_usd SET NOT NULL;
